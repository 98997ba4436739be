"""Stream entries as the relay needs them: decoded, upcast, and stripped of private events."""

import logging
from dataclasses import dataclass
from typing import Any

import msgspec

from api.relay_positions import StreamId
from api.relay_topics import topics_of
from events.codec import decode_event, event_data, record_decoder, result_decoder
from events.envelope import Result
from events.events import EVENT_TYPES
from events.upcasting import MissingUpcaster

log = logging.getLogger("sluice.relay")

Fields = dict[bytes, bytes]


@dataclass(frozen=True, slots=True)
class OutEvent:
    """A public event from partition `partition`'s log, ready to be framed for its topics."""

    partition: int
    entry_id: StreamId
    name: str
    data: dict[str, Any]
    topics: tuple[str, ...]


def is_public(event_name: str) -> bool:
    """Private events are never shown; an event this process does not know might be private,
    so it is withheld too (fail closed) until the relay is upgraded."""
    cls = EVENT_TYPES.get(event_name)
    return cls is not None and not cls.private


def decode_event_entry(partition: int, entry_id: StreamId, fields: Fields) -> OutEvent | None:
    """The entry's public event, or None if it is private, unknown or unreadable."""
    raw = fields.get(b"e")
    if raw is None:
        log.warning("event entry %s in partition %d has no 'e' field", entry_id, partition)
        return None
    try:
        record = record_decoder.decode(raw)
        if not is_public(record.event):
            return None
        # Decoding through the current class upcasts old versions and drops unknown fields.
        data = event_data(decode_event(record))
    except (msgspec.DecodeError, MissingUpcaster) as error:
        log.warning("unreadable event entry %s in partition %d: %s", entry_id, partition, error)
        return None
    return OutEvent(partition, entry_id, record.event, data, topics_of(record.aggregate_id, data))


def decode_result_entry(fields: Fields) -> Result | None:
    raw = fields.get(b"r")
    if raw is None:
        log.warning("result entry without an 'r' field")
        return None
    try:
        return result_decoder.decode(raw)
    except msgspec.DecodeError as error:
        log.warning("unreadable result entry: %s", error)
        return None


def revoked_token_hash(fields: Fields) -> str | None:
    raw = fields.get(b"t")
    return raw.decode() if raw else None

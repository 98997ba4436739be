"""Following the partition logs as they grow: what `sluice events tail` prints.

Every partition's event log is read with one XREAD BLOCK (no consumer group: nothing is
acknowledged, no position is stored, any number of tails may run). Each entry is decoded and
upcast to its event's current version; a private event's data is never shown, and secret-named
fields of any other are hidden. An entry that cannot be read is given as such, not skipped.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, replace
from typing import Any

import msgspec
from redis.asyncio import Redis

from events.codec import decode_event, event_data, record_decoder
from events.events import EVENT_TYPES
from infra import keys
from infra.errors import translated
from infra.redaction import REDACTED, redact, redact_text
from infra.streams import flatten_read

NOW = "now"
_ENTRY_ID = re.compile(r"\d+(-\d+)?")
READ_COUNT = 500


class BadStart(ValueError):
    """`--from` is neither `now` nor a stream entry id."""


def parse_start(text: str) -> str:
    """`now`, or an entry id (`0` is the start of every log; `<ms>` or `<ms>-<seq>`)."""
    if text == NOW or _ENTRY_ID.fullmatch(text):
        return text
    raise BadStart(f"{text!r} is not `now` or an entry id such as 0 or 1700000000000-0")


@dataclass(frozen=True)
class TailFilter:
    """Which events to show: all of them by default."""

    types: frozenset[str] = frozenset()
    aggregate_id: str | None = None

    def partitions(self, count: int) -> list[int]:
        """An aggregate lives in one partition: only that log is read."""
        if self.aggregate_id is None:
            return list(range(count))
        return [keys.partition_of_aggregate(self.aggregate_id, count)]

    def wants(self, event: str, aggregate_id: str) -> bool:
        if self.types and event not in self.types:
            return False
        return self.aggregate_id is None or aggregate_id == self.aggregate_id


@dataclass(frozen=True)
class TailedEntry:
    """One entry of a partition log: an event (data shown, or withheld), or an unreadable one."""

    partition: int
    entry_id: str
    event: str | None = None
    aggregate_id: str | None = None
    aggregate_version: int | None = None
    stored_version: int | None = None
    command_id: str | None = None
    correlation_id: str | None = None
    actor: str | None = None
    occurred_at: int | None = None  # epoch milliseconds
    data: Any = None
    private: bool = False
    unreadable: str | None = None  # why the entry could not be read

    def to_json(self) -> dict[str, Any]:
        if self.unreadable is not None:
            return {
                "partition": self.partition,
                "entry_id": self.entry_id,
                "event": self.event,
                "unreadable": self.unreadable,
            }
        return {
            "partition": self.partition,
            "entry_id": self.entry_id,
            "event": self.event,
            "aggregate_id": self.aggregate_id,
            "aggregate_version": self.aggregate_version,
            "stored_version": self.stored_version,
            "command_id": self.command_id,
            "correlation_id": self.correlation_id,
            "actor": self.actor,
            "occurred_at": self.occurred_at,
            "private": self.private,
            "data": REDACTED if self.private else self.data,
        }


def read_entry(partition: int, entry_id: str, fields: dict[bytes, bytes] | None) -> TailedEntry:
    """The entry as shown: decoded and upcast, private data withheld, unreadable said so."""
    raw = (fields or {}).get(b"e")
    if raw is None:
        return TailedEntry(partition, entry_id, unreadable="no event field 'e'")
    try:
        record = record_decoder.decode(raw)
    except msgspec.MsgspecError as error:
        return TailedEntry(partition, entry_id, unreadable=_why(error))
    cls = EVENT_TYPES.get(record.event)
    # An event this code does not know might be private: its data is withheld (fail closed).
    private = cls is None or cls.private
    shown = TailedEntry(
        partition,
        entry_id,
        event=record.event,
        aggregate_id=record.aggregate_id,
        aggregate_version=record.aggregate_version,
        stored_version=record.version,
        command_id=record.command_id,
        correlation_id=record.correlation_id,
        actor=record.actor,
        occurred_at=record.occurred_at,
        private=private,
    )
    if cls is None:
        return _unreadable(shown, f"unknown event {record.event} v{record.version}")
    if private:
        return shown
    try:
        data = redact(event_data(decode_event(record)))
    except (msgspec.MsgspecError, ValueError) as error:  # ValueError: no upcaster
        return _unreadable(shown, _why(error))
    return replace(shown, data=data)


def _unreadable(entry: TailedEntry, why: str) -> TailedEntry:
    return replace(entry, unreadable=why)


def _why(error: Exception) -> str:
    return redact_text(f"{type(error).__name__}: {error}")[:300]


async def start_positions(
    redis: "Redis", partitions: Collection[int], start: str
) -> dict[int, str]:
    """Where each log is read from: its last entry for `now` (resolved once, so that nothing
    appended between two reads is missed, as XREAD's `$` would), else just before `start`."""
    if start != NOW:
        return dict.fromkeys(partitions, _before(start))
    async with translated():
        async with redis.pipeline(transaction=False) as pipe:
            for partition in partitions:
                pipe.xrevrange(keys.events(partition), count=1)
            last = await pipe.execute()
    return {
        partition: _s(entries[0][0]) if entries else "0-0"
        for partition, entries in zip(partitions, last, strict=True)
    }


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _before(entry_id: str) -> str:
    """XREAD returns entries after an id: `--from X` includes X itself."""
    ms, _, seq = entry_id.partition("-")
    if int(seq or 0) > 0:
        return f"{ms}-{int(seq) - 1}"
    return f"{int(ms) - 1}-{2**64 - 1}" if int(ms) > 0 else "0-0"


async def follow(
    redis: "Redis",
    positions: dict[int, str],
    wanted: TailFilter,
    *,
    block_ms: int = 1000,
    stopping: asyncio.Event | None = None,
) -> AsyncIterator[TailedEntry]:
    """Every wanted entry appended after `positions` (partition -> last id seen), until
    `stopping` is set: checked between reads, so within `block_ms`."""
    stopping = stopping or asyncio.Event()
    after: dict[Any, Any] = {keys.events(p): last for p, last in positions.items()}
    partition_of = {keys.events(partition): partition for partition in positions}
    while not stopping.is_set():
        async with translated():
            reply = await redis.xread(after, count=READ_COUNT, block=block_ms)
        for stream, entries in flatten_read(reply):
            for entry_id, fields in entries:
                after[stream] = entry_id
                entry = read_entry(partition_of[stream], entry_id, fields)
                if entry.event is None or wanted.wants(entry.event, entry.aggregate_id or ""):
                    yield entry

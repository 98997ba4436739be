"""A command entry's first step: decoded into work, or settled at once when it cannot be.

An entry deleted while pending is acknowledged; one that does not decode as a command for
its aggregate (a poison message) is dead-lettered straight away, never retried, so that it
never blocks its stream. Whatever string fields of a broken envelope can still be read (its
command id, its sender) go with it, so its sender hears of it.
"""

import logging
from dataclasses import dataclass
from typing import Any

import msgspec

from domain.aggregate import AggregateRules
from domain.registry import AGGREGATES, COMMAND_AGGREGATE, aggregate_type
from events.codec import decode_command, envelope_decoder
from events.commands import Command
from events.envelope import Envelope, ErrorInfo
from infra import keys
from infra.dead_letter_entries import peek
from infra.dead_letters import queue_dead_letter
from infra.metrics import dead_lettered
from infra.settings import Settings

log = logging.getLogger("sluice.worker.commands")

UNDECODABLE = (msgspec.DecodeError, msgspec.ValidationError, KeyError, ValueError)


@dataclass
class Work:
    """One command entry on its way through the batch."""

    partition: int
    entry_id: str
    envelope: Envelope
    command: Command
    rules: AggregateRules


def decode(
    pipe: Any,
    settings: Settings,
    partition: int,
    entry_id: str,
    fields: dict[bytes, bytes] | None,
) -> Work | None:
    """The entry as work to do, or None when it was settled here, on `pipe`."""
    if fields is None:  # deleted while pending: nothing left to settle
        pipe.xack(keys.commands(partition), keys.WORKERS_GROUP, entry_id)
        return None
    raw = fields.get(b"e", b"")
    try:
        envelope = envelope_decoder.decode(raw)
        command = decode_command(envelope)
        rules = AGGREGATES[COMMAND_AGGREGATE[envelope.command]]
        if aggregate_type(envelope.aggregate_id) != COMMAND_AGGREGATE[envelope.command]:
            raise ValueError(f"{envelope.command} cannot act on {envelope.aggregate_id}")
    except UNDECODABLE as error:
        _dead_letter_poison(pipe, settings, partition, entry_id, raw, error)
        return None
    return Work(partition, entry_id, envelope, command, rules)


def _dead_letter_poison(
    pipe: Any, settings: Settings, partition: int, entry_id: str, raw: bytes, error: Exception
) -> None:
    known = peek(raw)
    dead_lettered(None, "poison_message")  # its command name is not to be trusted
    log.error(
        "dead-lettering undecodable entry %s on partition %d: %s",
        entry_id,
        partition,
        error,
        extra={"partition": partition, "command_id": known.get("command_id")},
    )
    queue_dead_letter(
        pipe,
        partition=partition,
        entry_id=entry_id,
        raw_entry=raw,
        error=ErrorInfo(code="poison_message", message=str(error)[:500]),
        command_id=known.get("command_id"),
        actor=known.get("actor"),
        reply_to=known.get("reply_to"),
        group=keys.WORKERS_GROUP,
        status_ttl=settings.result_ttl_seconds,
        results_maxlen=settings.results_maxlen,
    )

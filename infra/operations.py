"""Operator tools over the dead-letter streams: list, show, redrive and purge dead letters.

Shared by the `sluice` CLI and the admin API. A dead letter's id is `<partition>-<entry id>`,
stable for as long as the entry lives; wherever an id is taken, a command id works too.
"""

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from redis.asyncio import Redis

from events.codec import encoder
from infra import keys
from infra.dead_letter_entries import DeadLetter, DeadLetterDetail, Stored, parse_entry
from infra.errors import translated
from infra.scripts import REDRIVE
from infra.settings import Settings
from infra.stream_stats import StreamsReport, stream_stats

__all__ = [
    "DeadLetter",
    "DeadLetterDetail",
    "DeadLetterNotFound",
    "DeadLetters",
    "NotRedrivable",
    "Redrive",
    "RedriveSummary",
    "StreamsReport",
    "list_dead_letters",
    "purge",
    "redrive",
    "redrive_all",
    "show_dead_letter",
    "stream_stats",
]

log = logging.getLogger("sluice.operations")

PAGE = 500
MAX_REF_LENGTH = 100
_STABLE_ID = re.compile(r"^(\d{1,5})-(\d{1,20}-\d{1,20})$")


class DeadLetterNotFound(LookupError):
    """No dead letter has this id or command id."""


class NotRedrivable(ValueError):
    """The dead letter holds no decodable command (a poison entry): it can only be purged."""


@dataclass(frozen=True)
class DeadLetters:
    items: list[DeadLetter]
    total: int  # in every partition, beyond the listed ones

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "dead_letters": [item.to_json() for item in self.items]}


@dataclass(frozen=True)
class Redrive:
    id: str
    command_id: str
    outcome: str  # redriven | already_settled | already_queued
    status: str  # the command's status after the redrive
    entry_id: str | None = None  # its new entry on the command stream, when redriven

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "command_id": self.command_id,
            "outcome": self.outcome,
            "status": self.status,
            "entry_id": self.entry_id,
        }


@dataclass
class RedriveSummary:
    redriven: int = 0
    already_settled: int = 0
    already_queued: int = 0
    not_redrivable: list[str] = field(default_factory=list)  # ids left in place

    def to_json(self) -> dict[str, Any]:
        return {
            "redriven": self.redriven,
            "already_settled": self.already_settled,
            "already_queued": self.already_queued,
            "not_redrivable": self.not_redrivable,
        }


async def list_dead_letters(redis: "Redis", settings: Settings, limit: int = 50) -> DeadLetters:
    """The newest `limit` dead letters over every partition, newest first."""
    async with translated():
        async with redis.pipeline(transaction=False) as pipe:
            for partition in range(settings.partitions):
                pipe.xrevrange(keys.dead_letters(partition), count=limit)
            for partition in range(settings.partitions):
                pipe.xlen(keys.dead_letters(partition))
            replies: list[Any] = await pipe.execute()
    newest = [
        parse_entry(partition, entry_id, fields).summary()
        for partition, rows in enumerate(replies[: settings.partitions])
        for entry_id, fields in rows
    ]
    newest.sort(key=lambda item: (item.at, item.id), reverse=True)
    return DeadLetters(items=newest[:limit], total=sum(replies[settings.partitions :]))


async def show_dead_letter(redis: "Redis", settings: Settings, ref: str) -> DeadLetterDetail:
    """Everything about one dead letter (the newest, for a command id), secrets redacted."""
    async with translated():
        newest = (await _locate(redis, settings, ref))[0]
        raw_status = await redis.hget(
            keys.command_status(newest.partition, newest.command_id or "-"), "status"
        )
    return newest.detail(raw_status.decode() if raw_status else None)


async def redrive(redis: "Redis", settings: Settings, ref: str) -> Redrive:
    """Puts the command back on its stream, attempts reset; see `infra/scripts/redrive.lua`.

    For a command id that left several dead letters (rare: a command dead-lettered, resubmitted
    after its status expired, dead-lettered again), the newest is redriven and the older ones,
    then `already_queued`, are removed with it.
    """
    async with translated():
        found = await _locate(redis, settings, ref)
        if not found[0].redrivable:
            raise NotRedrivable(_why_not(found[0]))
        outcomes = [
            await _redrive(redis, settings, stored) for stored in found if stored.redrivable
        ]
    first = outcomes[0]
    if first is None:  # purged or redriven by someone else between the lookup and the script
        raise DeadLetterNotFound(f"no dead letter {ref}")
    return first


async def redrive_all(redis: "Redis", settings: Settings) -> RedriveSummary:
    """Redrives every redrivable dead letter; poison entries stay, listed by id."""
    summary = RedriveSummary()
    async with translated():
        async for stored in _every(redis, settings):
            if not stored.redrivable:
                summary.not_redrivable.append(stored.id)
                continue
            outcome = await _redrive(redis, settings, stored)
            if outcome is not None:
                setattr(summary, outcome.outcome, getattr(summary, outcome.outcome) + 1)
    return summary


async def purge(redis: "Redis", settings: Settings, ref: str | None = None) -> int:
    """Deletes every dead letter, or those of one id or command id; returns how many went."""
    async with translated():
        if ref is not None:
            found = await _locate(redis, settings, ref)
            async with redis.pipeline(transaction=False) as pipe:
                for stored in found:
                    pipe.xdel(keys.dead_letters(stored.partition), stored.entry_id)
                deleted: list[int] = await pipe.execute()
            return sum(deleted)
        # Length and deletion in one transaction per partition: a dead letter arriving meanwhile
        # is either counted and deleted, or kept.
        total = 0
        for partition in range(settings.partitions):
            async with redis.pipeline(transaction=True) as pipe:
                pipe.xlen(keys.dead_letters(partition))
                pipe.delete(keys.dead_letters(partition))
                length, _ = await pipe.execute()
            total += length
    log.warning("purged %d dead letters", total)
    return total


async def _redrive(redis: "Redis", settings: Settings, stored: Stored) -> Redrive | None:
    envelope = stored.envelope
    assert envelope is not None and stored.redrivable
    # A fresh start: attempts and errors go, the rest is the command as it was sent.
    fresh = msgspec.structs.replace(envelope, attempts=0, errors=())
    p = stored.partition
    reply = await REDRIVE(
        redis,
        [keys.command_status(p, envelope.command_id), keys.commands(p), keys.dead_letters(p)],
        [
            stored.entry_id,
            encoder.encode(fresh),
            envelope.command,
            envelope.submitted_at,
            envelope.actor or "",
            settings.result_ttl_seconds,
        ],
    )
    kind = _text(reply[0])
    if kind == "missing":
        return None
    if kind == "redriven":
        log.info("redrove dead letter %s: command %s queued again", stored.id, envelope.command_id)
        return Redrive(stored.id, envelope.command_id, "redriven", "accepted", _text(reply[1]))
    if kind == "settled":
        return Redrive(stored.id, envelope.command_id, "already_settled", _text(reply[1]))
    return Redrive(stored.id, envelope.command_id, "already_queued", "accepted")


async def _locate(redis: "Redis", settings: Settings, ref: str) -> list[Stored]:
    """The dead letters `ref` names, newest first; raises `DeadLetterNotFound` if none."""
    match = _STABLE_ID.match(ref)
    found: list[Stored] = []
    if match and int(match[1]) < settings.partitions:
        partition, entry_id = int(match[1]), match[2]
        rows = await redis.xrange(keys.dead_letters(partition), min=entry_id, max=entry_id)
        found = [parse_entry(partition, entry_id, fields) for entry_id, fields in rows]
    elif ref and len(ref) <= MAX_REF_LENGTH:
        # By command id: dead-letter streams stay small, so a scan is cheap, and it finds the
        # entries even after the command's status expired.
        found = [stored async for stored in _every(redis, settings) if stored.command_id == ref]
        found.sort(key=lambda stored: stored.at, reverse=True)
    if not found:
        raise DeadLetterNotFound(f"no dead letter {ref}")
    return found


async def _every(redis: "Redis", settings: Settings) -> AsyncIterator[Stored]:
    """Every dead letter, partition by partition, oldest first, read in pages.

    Only those there when a partition's scan starts: a redriven command that fails again comes
    back as a new dead letter, and must not be redriven again by the same sweep.
    """
    for partition in range(settings.partitions):
        stream = keys.dead_letters(partition)
        newest = await redis.xrevrange(stream, count=1)
        if not newest:
            continue
        start, end = "-", _text(newest[0][0])
        while True:
            rows = await redis.xrange(stream, min=start, max=end, count=PAGE)
            for entry_id, fields in rows:
                yield parse_entry(partition, _text(entry_id), fields)
            if len(rows) < PAGE:
                break
            start = f"({_text(rows[-1][0])}"  # exclusive: entries left in place are not re-read


def _why_not(stored: Stored) -> str:
    if stored.envelope is None:
        return f"dead letter {stored.id} holds no readable command"
    return (
        f"dead letter {stored.id} holds a command of partition {stored.envelope.partition}, "
        f"not {stored.partition}"
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

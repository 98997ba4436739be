"""A command's whole story: every command of its correlation, their events, and what caused what.

The gateway's command starts a story (its correlation id is its own id); each follow-up the
reactor appends keeps that correlation id and names its cause (`causation_id`). `submit.lua`
lists every follow-up's id under its correlation id, per partition, for as long as command
statuses live (`result_ttl_seconds`): a trace can be found as long as its statuses can. The
story's first command needs no listing: its status is found by the correlation id itself.

Round trips do not grow with the story: the asked command's status (every partition), its
story's first status and listed command ids (every partition), their statuses, then their
aggregates' histories, each one pipeline (histories are read from their end, in a few steps if
they are long).
A follow-up is shown under the event that caused it when its derived id says so (see
`domain.follow_ups`), else under its causing command.
"""

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from domain.follow_ups import derived_id
from events.envelope import EventRecord
from infra import keys
from infra.aggregate_history import HistoryEvent, shown
from infra.command_log import CommandStatus, find_status, status_from
from infra.errors import translated
from infra.event_store import decode_history
from infra.settings import Settings

FIRST_READ = 256  # events read from the end of each history at first
CLOCK_SKEW_MS = 60_000  # how far the gateway's and the workers' clocks may disagree


class CommandNotFound(Exception):
    """No status for this command id: unknown, or older than `result_ttl_seconds`."""


@dataclass
class TraceEvent:
    event: HistoryEvent
    follow_ups: list["TraceCommand"] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**self.event.to_json(), "follow_ups": [c.to_json() for c in self.follow_ups]}


@dataclass
class TraceCommand:
    status: CommandStatus
    events: list[TraceEvent] = field(default_factory=list)
    # Follow-ups not attributable to one of `events` (e.g. the event is beyond the history read)
    follow_ups: list["TraceCommand"] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        status = self.status
        body: dict[str, Any] = {
            "command_id": status.command_id,
            "command": status.command,
            "status": status.status,
            "aggregate_id": status.aggregate_id,
            "actor": status.actor,
            "causation_id": status.causation_id,
            "submitted_at": status.submitted_at,
            "attempts": status.attempts,
            "events": [event.to_json() for event in self.events],
            "follow_ups": [command.to_json() for command in self.follow_ups],
        }
        if status.error is not None:
            body["error"] = {"code": status.error.code, "message": status.error.message}
        return body


@dataclass(frozen=True)
class Trace:
    command_id: str  # the command asked about, anywhere in the tree
    correlation_id: str
    roots: list[TraceCommand]  # usually one: the command that started the story
    commands: int

    def to_json(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "correlation_id": self.correlation_id,
            "commands": self.commands,
            "roots": [root.to_json() for root in self.roots],
        }


async def trace(redis: "Redis", settings: Settings, command_id: str) -> Trace:
    asked = await find_status(redis, settings, command_id)
    if asked is None:
        raise CommandNotFound(
            f"no command {command_id[:64]} (statuses and traces are kept "
            f"{settings.result_ttl_seconds} s)"
        )
    correlation_id = asked.correlation_id or command_id
    statuses = await _statuses_of(redis, settings, correlation_id)
    statuses.setdefault(command_id, asked)  # a status older than the trace index
    records = await _records_of(redis, settings, list(statuses.values()))
    nodes = {
        cid: TraceCommand(status, [TraceEvent(shown(r)) for r in records.get(cid, [])])
        for cid, status in sorted(statuses.items(), key=lambda item: _order(item[1]))
    }
    roots: list[TraceCommand] = []
    for node in nodes.values():
        parent = nodes.get(node.status.causation_id or "")
        if parent is None or parent is node:
            roots.append(node)
        else:
            _attach(parent, node)
    return Trace(command_id, correlation_id, roots, len(nodes))


async def _statuses_of(
    redis: "Redis", settings: Settings, correlation_id: str
) -> dict[str, CommandStatus]:
    """Every command of the story: the one that started it (its id is the correlation id; the
    index does not list it), then those the index lists."""
    partitions = range(settings.partitions)
    async with translated():
        async with redis.pipeline(transaction=False) as pipe:
            for p in partitions:
                pipe.hgetall(keys.command_status(p, correlation_id))
                pipe.lrange(keys.correlation(p, correlation_id), 0, -1)
            replies: list[Any] = await pipe.execute()
        first = [fields for fields in replies[::2] if fields]  # in one partition at most
        listed: list[list[bytes]] = replies[1::2]
        wanted = list(dict.fromkeys((p, raw.decode()) for p in partitions for raw in listed[p]))
        async with redis.pipeline(transaction=False) as pipe:
            for p, cid in wanted:
                pipe.hgetall(keys.command_status(p, cid))
            found: list[dict[bytes, bytes]] = await pipe.execute()
    # A status may have expired before the index did: that command is left out.
    statuses = {
        cid: status_from(cid, fields)
        for (_, cid), fields in zip(wanted, found, strict=True)
        if fields
    }
    if first:
        statuses[correlation_id] = status_from(correlation_id, first[0])
    return statuses


async def _records_of(
    redis: "Redis", settings: Settings, statuses: list[CommandStatus]
) -> dict[str, list[EventRecord]]:
    """Each command's events, read from the tail of the histories the commands acted on.

    A long history (a busy SKU) is not read whole: each step reads the next, twice larger,
    slice of every history not yet read back to the story's first command (an event occurs
    after its command was accepted; `CLOCK_SKEW_MS` allows for the hosts' clocks).
    """
    ids = {s.command_id for s in statuses}
    since: dict[str, int | None] = {}  # per aggregate, the earliest submission (None: unknown)
    for s in statuses:
        if s.aggregate_id is not None:
            earlier = since.get(s.aggregate_id, s.submitted_at)
            since[s.aggregate_id] = _earliest(earlier, s.submitted_at)
    found: dict[str, dict[int, EventRecord]] = {}
    read = dict.fromkeys(since, 0)
    todo, size = sorted(since), FIRST_READ
    while todo:
        async with translated():
            async with redis.pipeline(transaction=False) as pipe:
                for aggregate_id in todo:
                    p = keys.partition_of_aggregate(aggregate_id, settings.partitions)
                    # Events appended meanwhile shift the slice: overlaps, never gaps.
                    done = read[aggregate_id]
                    pipe.lrange(keys.history(p, aggregate_id), -(done + size), -(done + 1))
                chunks: list[list[bytes]] = await pipe.execute()
        older: list[str] = []
        for aggregate_id, raw in zip(todo, chunks, strict=True):
            records = decode_history(raw)
            read[aggregate_id] += len(records)
            for record in records:
                if record.command_id in ids:
                    mine = found.setdefault(record.command_id, {})
                    mine[record.aggregate_version] = record
            earliest = since[aggregate_id]
            if len(records) == size and (
                earliest is None or records[0].occurred_at >= earliest - CLOCK_SKEW_MS
            ):
                older.append(aggregate_id)
        todo, size = older, size * 2
    return {cid: [by[v] for v in sorted(by)] for cid, by in found.items()}


def _attach(parent: TraceCommand, child: TraceCommand) -> None:
    """Under the parent's event that caused it (its id derives from that event), else the parent."""
    status = child.status
    for event in parent.events:
        cause = derived_id(
            "follow-up",
            event.event.aggregate_id,
            str(event.event.version),
            status.command,
            status.aggregate_id or "",
        )
        if cause == status.command_id:
            event.follow_ups.append(child)
            return
    parent.follow_ups.append(child)


def _earliest(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else min(a, b)


def _order(status: CommandStatus) -> tuple[int, str]:
    return (status.submitted_at or 0, status.command_id)

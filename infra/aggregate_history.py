"""An aggregate's stored history, and its state as of a version or a time, for operators.

Every record is decoded through the upcasters, so old entries show in today's shape. The data
of a private event (a password hash) is never shown: it reads as `null`, `redacted: true`.
An event this process cannot decode is shown the same way, since it might be private.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import takewhile
from typing import Any

import msgspec
from redis.asyncio import Redis

from domain.aggregate import replay
from domain.registry import AGGREGATES, aggregate_type
from events.codec import decode_event, event_data
from events.envelope import EventRecord
from events.events import EVENT_TYPES, Event
from infra import keys
from infra.errors import translated
from infra.event_store import decode_history
from infra.settings import Settings

MAX_PAGE = 1000


class HistoryError(Exception):
    """A question about an aggregate's history that has no answer; the message says why."""


class UnknownAggregateType(HistoryError):
    pass


class AggregateNotFound(HistoryError):
    pass


class VersionOutOfRange(HistoryError):
    pass


class BeforeFirstEvent(HistoryError):
    pass


class InvalidTime(HistoryError):
    pass


class UnreadableHistory(HistoryError):
    """An event of the history cannot be decoded, so no state can be replayed past it."""


@dataclass(frozen=True)
class HistoryEvent:
    """One stored event as an operator sees it."""

    aggregate_id: str
    version: int  # its place in the aggregate's history, from 1
    event: str
    schema_version: int  # the version it was stored with (data is upcast to the current one)
    occurred_at: int  # epoch ms
    command_id: str
    correlation_id: str
    causation_id: str | None
    actor: str | None
    data: Any  # None when redacted
    redacted: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "event": self.event,
            "schema_version": self.schema_version,
            "occurred_at": self.occurred_at,
            "command_id": self.command_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "actor": self.actor,
            "data": self.data,
            "redacted": self.redacted,
        }


@dataclass(frozen=True)
class HistoryPage:
    aggregate_id: str
    type: str
    events: list[HistoryEvent]
    latest_version: int
    next: int | None  # the `after` of the following page; None on the last one

    def to_json(self) -> dict[str, Any]:
        return {
            "aggregate_id": self.aggregate_id,
            "type": self.type,
            "latest_version": self.latest_version,
            "events": [event.to_json() for event in self.events],
            "next": self.next,
        }


@dataclass(frozen=True)
class AggregateState:
    """The state replayed from the first `version` events."""

    aggregate_id: str
    type: str
    version: int
    latest_version: int
    as_of: int  # epoch ms: the time asked for, else when the last applied event occurred
    state: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "aggregate_id": self.aggregate_id,
            "type": self.type,
            "version": self.version,
            "latest_version": self.latest_version,
            "as_of": self.as_of,
            "state": self.state,
        }


def shown(record: EventRecord) -> HistoryEvent:
    """The record for an operator's eyes: upcast data, private data withheld."""
    data: Any = None
    cls = EVENT_TYPES.get(record.event)
    readable = cls is not None and not cls.private
    if readable:
        try:
            data = event_data(decode_event(record))
        except ValueError:
            readable = False
    return HistoryEvent(
        aggregate_id=record.aggregate_id,
        version=record.aggregate_version,
        event=record.event,
        schema_version=record.version,
        occurred_at=record.occurred_at,
        command_id=record.command_id,
        correlation_id=record.correlation_id,
        causation_id=record.causation_id,
        actor=record.actor,
        data=data,
        redacted=not readable,
    )


def parse_time(text: str) -> int:
    """Epoch milliseconds, given as such (digits) or as ISO-8601 (UTC unless it says)."""
    text = text.strip()
    if re.fullmatch(r"[0-9]{1,15}", text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTime(
            f"not a time: {text[:40]!r} (give epoch milliseconds or ISO-8601, "
            "e.g. 2026-01-31T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def type_of(aggregate_id: str) -> str:
    kind = aggregate_type(aggregate_id)
    if ":" not in aggregate_id or kind not in AGGREGATES:
        known = ", ".join(sorted(AGGREGATES))
        raise UnknownAggregateType(
            f"no aggregate type {kind[:40]!r}: an aggregate id is <type>:<id>, type one of {known}"
        )
    return kind


def _history_key(settings: Settings, aggregate_id: str) -> str:
    return keys.history(
        keys.partition_of_aggregate(aggregate_id, settings.partitions), aggregate_id
    )


async def history_page(
    redis: "Redis", settings: Settings, aggregate_id: str, *, after: int = 0, limit: int = 100
) -> HistoryPage:
    """The events after version `after`, oldest first, at most `limit` of them."""
    kind = type_of(aggregate_id)
    limit = max(1, min(limit, MAX_PAGE))
    after = max(0, after)
    key = _history_key(settings, aggregate_id)
    async with translated():
        async with redis.pipeline(transaction=False) as pipe:
            pipe.llen(key)
            pipe.lrange(key, after, after + limit - 1)
            total, raw = await pipe.execute()
    if total == 0:
        raise AggregateNotFound(f"no aggregate {aggregate_id}")
    events = [shown(record) for record in decode_history(raw)]
    last = after + len(events)
    return HistoryPage(
        aggregate_id=aggregate_id,
        type=kind,
        events=events,
        latest_version=total,
        next=last if last < total else None,
    )


async def state_as_of(
    redis: "Redis",
    settings: Settings,
    aggregate_id: str,
    *,
    version: int | None = None,
    at: int | None = None,
) -> AggregateState:
    """The state after the first `version` events, or after every event that occurred by `at`
    (epoch ms); the current state when neither is given."""
    if version is not None and at is not None:
        raise HistoryError("give a version or a time, not both")
    kind = type_of(aggregate_id)
    async with translated():
        raw = await redis.lrange(_history_key(settings, aggregate_id), 0, -1)
    records = decode_history(raw)
    if not records:
        raise AggregateNotFound(f"no aggregate {aggregate_id}")
    latest = len(records)
    if at is not None:
        # A prefix: the history's order is the truth, whatever two workers' clocks said.
        applied = list(takewhile(lambda record: record.occurred_at <= at, records))
        if not applied:
            raise BeforeFirstEvent(
                f"{aggregate_id} did not exist yet at {iso(at)}: "
                f"its first event occurred at {iso(records[0].occurred_at)}"
            )
    elif version is not None:
        if not 1 <= version <= latest:
            raise VersionOutOfRange(
                f"{aggregate_id} has {latest} event{'' if latest == 1 else 's'}: "
                f"version must be from 1 to {latest}"
            )
        applied = records[:version]
    else:
        applied = records
    state = replay(AGGREGATES[kind], [_decoded(record) for record in applied])
    return AggregateState(
        aggregate_id=aggregate_id,
        type=kind,
        version=len(applied),
        latest_version=latest,
        as_of=at if at is not None else applied[-1].occurred_at,
        state=msgspec.to_builtins(state, enc_hook=_builtin),
    )


def _builtin(value: Any) -> Any:
    """What msgspec does not convert by itself: read-only mappings a state may hold."""
    if isinstance(value, Mapping):
        return dict(value)
    raise NotImplementedError(type(value).__name__)  # msgspec's enc_hook protocol: "not mine"


def _decoded(record: EventRecord) -> Event:
    try:
        return decode_event(record)
    except ValueError as error:
        raise UnreadableHistory(
            f"event {record.aggregate_version} of {record.aggregate_id} ({record.event} "
            f"v{record.version}) cannot be read: {type(error).__name__}"
        ) from None

"""Aggregate histories and past states against a real redis-server: histories written by the
real command consumer, or by hand where the times must be known."""

import msgspec
import orjson
import pytest
from redis.asyncio import Redis

from domain.aggregate import replay
from domain.registry import AGGREGATES
from events.codec import decode_event, encoder
from events.envelope import EventRecord
from events.events import DisplayNameChanged
from infra import keys
from infra.aggregate_history import (
    AggregateNotFound,
    BeforeFirstEvent,
    HistoryError,
    InvalidTime,
    UnknownAggregateType,
    VersionOutOfRange,
    history_page,
    parse_time,
    state_as_of,
)
from infra.event_store import load_history
from infra.settings import Settings
from tests.infra.commerce_support import record_of
from tests.infra.history_support import HASH, alice


async def stored(redis: Redis, settings: Settings, *records: EventRecord) -> None:
    """Appends records to their aggregate's history, as commits would."""
    for record in records:
        partition = keys.partition_of_aggregate(record.aggregate_id, settings.partitions)
        await redis.rpush(keys.history(partition, record.aggregate_id), encoder.encode(record))


def registered_v1(user_id: str, display_name: str, at: int) -> EventRecord:
    """A `UserRegistered` as version 1 stored it: old entries stay readable forever."""
    data = {"user_id": user_id, "email": f"{user_id}@example.com", "display_name": display_name}
    return msgspec.structs.replace(
        record_of(DisplayNameChanged(user_id=user_id, display_name=""), f"user:{user_id}", 1),
        event="UserRegistered",
        version=1,
        data=msgspec.Raw(orjson.dumps({**data, "roles": []})),
        occurred_at=at,
    )


def renamed(user_id: str, version: int, name: str, at: int) -> EventRecord:
    event = DisplayNameChanged(user_id=user_id, display_name=name)
    return record_of(event, f"user:{user_id}", version, at=at)


async def test_the_history_shows_every_event_with_its_ids_and_hides_private_data(
    redis: Redis, settings: Settings
) -> None:
    aggregate_id, [register, *renames] = await alice(redis, settings)

    page = await history_page(redis, settings, aggregate_id)

    assert [(e.version, e.event) for e in page.events] == [
        (1, "UserRegistered"),
        (2, "UserPasswordSet"),
        (3, "DisplayNameChanged"),
        (4, "DisplayNameChanged"),
    ]
    assert (page.type, page.latest_version, page.next) == ("user", 4, None)
    registered, password, *_ = page.events
    assert registered.data["email"] == "alice@example.com" and not registered.redacted
    assert (password.data, password.redacted) == (None, True)
    for event, envelope in zip(page.events, [register, register, *renames], strict=True):
        assert event.command_id == envelope.command_id
        assert event.correlation_id == envelope.correlation_id == envelope.command_id
        assert event.causation_id == envelope.command_id
    assert HASH not in orjson.dumps(page.to_json()).decode()


async def test_the_state_as_of_version_k_is_the_replay_of_the_first_k_events(
    redis: Redis, settings: Settings
) -> None:
    aggregate_id, _ = await alice(redis, settings)
    partition = keys.partition_of_aggregate(aggregate_id, settings.partitions)
    events = [decode_event(r) for r in await load_history(redis, partition, aggregate_id)]

    for k in range(1, len(events) + 1):
        found = await state_as_of(redis, settings, aggregate_id, version=k)
        assert found.state == msgspec.to_builtins(replay(AGGREGATES["user"], events[:k]))
        assert (found.version, found.latest_version) == (k, 4)

    now = await state_as_of(redis, settings, aggregate_id)
    assert now.version == 4
    assert (now.state["display_name"], now.state["has_password"]) == ("Ali", True)
    assert HASH not in orjson.dumps(now.to_json()).decode()
    for wrong in (5, 0):
        with pytest.raises(VersionOutOfRange, match="has 4 events: version must be from 1 to 4"):
            await state_as_of(redis, settings, aggregate_id, version=wrong)


async def test_the_state_at_a_time_between_two_events_has_the_earlier_one_only(
    redis: Redis, settings: Settings
) -> None:
    await stored(
        redis,
        settings,
        registered_v1("u1", "One", at=10_000),
        renamed("u1", 2, "Two", at=20_000),
        renamed("u1", 3, "Three", at=30_000),
    )

    between = await state_as_of(redis, settings, "user:u1", at=25_000)
    iso = await state_as_of(redis, settings, "user:u1", at=parse_time("1970-01-01T00:00:25Z"))
    exactly = await state_as_of(redis, settings, "user:u1", at=30_000)

    assert (between.version, between.as_of, between.state["display_name"]) == (2, 25_000, "Two")
    assert iso == between
    assert (exactly.version, exactly.state["display_name"]) == (3, "Three")
    with pytest.raises(BeforeFirstEvent, match="its first event occurred at 1970-01-01T00:00:10"):
        await state_as_of(redis, settings, "user:u1", at=9_999)


async def test_old_event_versions_are_shown_and_replayed_upcast(
    redis: Redis, settings: Settings
) -> None:
    await stored(redis, settings, registered_v1("u1", "Ada Lovelace", at=1))

    page = await history_page(redis, settings, "user:u1")
    state = await state_as_of(redis, settings, "user:u1")

    [shown] = page.events
    assert shown.schema_version == 1
    assert (shown.data["given_name"], shown.data["family_name"]) == ("Ada", "Lovelace")
    assert "display_name" not in shown.data
    assert state.state["display_name"] == "Ada Lovelace"


async def test_history_pages_follow_each_other(redis: Redis, settings: Settings) -> None:
    await stored(redis, settings, *(renamed("u1", v, f"N{v}", at=v) for v in range(1, 6)))

    first = await history_page(redis, settings, "user:u1", limit=2)
    second = await history_page(redis, settings, "user:u1", after=first.next or 0, limit=2)
    last = await history_page(redis, settings, "user:u1", after=4, limit=2)

    assert ([e.version for e in first.events], first.next) == ([1, 2], 2)
    assert ([e.version for e in second.events], second.next) == ([3, 4], 4)
    assert ([e.version for e in last.events], last.next) == ([5], None)


async def test_questions_without_an_answer_are_typed_errors(
    redis: Redis, settings: Settings
) -> None:
    await stored(redis, settings, renamed("u1", 1, "One", at=1))

    with pytest.raises(UnknownAggregateType, match="no aggregate type 'spaceship'"):
        await state_as_of(redis, settings, "spaceship:1")
    with pytest.raises(UnknownAggregateType):
        await history_page(redis, settings, "no-colon")
    with pytest.raises(AggregateNotFound, match="no aggregate user:u2"):
        await history_page(redis, settings, "user:u2")
    with pytest.raises(AggregateNotFound):
        await state_as_of(redis, settings, "order:o9", version=1)
    with pytest.raises(HistoryError, match="not both"):
        await state_as_of(redis, settings, "user:u1", version=1, at=1)
    for text in ("yesterday", "2026-13-01", ""):
        with pytest.raises(InvalidTime, match="give epoch milliseconds or ISO-8601"):
            parse_time(text)
    assert parse_time("2026-01-31T12:00:00+01:00") == parse_time("2026-01-31T11:00:00Z")
    assert parse_time("2026-01-31T11:00:00") == parse_time("1769857200000")

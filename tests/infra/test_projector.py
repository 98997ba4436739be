"""The projector against a real redis-server: read models from the partition logs, idempotently."""

import asyncio
from dataclasses import replace

import msgspec
import pytest
from redis.asyncio import Redis

from events.codec import encoder
from events.envelope import EventRecord
from events.events import Event, UserPasswordSet, UserRegistered
from infra import keys
from infra.read_models import UserView, find_credentials, get_user, get_user_doc
from infra.settings import Settings
from tests.infra.commerce_support import read_models
from worker.deps import Deps
from worker.projector import Projector

USER = "user-1"
PARTITION = 2


@pytest.fixture
async def projector(settings: Settings, redis: Redis) -> Projector:
    projector = Projector(Deps(settings=settings, redis=redis, consumer="p1"))
    await projector.prepare()
    return projector


def registered(email: str = "alice@example.com", name: str = "Alice") -> UserRegistered:
    return UserRegistered(user_id=USER, email=email, given_name=name, roles=("customer",))


async def append(redis: Redis, event: Event, version: int) -> str:
    record = EventRecord(
        event=type(event).__name__,
        version=type(event).version,
        data=msgspec.Raw(encoder.encode(event)),
        aggregate_id=f"user:{USER}",
        aggregate_version=version,
        command_id=f"cmd-{version}",
        correlation_id=f"cmd-{version}",
        causation_id=None,
        actor=None,
        occurred_at=1,
    )
    entry_id: bytes = await redis.xadd(keys.events(PARTITION), {"e": encoder.encode(record)})
    return entry_id.decode()


async def unacknowledged(redis: Redis) -> int:
    summary = await redis.xpending(keys.events(PARTITION), keys.PROJECTOR_GROUP)
    count: int = summary["pending"]
    return count


async def test_a_registration_builds_the_user_and_credentials_read_models(
    redis: Redis, projector: Projector
) -> None:
    await append(redis, registered(), 1)
    await append(redis, UserPasswordSet(user_id=USER, password_hash="$argon2id$h1"), 2)

    assert await projector._read_once(">", block=False) == 2

    assert await get_user(redis, USER) == UserView(
        user_id=USER, email="alice@example.com", display_name="Alice", roles=("customer",)
    )
    assert await find_credentials(redis, "alice@example.com") == (USER, "$argon2id$h1")
    assert await unacknowledged(redis) == 0


async def test_applying_the_same_events_again_changes_nothing(
    redis: Redis, projector: Projector
) -> None:
    await append(redis, registered(), 1)
    await append(redis, UserPasswordSet(user_id=USER, password_hash="$argon2id$h1"), 2)
    await projector._read_once(">", block=False)
    once = await read_models(redis)
    # the user, their email's lookup, credentials, the index of users and of their role
    assert len(once) == 5

    await redis.xgroup_setid(keys.events(PARTITION), keys.PROJECTOR_GROUP, id="0")
    assert await projector._read_once(">", block=False) == 2

    assert await read_models(redis) == once
    assert await unacknowledged(redis) == 0


async def test_an_older_version_arriving_after_a_newer_one_does_not_overwrite(
    redis: Redis, projector: Projector
) -> None:
    await append(redis, registered("new@example.com", "New"), 3)
    await append(redis, UserPasswordSet(user_id=USER, password_hash="$argon2id$new"), 4)
    await append(redis, registered("old@example.com", "Old"), 1)
    await append(redis, UserPasswordSet(user_id=USER, password_hash="$argon2id$old"), 2)

    assert await projector._read_once(">", block=False) == 4

    assert await get_user_doc(redis, USER) == (
        UserView(user_id=USER, email="new@example.com", display_name="New", roles=("customer",)),
        3,
    )
    assert await find_credentials(redis, "new@example.com") == (USER, "$argon2id$new")
    assert await find_credentials(redis, "old@example.com") is None


async def test_an_unreadable_event_is_skipped_and_the_rest_applied(
    redis: Redis, projector: Projector
) -> None:
    await redis.xadd(keys.events(PARTITION), {"e": b"{not a record"})
    await append(redis, registered(), 1)

    assert await projector._read_once(">", block=False) == 2

    assert await get_user(redis, USER) is not None
    assert await unacknowledged(redis) == 0


async def test_events_are_still_projected_after_the_server_forgot_the_scripts(
    redis: Redis, projector: Projector
) -> None:
    await append(redis, registered(), 1)
    await redis.script_flush()  # what a restarted (or failed-over) server does to its cache

    await projector._read_once(">", block=False)

    assert await get_user(redis, USER) is not None
    assert await unacknowledged(redis) == 0


async def test_events_left_pending_by_a_dead_projector_are_applied_by_another(
    redis: Redis, settings: Settings
) -> None:
    live = Projector(
        Deps(settings=replace(settings, claim_idle_ms=1), redis=redis, consumer="live")
    )
    await live.prepare()
    trimmed = await append(redis, registered("old@example.com", "Old"), 1)
    await append(redis, registered(), 2)
    stream = keys.events(PARTITION)
    await redis.xreadgroup(keys.PROJECTOR_GROUP, "dead", {stream: ">"}, count=10)
    await redis.xdel(stream, trimmed)  # trimmed while still pending
    await wait_until_idle(redis, live.settings.claim_idle_ms)

    await live.reclaim()

    assert await get_user_doc(redis, USER) == (
        UserView(
            user_id=USER, email="alice@example.com", display_name="Alice", roles=("customer",)
        ),
        2,
    )
    assert await unacknowledged(redis) == 0


async def wait_until_idle(redis: Redis, idle_ms: int) -> None:
    """Polls XPENDING until every pending event has been idle for `idle_ms`: no event says so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while loop.time() < deadline:
        rows = await redis.xpending_range(
            keys.events(PARTITION), keys.PROJECTOR_GROUP, min="-", max="+", count=100
        )
        if all(row["time_since_delivered"] >= idle_ms for row in rows):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"pending events never became idle for {idle_ms} ms")

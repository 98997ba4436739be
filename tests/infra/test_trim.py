"""Command streams are trimmed only below what every consumer group has settled."""

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from infra.streams import trim_settled

STREAM = "sluice:{p0}:commands"


@pytest.fixture
async def small_nodes(redis: Redis) -> AsyncIterator[None]:
    """MINID ~ trims whole macro nodes: small nodes let a few hundred entries show it."""
    await redis.config_set("stream-node-max-entries", 10)
    yield
    await redis.config_set("stream-node-max-entries", 100)


async def fill(redis: Redis, count: int) -> list[bytes]:
    return [await redis.xadd(STREAM, {"e": str(i)}) for i in range(count)]


async def remaining(redis: Redis) -> list[bytes]:
    return [entry_id for entry_id, _ in await redis.xrange(STREAM)]


@pytest.mark.usefixtures("small_nodes")
async def test_settled_entries_go_and_the_oldest_pending_one_stays(redis: Redis) -> None:
    ids = await fill(redis, 300)
    await redis.xgroup_create(STREAM, "workers", id="0")
    await redis.xreadgroup("workers", "c1", {STREAM: ">"}, count=300)
    await redis.xack(STREAM, "workers", *ids[:200])

    trimmed = await trim_settled(redis, STREAM)

    left = await remaining(redis)
    assert trimmed > 0
    assert ids[200] in left  # the oldest pending entry and everything after it stay
    assert left[-100:] == ids[200:]


@pytest.mark.usefixtures("small_nodes")
async def test_entries_not_yet_delivered_to_a_group_are_never_trimmed(redis: Redis) -> None:
    ids = await fill(redis, 100)
    await redis.xgroup_create(STREAM, "workers", id="0")
    await redis.xgroup_create(STREAM, "slow", id="0")
    await redis.xreadgroup("workers", "c1", {STREAM: ">"}, count=100)
    await redis.xack(STREAM, "workers", *ids)
    await redis.xreadgroup("slow", "c1", {STREAM: ">"}, count=30)
    await redis.xack(STREAM, "slow", *ids[:30])

    await trim_settled(redis, STREAM)

    left = await remaining(redis)
    assert left[-70:] == ids[30:]  # "slow" has yet to see these


async def test_a_stream_without_groups_is_left_alone(redis: Redis) -> None:
    await fill(redis, 50)
    assert await trim_settled(redis, STREAM) == 0
    assert len(await remaining(redis)) == 50

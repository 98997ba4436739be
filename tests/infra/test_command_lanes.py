"""Command lanes: a worker's command consumers, each over its own share of the partitions.

The lanes of one process read at once on a real redis-server, each through its own
connection, and between them settle every command exactly once, in order per aggregate.
"""

import asyncio
from collections import Counter
from dataclasses import replace

from redis.asyncio import Redis

from events.commands import RecordLogin
from events.envelope import Envelope
from infra import keys
from infra.command_log import envelope_for, find_status, submit
from infra.event_store import load_history
from infra.identity import registration
from infra.settings import Settings
from worker.commands import CommandConsumer, command_lanes
from worker.deps import Deps

HASH = "$argon2id$v=19$fake-hash-never-shown"


def lanes_of(settings: Settings, redis: Redis, lanes: int, partitions: int) -> list[set[int]]:
    deps = Deps(
        settings=replace(settings, command_lanes=lanes, partitions=partitions),
        redis=redis,
        consumer="c1",
    )
    return [set(lane.streams) for lane in command_lanes(deps)]


def test_each_partition_is_read_by_exactly_one_lane(settings: Settings, redis: Redis) -> None:
    assert lanes_of(settings, redis, lanes=2, partitions=4) == [{0, 2}, {1, 3}]
    assert lanes_of(settings, redis, lanes=2, partitions=3) == [{0, 2}, {1}]
    assert lanes_of(settings, redis, lanes=1, partitions=4) == [{0, 1, 2, 3}]
    # No lane without a partition: more lanes than partitions give one partition each.
    assert lanes_of(settings, redis, lanes=8, partitions=4) == [{0}, {1}, {2}, {3}]


def test_the_lanes_keep_their_states_in_one_cache(settings: Settings, redis: Redis) -> None:
    deps = Deps(settings=replace(settings, command_lanes=2), redis=redis, consumer="c1")
    first, second = command_lanes(deps)
    assert first.aggregates is second.aggregates
    assert first.streams == {0: keys.commands(0), 2: keys.commands(2)}


async def registered_users(redis: Redis, settings: Settings, count: int) -> list[Envelope]:
    users = []
    for i in range(count):
        command, aggregate_id = registration(
            email=f"lane{i}@example.com",
            password_hash=HASH,
            display_name=None,
            partitions=settings.partitions,
        )
        envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
        assert await submit(redis, settings, envelope)
        users.append(envelope)
    return users


async def test_lanes_draining_at_once_settle_every_command_once_in_order(
    settings: Settings, redis: Redis
) -> None:
    # Small batches: each lane goes through many, its turns interleaved with the other's.
    settings = replace(settings, command_lanes=2, read_count=3)
    users = await registered_users(redis, settings, 12)
    assert {user.partition for user in users} == set(range(settings.partitions))
    logins: dict[str, list[Envelope]] = {user.aggregate_id: [] for user in users}
    for round_ in range(5):
        for user in users:
            envelope = envelope_for(
                settings=settings,
                command=RecordLogin(
                    user_id=user.aggregate_id.removeprefix("user:"), session_id=f"s{round_}"
                ),
                aggregate_id=user.aggregate_id,
            )
            assert await submit(redis, settings, envelope)
            logins[user.aggregate_id].append(envelope)
    lanes = command_lanes(Deps(settings=settings, redis=redis, consumer="c1"))
    for lane in lanes:
        await lane.prepare()

    drained = await asyncio.gather(*(lane.drain() for lane in lanes))

    commands_on = Counter(user.partition for user in users)
    for lane, done in zip(lanes, drained, strict=True):
        # Each lane read its own partitions' commands, and only those: 6 per user.
        assert done.entries == 6 * sum(commands_on[p] for p in lane.streams)
        assert done.batches > 1
    for user in users:
        history = await load_history(redis, user.partition, user.aggregate_id)
        assert [(r.aggregate_version, r.command_id) for r in history] == [
            (1, user.command_id),
            (2, user.command_id),
            *[(3 + i, env.command_id) for i, env in enumerate(logins[user.aggregate_id])],
        ]
        for env in [user, *logins[user.aggregate_id]]:
            found = await find_status(redis, settings, env.command_id)
            assert found is not None and found.status == "succeeded"
    for partition in range(settings.partitions):
        logged = await redis.xlen(keys.events(partition))
        assert logged == 7 * commands_on[partition]  # two events a registration, one a login
        summary = await redis.xpending(keys.commands(partition), keys.WORKERS_GROUP)
        assert summary["pending"] == 0


async def test_a_lane_settles_what_it_held_before_a_restart_and_nothing_of_the_others(
    settings: Settings, redis: Redis
) -> None:
    """Entries delivered to the consumer name on a lane's partitions before a restart come back
    to that lane only: the name is the process's, the partitions the lane's."""
    settings = replace(settings, command_lanes=2)
    users = await registered_users(redis, settings, 8)
    before = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1"))
    await before.prepare()
    # Delivered to c1, never settled: the process died holding them.
    await redis.xreadgroup(
        keys.WORKERS_GROUP, "c1", dict.fromkeys(before.streams.values(), ">"), count=100
    )
    first, second = command_lanes(Deps(settings=settings, redis=redis, consumer="c1"))

    await first._settle_own_pending()

    held = Counter(user.partition for user in users)
    assert any(held[p] for p in second.streams)
    assert await pending_by_partition(redis, settings) == {
        p: 0 if p in first.streams else held[p] for p in range(settings.partitions)
    }
    await second._settle_own_pending()
    assert set((await pending_by_partition(redis, settings)).values()) == {0}
    for user in users:
        found = await find_status(redis, settings, user.command_id)
        assert found is not None and found.status == "succeeded"


async def pending_by_partition(redis: Redis, settings: Settings) -> dict[int, int]:
    pending = {}
    for partition in range(settings.partitions):
        summary = await redis.xpending(keys.commands(partition), keys.WORKERS_GROUP)
        pending[partition] = summary["pending"]
    return pending

"""A worker restarted under its old consumer name settles what it held, first and once."""

import asyncio
from dataclasses import replace

from redis.asyncio import Redis

from infra import keys
from infra.command_log import envelope_for, find_status, submit
from infra.identity import registration
from infra.settings import Settings
from worker.commands import CommandConsumer
from worker.deps import Deps


async def submitted(redis: Redis, settings: Settings, email: str) -> str:
    command, aggregate_id = registration(
        email=email, password_hash="h", display_name=None, partitions=settings.partitions
    )
    envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    assert await submit(redis, settings, envelope)
    return envelope.command_id


async def test_a_restarted_consumer_settles_its_own_pending_entries_without_waiting(
    redis: Redis, settings: Settings
) -> None:
    # An idle time no test would wait for: only the consumer's own pending read can settle it.
    settings = replace(settings, claim_idle_ms=3_600_000)
    command_id = await submitted(redis, settings, "held@example.com")
    before_crash = CommandConsumer(Deps(settings=settings, redis=redis, consumer="worker-1"))
    await before_crash.prepare()
    await redis.xreadgroup(
        keys.WORKERS_GROUP, "worker-1", dict.fromkeys(before_crash.streams.values(), ">"), count=10
    )

    restarted = CommandConsumer(Deps(settings=settings, redis=redis, consumer="worker-1"))
    running = asyncio.create_task(restarted.run())
    try:
        async with asyncio.timeout(10):
            while (found := await find_status(redis, settings, command_id)) is None or (
                found.status == "accepted"
            ):
                # Returns as soon as a result is recorded: the only one here is ours.
                await redis.xread(
                    {keys.results(p): "0-0" for p in range(settings.partitions)}, block=200
                )
    finally:
        restarted.stop()
        await running
    assert found.status == "succeeded"


async def test_an_own_pending_entry_that_keeps_conflicting_does_not_hold_up_the_start(
    redis: Redis, settings: Settings
) -> None:
    settings = replace(settings, max_conflict_retries=1)
    command_id = await submitted(redis, settings, "stuck@example.com")
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="worker-1"))
    await consumer.prepare()
    await redis.xreadgroup(
        keys.WORKERS_GROUP, "worker-1", dict.fromkeys(consumer.streams.values(), ">"), count=10
    )
    attempts = 0

    async def always_conflicting(calls: list[object], count: int) -> list[object]:
        nonlocal attempts
        attempts += 1
        return [[b"conflict", 0]] * count

    consumer._commit = always_conflicting  # type: ignore[assignment,method-assign]
    async with asyncio.timeout(5):
        await consumer._settle_own_pending()
    assert attempts == 1
    # With no retry scheduler in this process, a conflict storm goes to the dead letters.
    status = await find_status(redis, settings, command_id)
    assert status is not None and status.status == "failed"
    assert status.error is not None and status.error.code == "conflict_storm"

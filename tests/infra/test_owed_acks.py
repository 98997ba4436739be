"""Projector and reactor batches are acknowledged in a later read's round trip (within the
linger), and the projector looks at the rebuild fence in each read's round trip; on a real
redis-server."""

import asyncio
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from infra import keys
from infra.read_models import get_user
from infra.settings import Settings, SettingsError, from_env
from tests.infra.test_projector import USER, append, registered, unacknowledged
from tests.redis_servers import commands_run
from worker.deps import Deps
from worker.projector import FENCE_POLL_SECONDS, Projector


async def projector_of(redis: Redis, settings: Settings) -> Projector:
    projector = Projector(Deps(settings=settings, redis=redis, consumer="p1"))
    await projector.prepare()
    return projector


async def test_a_batch_is_acknowledged_with_the_next_read_not_on_its_own(
    redis: Redis, settings: Settings
) -> None:
    projector = await projector_of(redis, settings)
    await append(redis, registered(), 1)

    assert await projector._read_next(block=False) == 1
    assert await get_user(redis, USER) is not None  # applied...
    assert await unacknowledged(redis) == 1  # ...and acknowledged only with the next read

    await redis.config_resetstat()
    assert await projector._read_next(block=False) == 0
    assert await unacknowledged(redis) == 0
    assert await commands_run(redis, "xack") == 1
    assert await commands_run(redis, "xreadgroup") == 1
    assert await commands_run(redis, "exists") == 1  # the fence, in the same round trip


async def test_a_blocking_read_goes_without_what_may_still_wait_and_blocks_no_longer(
    redis: Redis, settings: Settings
) -> None:
    # Light load: the acknowledgement waits for a read to go with; the read meanwhile blocks
    # for the linger, not for its minute.
    lingering = replace(settings, ack_linger_ms=2_000, read_block_ms=60_000, claim_idle_ms=60_000)
    projector = await projector_of(redis, lingering)
    await append(redis, registered(), 1)
    assert await projector._read_next(block=False) == 1

    await redis.config_resetstat()
    assert await asyncio.wait_for(projector._read_next(block=True), 30) == 0
    assert await commands_run(redis, "xack") == 0
    assert await unacknowledged(redis) == 1
    assert projector.owed.wait_ms() == 0  # due now: it goes with the next read

    assert await projector._read_next(block=False) == 0
    assert await commands_run(redis, "xack") == 1
    assert await unacknowledged(redis) == 0


async def test_without_a_linger_a_blocking_read_carries_what_is_owed(
    redis: Redis, settings: Settings
) -> None:
    projector = await projector_of(redis, replace(settings, ack_linger_ms=0))
    await append(redis, registered(), 1)
    assert await projector._read_next(block=False) == 1

    assert await projector._read_next(block=True) == 0

    assert await unacknowledged(redis) == 0


def test_a_linger_as_long_as_the_claim_idle_time_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Entries still owed would be taken over from a live consumer and processed again.
    monkeypatch.setenv("SLUICE_CLAIM_IDLE_MS", "1000")
    monkeypatch.setenv("SLUICE_ACK_LINGER_MS", "1000")
    with pytest.raises(SettingsError, match="SLUICE_ACK_LINGER_MS"):
        from_env()
    monkeypatch.setenv("SLUICE_ACK_LINGER_MS", "999")
    assert from_env().ack_linger_ms == 999


async def test_what_is_owed_when_the_loop_stops_is_acknowledged_then(
    redis: Redis, settings: Settings
) -> None:
    projector = await projector_of(redis, settings)
    await append(redis, registered(), 1)
    assert await projector._read_next(block=False) == 1
    assert await unacknowledged(redis) == 1
    projector.stop()  # no read comes next

    await asyncio.wait_for(projector.run(), 10)

    assert await unacknowledged(redis) == 0


async def test_a_fenced_projector_writes_nothing_until_the_fence_is_down(
    redis: Redis, settings: Settings
) -> None:
    projector = await projector_of(redis, settings)
    await redis.set(keys.projection_fence(), "a rebuild switching", px=30_000)
    await append(redis, registered(), 1)

    await redis.config_resetstat()
    reading = asyncio.create_task(projector._read_next(block=False))
    # Seen in the read's round trip, then looked at again and again while it stands.
    async with asyncio.timeout(5):
        # The server's own count: nothing in this process announces it, so it is polled.
        while await commands_run(redis, "exists") < 3:  # noqa: ASYNC110
            await asyncio.sleep(FENCE_POLL_SECONDS)
    assert not reading.done()
    assert await get_user(redis, USER) is None

    await redis.delete(keys.projection_fence())
    assert await asyncio.wait_for(reading, 5) == 1
    assert await get_user(redis, USER) is not None

"""Consumer names against a real redis-server: one slot per live process, the same after restart."""

from redis.asyncio import Redis

from infra import keys
from worker.consumer_names import LEASE_SECONDS, ConsumerName, is_leased


async def test_two_live_processes_get_different_names(redis: Redis) -> None:
    first = await ConsumerName(redis, "worker").acquire()
    second = await ConsumerName(redis, "worker").acquire()

    assert first != second
    assert first.endswith("-worker-1")
    assert second.endswith("-worker-2")
    assert await is_leased(redis, "worker", first)
    assert 0 < await redis.ttl(keys.consumer_lease("worker", first)) <= LEASE_SECONDS


async def test_a_restarted_process_takes_its_released_name_back(redis: Redis) -> None:
    before_restart = ConsumerName(redis, "worker")
    first = await before_restart.acquire()
    second = await ConsumerName(redis, "worker").acquire()

    await before_restart.release()
    after_restart = await ConsumerName(redis, "worker").acquire()

    assert after_restart == first
    assert after_restart != second


async def test_releasing_a_name_another_process_now_holds_leaves_its_lease(redis: Redis) -> None:
    stale = ConsumerName(redis, "worker")
    name = await stale.acquire()
    await redis.delete(keys.consumer_lease("worker", name))  # the lease expired
    current = ConsumerName(redis, "worker")
    assert await current.acquire() == name

    await stale.release()

    assert await is_leased(redis, "worker", name)


async def test_an_explicit_name_is_used_as_is_without_a_lease(redis: Redis) -> None:
    named = ConsumerName(redis, "worker", explicit="web.1")

    assert await named.acquire() == "web.1"
    assert not await is_leased(redis, "worker", "web.1")

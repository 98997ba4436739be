"""Stale consumers are removed, but never one that still holds pending entries."""

from redis.asyncio import Redis

from worker.consumer_names import ConsumerName, remove_stale

STREAM, GROUP = "sluice:{p0}:commands", "workers"


async def test_only_unleased_consumers_holding_nothing_are_removed(redis: Redis) -> None:
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    await redis.xadd(STREAM, {"e": b"{}"})
    # "holder" reads the entry and dies holding it; "empty" reads nothing; "alive" is leased.
    await redis.xreadgroup(GROUP, "holder", {STREAM: ">"}, count=1)
    await redis.xgroup_createconsumer(STREAM, GROUP, "empty")
    alive = ConsumerName(redis, "worker")
    alive_name = await alive.acquire()
    await redis.xgroup_createconsumer(STREAM, GROUP, alive_name)

    removed = await remove_stale(redis, [(STREAM, GROUP)], current="me", idle_ms=0)

    names = {info["name"].decode() for info in await redis.xinfo_consumers(STREAM, GROUP)}
    assert removed == 1
    assert names == {"holder", alive_name}
    pending = await redis.xpending(STREAM, GROUP)
    assert pending["pending"] == 1
    await alive.release()

"""The per-IP rate limit's counts: read on the request's path, written behind it in batches;
on a real redis-server."""

from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from infra.group_read import GroupReader
from infra.rate_limit import SharedCounts, SharedHit
from tests.clock import ManualClock
from tests.redis_servers import commands_run, fill, make_room, running

LIMIT = 3
WINDOW = 60
A_MINUTE = 60.0  # an interval no test waits for: the hits stay unwritten until written by hand


async def hit(reader: GroupReader, counts: SharedCounts, scope: str) -> SharedHit:
    counted = counts.hit(scope, LIMIT, WINDOW)
    counted.take(await reader.read(counted.queue))
    return counted


async def stored(redis: Redis, counted: SharedHit) -> int:
    return int(await redis.get(counted.key) or 0)


async def test_hits_are_decided_on_the_stored_count_and_this_process_unwritten_ones(
    redis: Redis,
) -> None:
    counts, reader = SharedCounts(redis, write_every=A_MINUTE), GroupReader(redis)
    await redis.config_resetstat()
    try:
        allowed = [await hit(reader, counts, "ip:192.0.2.1") for _ in range(LIMIT)]
        over = await hit(reader, counts, "ip:192.0.2.1")

        assert [counted.retry_after for counted in allowed] == [None] * LIMIT
        assert over.retry_after is not None and 1 <= over.retry_after <= WINDOW + 1
        # Nothing written on the way: a request waits for no write, so for no fsync.
        assert await commands_run(redis, "incr") + await commands_run(redis, "incrby") == 0
        assert await stored(redis, over) == 0

        await counts.write()
        assert await stored(redis, over) == LIMIT + 1
        assert 0 < await redis.ttl(over.key) <= WINDOW + 1
        assert await commands_run(redis, "incrby") == 1
    finally:
        await counts.close()


async def test_hits_a_moment_after_a_read_are_decided_without_one_and_counted_exactly(
    redis: Redis,
) -> None:
    clock = ManualClock()
    counts, reader = SharedCounts(redis, write_every=A_MINUTE, clock=clock), GroupReader(redis)
    try:
        assert counts.known_hit("ip:192.0.2.7", LIMIT, WINDOW) is None  # never read: read it
        first = await hit(reader, counts, "ip:192.0.2.7")
        await redis.config_resetstat()
        clock.now += A_MINUTE - 0.001
        known = [counts.known_hit("ip:192.0.2.7", LIMIT, WINDOW) for _ in range(LIMIT)]

        assert first.retry_after is None
        assert [k.count if k else None for k in known] == [2, 3, 4]
        assert [k.retry_after is None if k else None for k in known] == [True, True, False]
        assert await commands_run(redis, "get") == 0
        clock.now += 0.001  # the count read is too old now
        assert counts.known_hit("ip:192.0.2.7", LIMIT, WINDOW) is None
        await counts.write()
        assert await stored(redis, first) == LIMIT + 1  # every hit written, once
    finally:
        await counts.close()


async def test_another_process_counts_the_hits_once_written(redis: Redis) -> None:
    reader = GroupReader(redis)
    one, another = SharedCounts(redis, write_every=A_MINUTE), SharedCounts(redis)
    try:
        for _ in range(LIMIT):
            assert (await hit(reader, one, "ip:192.0.2.2")).retry_after is None
        await one.write()

        assert (await hit(reader, another, "ip:192.0.2.2")).retry_after is not None
        assert (await hit(reader, another, "ip:192.0.2.3")).retry_after is None  # its own
    finally:
        await one.close()
        await another.close()


async def test_an_interval_of_hits_is_written_together_behind_the_requests(
    redis: Redis,
) -> None:
    counts, reader = SharedCounts(redis, write_every=0.05), GroupReader(redis)
    await redis.config_resetstat()
    scopes = [f"ip:198.51.100.{i}" for i in range(5)]
    hits = [await hit(reader, counts, scope) for scope in scopes for _ in range(2)]

    assert counts.writing is not None
    await counts.writing  # ends once nothing waits to be written

    assert [await stored(redis, counted) for counted in hits[::2]] == [2] * len(scopes)
    assert await commands_run(redis, "incrby") == len(scopes)  # one per scope, in one pipeline
    await counts.close()


async def test_hits_wait_while_redis_refuses_them_and_are_written_once_it_takes_them(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as server:
        redis = Redis.from_url(server.url)
        counts, reader = SharedCounts(redis, write_every=A_MINUTE), GroupReader(redis)
        try:
            await fill(redis)
            counted: Any = None
            for _ in range(2):
                counted = await hit(reader, counts, "ip:203.0.113.9")  # reads are answered
            await counts.write()  # refused: the server is full
            assert counts.unwritten(counted.key) == 2
            assert (await hit(reader, counts, "ip:203.0.113.9")).count == 3

            await make_room(redis)
            await counts.write()
            assert counts.unwritten(counted.key) == 0
            assert await stored(redis, counted) == 3
        finally:
            await counts.close()
            await redis.aclose()

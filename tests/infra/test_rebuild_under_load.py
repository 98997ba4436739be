"""A rebuild while the real pipeline keeps turning commands into events and readers keep reading.

Command consumers and the live projector run their own loops; a writer keeps sending commands;
a reader keeps listing and fetching brands through the same functions the API calls. The
rebuild must never make a view the reader saw before disappear, and afterwards the read models
must hold every event (`check` finds them consistent).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from redis.asyncio import Redis

from events.commands import CreateBrand, UpdateBrand
from infra.catalog_views import get_brand, list_brands
from infra.settings import Settings
from tests.infra.commerce_support import send
from worker.check import check
from worker.commands import CommandConsumer
from worker.consumer import StreamConsumer
from worker.deps import Deps
from worker.projector import Projector
from worker.projectors import PROJECTIONS, named
from worker.rebuild import rebuild

BEFORE = 40  # brands projected before the rebuild starts
MAX_DURING = 300  # the writer's bound
AFTER_SWITCH = 20  # commands the writer still sends once the rebuild is done
DEADLINE = 20.0


@contextlib.asynccontextmanager
async def running(*consumers: StreamConsumer) -> AsyncIterator[None]:
    for consumer in consumers:
        await consumer.prepare()
    tasks = [asyncio.create_task(consumer.run()) for consumer in consumers]
    try:
        yield
    finally:
        for consumer in consumers:
            consumer.stop()
        await asyncio.gather(*tasks)


async def every_brand(redis: Redis) -> dict[str, str]:
    """Brand id → name, through every page, as the API lists them."""
    found: dict[str, str] = {}
    cursor: str | None = None
    while True:
        page, cursor = await list_brands(redis, after=cursor, limit=100)
        found |= {brand.brand_id: brand.name for brand in page}
        if cursor is None:
            return found


async def until_listed(redis: Redis, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while len(await every_brand(redis)) < count:
        assert asyncio.get_running_loop().time() < deadline, "the pipeline did not catch up"
        await asyncio.sleep(0.02)


async def test_queries_keep_answering_during_a_rebuild_under_load_and_nothing_is_lost(
    redis: Redis, settings: Settings
) -> None:
    settings = replace(settings, read_count=8)

    def deps(name: str) -> Deps:
        return Deps(settings=settings, redis=redis, consumer=name)

    async def create(n: int) -> None:
        await send(
            redis, settings, CreateBrand(brand_id=f"b{n}", name=f"Brand {n}"), "ann", "admin"
        )

    pipeline = (CommandConsumer(deps("c1")), CommandConsumer(deps("c2")), Projector(deps("p1")))
    async with running(*pipeline):
        for n in range(BEFORE):
            await create(n)
        await until_listed(redis, BEFORE)

        rebuilt = asyncio.Event()
        sent = BEFORE

        async def writer() -> None:
            nonlocal sent
            after = 0
            while sent < BEFORE + MAX_DURING and after < AFTER_SWITCH:
                await create(sent)
                rename = UpdateBrand(brand_id=f"b{sent % BEFORE}", name=f"Renamed {sent}")
                await send(redis, settings, rename, "ann", "admin")
                sent += 1
                after += rebuilt.is_set()
                await asyncio.sleep(0)

        seen: set[str] = set()
        reads = 0

        async def reader() -> None:
            nonlocal reads
            while not (rebuilt.is_set() and writing.done()):
                listed = await every_brand(redis)
                missing = seen - set(listed)
                assert not missing, f"views that existed vanished: {sorted(missing)[:5]}"
                seen.update(listed)
                for brand_id in sorted(seen)[:: max(1, len(seen) // 10)]:
                    assert await get_brand(redis, brand_id) is not None, brand_id
                reads += 1
                await asyncio.sleep(0)

        writing = asyncio.create_task(writer())
        reading = asyncio.create_task(reader())
        report = await rebuild(redis, settings, named("catalog"), chunk=10)
        rebuilt.set()
        sent_by_the_switch = sent
        await asyncio.gather(writing, reading)

        await until_listed(redis, sent)
        checks = [await check(redis, settings, projection) for projection in PROJECTIONS]

    assert report.events >= BEFORE and reads > 1
    assert sent_by_the_switch > BEFORE  # the writer was busy while the rebuild ran
    assert report.exact  # the live projector held back for the switch: no race won
    assert [c.differences for c in checks] == [[]] * len(PROJECTIONS)
    listed = await every_brand(redis)
    assert set(listed) == {f"b{n}" for n in range(sent)}
    renamed = {f"b{n % BEFORE}": f"Renamed {n}" for n in range(BEFORE, sent)}
    assert {brand_id: listed[brand_id] for brand_id in renamed} == renamed

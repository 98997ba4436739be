"""6. Redis full mid-load: under `noeviction` it refuses every write until there is room again."""

import asyncio

from tests.chaos.cluster import Cluster
from tests.chaos.common import Sizes, checker, note, reached, settle, stopped
from tests.chaos.load import Tally, sign_up
from tests.chaos.scenarios import (
    OUTAGE_REFUSALS,
    OUTAGE_SECONDS,
    SETTLE_WITHIN,
    load_across_a_fault,
)
from tests.chaos.verify import Figures
from tests.redis_servers import fill, make_room

WORKERS = ("worker-1", "worker-2")
FULL_MEGABYTES = 4  # of ballast: the limit goes 2 MB under what the server holds


async def redis_full(cluster: Cluster, sizes: Sizes) -> Figures:
    await cluster.start(workers=len(WORKERS))
    users = await sign_up(cluster, sizes.users)
    tally = Tally()
    going = tally.when(lambda t: t.answers["202"] >= sizes.redis_load // 3)
    refusing = tally.when(lambda t: t.answers["503"] >= OUTAGE_REFUSALS)
    load = load_across_a_fault(cluster, users, sizes, tally, "full")
    try:
        await reached(going, 60, "the load never got going")
        async with checker(cluster) as redis:
            await fill(redis, FULL_MEGABYTES)
            accepted_before = len(tally.accepted)
            # Full long enough for every process to run into it: a chosen duration.
            await asyncio.sleep(OUTAGE_SECONDS)
            await reached(refusing, 30, "the gateway never refused a request with Redis full")
            await make_room(redis)
        note(f"Redis full after {accepted_before} acceptances, for {OUTAGE_SECONDS:.0f}s or more")
        await load
    finally:
        await stopped(load)
    figures = await settle(cluster, tally, users, within=SETTLE_WITHIN)
    note(f"answers: {dict(sorted(tally.answers.items()))}")
    figures.check(tally.answers["503"] > 0, "no 503 while Redis was full")
    figures.check(tally.answers["500"] == 0, "a 500 while Redis was full")
    dead = [name for name in WORKERS if not cluster.alive(name)]
    figures.check(not dead, f"died while Redis was full: {dead}")
    figures.check(figures.succeeded == figures.accepted, "every rename should have succeeded")
    return figures

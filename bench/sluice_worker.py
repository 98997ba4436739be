"""One Sluice worker process draining pre-appended commands.

`python -m bench.sluice_worker URL PARTITIONS DEADLINE [CONSUMER]`: several may drain at once.

It builds the worker's `Deps` and command lanes as `worker.main` does, on the same event loop
(without arq: a failed command is dead-lettered, not retried later, which the parent's checks
would catch), then drains the streams as the worker's loop does (`StreamConsumer.drain`, every
lane at once: each batch decided while the one before commits) until every lane's read comes
back empty. Elapsed runs from the first read to the end of the last batch's commit.
"""

import asyncio
import logging
import sys
import time

import uvloop

from bench.common import Timing, report
from infra.gc_settings import tune_after_startup
from infra.redis import connect
from infra.settings import Settings
from worker.commands import command_lanes
from worker.deps import Deps


async def drain(url: str, partitions: int, deadline: float, name: str) -> Timing:
    settings = Settings(redis_url=url, partitions=partitions)
    redis = connect(settings, socket_timeout=None)  # as the worker: batches are bounded whole
    try:
        lanes = command_lanes(Deps(settings=settings, redis=redis, consumer=name))
        for lane in lanes:
            await lane.prepare()
        tune_after_startup()  # as `worker.main` does once started
        wall_started = time.time()
        cpu_started = time.process_time()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(deadline):
                drained = await asyncio.gather(*(lane.drain() for lane in lanes))
        except TimeoutError:
            raise SystemExit(f"not drained after {deadline:.0f} s") from None
        finished = time.perf_counter()
        cpu_us = int((time.process_time() - cpu_started) * 1e6)  # this process's, while draining
        processed = sum(lane.entries for lane in drained)
        batches = sum(lane.batches for lane in drained)
        # Wall-clock bounds too, so that the parent can time several workers as one.
        wall_finished = wall_started + (finished - started)
        bounds = {"started_us": int(wall_started * 1e6), "finished_us": int(wall_finished * 1e6)}
        detail = {"batches": batches, "cpu_us": cpu_us, **bounds}
        return Timing(processed, finished - started, detail)
    finally:
        await redis.aclose()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)  # the worker logs failures only
    url, partitions, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    name = sys.argv[4] if len(sys.argv) > 4 else "bench-worker-1"
    report(uvloop.run(drain(url, partitions, deadline, name)))  # the worker's loop


if __name__ == "__main__":
    main()

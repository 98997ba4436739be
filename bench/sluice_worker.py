"""One Sluice worker process draining pre-appended commands.

`python -m bench.sluice_worker URL PARTITIONS DEADLINE [CONSUMER]`: several may drain at once.

It builds the worker's `Deps` and `CommandConsumer` as `worker.main` does (without arq: a failed
command is dead-lettered, not retried later, which the parent's checks would catch), then calls
`_read_once(">", block=False)` until a read comes back empty. Elapsed runs from the first read
to the end of the last batch's commit pipeline.
"""

import asyncio
import logging
import sys
import time

from bench.common import Timing, report
from infra.redis import connect
from infra.settings import Settings
from worker.commands import CommandConsumer
from worker.deps import Deps


async def drain(url: str, partitions: int, deadline: float, name: str) -> Timing:
    settings = Settings(redis_url=url, partitions=partitions)
    redis = connect(settings, socket_timeout=None)  # as the worker: batches are bounded whole
    try:
        consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer=name))
        await consumer.prepare()
        processed = batches = 0
        wall_started = time.time()
        started = time.perf_counter()
        finished = started
        while True:
            n = await consumer._read_once(">", block=False)
            if n == 0:
                break
            finished = time.perf_counter()
            processed += n
            batches += 1
            if finished - started > deadline:
                raise SystemExit(f"not drained after {deadline:.0f} s ({processed} processed)")
        # Wall-clock bounds too, so that the parent can time several workers as one.
        wall_finished = wall_started + (finished - started)
        bounds = {"started_us": int(wall_started * 1e6), "finished_us": int(wall_finished * 1e6)}
        return Timing(processed, finished - started, {"batches": batches, **bounds})
    finally:
        await redis.aclose()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)  # the worker logs failures only
    url, partitions, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    name = sys.argv[4] if len(sys.argv) > 4 else "bench-worker-1"
    report(asyncio.run(drain(url, partitions, deadline, name)))


if __name__ == "__main__":
    main()

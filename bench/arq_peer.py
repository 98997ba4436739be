"""The arq peer: one worker process drains the queued no-op jobs in burst mode.

`python -m bench.arq_peer HOST PORT`, with `poll_delay=0.01` and `max_jobs=100`.
"""

import sys
import time
from typing import Any

import uvloop
from arq.connections import RedisSettings
from arq.worker import Worker, func

from bench.common import Timing, report


async def noop(ctx: dict[str, Any], body: str) -> None:
    return None


async def drain(host: str, port: int) -> "tuple[int, float, int]":
    worker = Worker(
        functions=[func(noop, name="noop")],
        redis_settings=RedisSettings(host=host, port=port),
        burst=True,
        poll_delay=0.01,
        max_jobs=100,
        handle_signals=False,
    )
    try:
        started = time.perf_counter()
        await worker.main()  # burst: returns once the queue is empty
        elapsed = time.perf_counter() - started
    finally:
        await worker.close()
    return worker.jobs_complete, elapsed, worker.jobs_failed


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    complete, elapsed, failed = uvloop.run(drain(host, port))
    report(Timing(complete, elapsed, {"failed": failed}))


if __name__ == "__main__":
    main()

"""`python -m worker`: the worker process, arq hosting Sluice's stream consumers."""

import asyncio
from typing import Any

import uvloop
from arq.worker import get_kwargs

from infra import logs
from infra.partition_count import PartitionCountMismatch
from worker.host import SluiceWorker
from worker.main import WorkerSettings


def main() -> None:
    logs.configure("worker")  # arq's loggers included, before arq logs its first line
    # The loop uvicorn runs the web processes on: most of a worker's time between batches goes
    # to socket round trips with Redis, which uvloop makes cheaper than asyncio's own loop.
    # arq runs on the loop set here.
    asyncio.set_event_loop(uvloop.new_event_loop())
    # arq types these settings loosely (its own CLI does the same call).
    settings: Any = get_kwargs(WorkerSettings)  # type: ignore[arg-type]
    try:
        SluiceWorker(**settings).run()
    except PartitionCountMismatch as error:  # logged already: exit with the reason, no trace
        raise SystemExit(f"sluice worker: {error}") from None


if __name__ == "__main__":
    main()

"""The FastStream peer: one process drains a stream through a Redis Streams subscriber.

`python -m bench.faststream_peer URL STREAM N`: FastStream's own consumer-group subscriber
(XREADGROUP, one handler call per message, acknowledged after the handler returns), a no-op
handler. Times from the broker's start to the N-th message handled and acknowledged.
"""

import asyncio
import sys
import time
from typing import Any

import uvloop
from faststream.redis import RedisBroker, StreamSub

from bench.common import CHILD_TIMEOUT_SECONDS, CONSUMER_GROUP, READ_COUNT, Timing, report


async def drain(url: str, stream: str, n: int) -> Timing:
    broker = RedisBroker(url, logger=None)
    handled = 0
    done = asyncio.Event()

    @broker.subscriber(  # type: ignore[untyped-decorator]  # FastStream is typed as Any here
        stream=StreamSub(stream, group=CONSUMER_GROUP, consumer="peer", max_records=READ_COUNT)
    )
    async def noop(body: Any) -> None:
        nonlocal handled
        handled += 1
        if handled == n:
            done.set()

    started = time.perf_counter()
    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), CHILD_TIMEOUT_SECONDS - 30)
        elapsed = time.perf_counter() - started
    finally:
        await broker.stop()  # after the last handler: its acknowledgement is sent
    return Timing(handled, elapsed, {})


def main() -> None:
    url, stream, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    report(uvloop.run(drain(url, stream, n)))


if __name__ == "__main__":
    main()

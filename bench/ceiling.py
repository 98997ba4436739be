"""Raw ceilings, no Sluice code: one redis-py asyncio client (hiredis) draining one stream.

`python -m bench.ceiling URL STREAM transport|commit`

- transport: each round trip is one pipeline of [XACK of the previous batch, XREADGROUP COUNT 100].
- commit: the same, but each message of the previous batch is settled by one minimal Lua script
  (XADD an event, SET a done key, XACK), queued as EVALSHA in that pipeline.
"""

import sys
import time
from typing import Any

import uvloop
from redis.asyncio import Redis

from bench.common import CONSUMER_GROUP, READ_COUNT, Timing, report

COMMIT_LUA = """
redis.call('XADD', KEYS[2], '*', 'e', ARGV[3])
redis.call('SET', KEYS[3], '1')
return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
"""


def events_stream(stream: str) -> str:
    return f"{stream}:events"


def done_key(stream: str, entry_id: bytes) -> str:
    return f"{stream}:done:{entry_id.decode()}"


async def drain(url: str, stream: str, mode: str) -> Timing:
    redis: Redis = Redis.from_url(url)
    try:
        sha: str = await redis.script_load(COMMIT_LUA)
        events = events_stream(stream)
        held: list[tuple[bytes, bytes]] = []  # (entry id, payload) read but not yet settled
        processed = 0
        started = time.perf_counter()
        while True:
            async with redis.pipeline(transaction=False) as pipe:
                if mode == "transport":
                    if held:
                        pipe.xack(stream, CONSUMER_GROUP, *(entry_id for entry_id, _ in held))
                else:
                    for entry_id, body in held:
                        call: list[Any] = [stream, events, done_key(stream, entry_id)]
                        call += [CONSUMER_GROUP, entry_id, body]  # bytes go as they are
                        pipe.evalsha(sha, 3, *call)
                pipe.xreadgroup(CONSUMER_GROUP, "c1", {stream: ">"}, count=READ_COUNT)
                replies: list[Any] = await pipe.execute()
            processed += len(held)
            held = [
                (entry_id, fields[b"e"])
                for _, entries in replies[-1] or []
                for entry_id, fields in entries
            ]
            if not held:
                break
        elapsed = time.perf_counter() - started
        return Timing(processed, elapsed, {})
    finally:
        await redis.aclose()


def main() -> None:
    url, stream, mode = sys.argv[1:4]
    if mode not in ("transport", "commit"):
        raise SystemExit(f"unknown mode {mode!r}")
    report(uvloop.run(drain(url, stream, mode)))


if __name__ == "__main__":
    main()

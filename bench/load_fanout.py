"""The fan-out load generator: S WebSocket subscribers, M events appended, every receipt timed.

`python -m bench.load_fanout WS_URL TOKEN S M REDIS_URL STREAM`

It opens S connections (welcome, auth, subscribe `admin:events`), then appends M event records
to STREAM as the worker's commit would, 50 per pipeline, each stamped with the time it was
queued. Every connection must receive every event exactly once. Reports deliveries per second
(from the first append to the last receipt) and the p50/p99 append-to-receipt latency in µs.
"""

import asyncio
import sys
import time
import uuid

import msgspec
import orjson
import uvloop
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from bench.common import CHILD_TIMEOUT_SECONDS, Timing, report
from events.codec import encoder
from events.envelope import EventRecord

ORIGIN = "http://localhost"
CONNECTING_AT_ONCE = 50
PER_PIPELINE = 50
PAD = 150  # display name padding: ~200-byte frames


def record(i: int, user_id: str) -> bytes:
    stamp = f"{time.time_ns()}:{i}:"
    data = {"user_id": user_id, "display_name": stamp + "x" * (PAD - len(stamp))}
    return encoder.encode(
        EventRecord(
            event="DisplayNameChanged",
            version=1,
            data=msgspec.Raw(encoder.encode(data)),
            aggregate_id=f"user:{user_id}",
            aggregate_version=i + 1,
            command_id=str(uuid.uuid4()),
            correlation_id=str(uuid.uuid4()),
            causation_id=None,
            actor=None,
            occurred_at=int(time.time() * 1000),
        )
    )


async def subscribe(url: str, token: str, gate: asyncio.Semaphore) -> ClientConnection:
    async with gate:
        ws = await connect(url, origin=ORIGIN, compression=None, max_size=2**20)  # type: ignore[arg-type]
        assert orjson.loads(await ws.recv())["type"] == "welcome"
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        answer = orjson.loads(await ws.recv())
        if answer["type"] != "authenticated":
            raise SystemExit(f"not authenticated: {answer}")
        await ws.send(orjson.dumps({"type": "subscribe", "topic": "admin:events"}).decode())
        answer = orjson.loads(await ws.recv())
        if answer["type"] != "subscribed":
            raise SystemExit(f"not subscribed: {answer}")
        return ws


async def receive(ws: ClientConnection, m: int, latencies: list[int]) -> int:
    """Every event frame's latency in µs; the time of the last receipt (ns)."""
    seen: set[int] = set()
    last = 0
    while len(seen) < m:
        frame = orjson.loads(await ws.recv())
        if frame.get("type") != "event":
            continue
        now = time.time_ns()
        sent, i, _ = frame["data"]["display_name"].split(":", 2)
        if int(i) in seen:
            raise SystemExit(f"event {i} received twice on one connection")
        seen.add(int(i))
        latencies.append((now - int(sent)) // 1000)
        last = now
    return last


async def run(url: str, token: str, s: int, m: int, redis_url: str, stream: str) -> Timing:
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
    sockets = await asyncio.gather(*(subscribe(url, token, gate) for _ in range(s)))
    latencies: list[int] = []
    receivers = [asyncio.create_task(receive(ws, m, latencies)) for ws in sockets]
    redis = Redis.from_url(redis_url)
    user_id = str(uuid.uuid4())
    try:
        first = time.time_ns()
        for start in range(0, m, PER_PIPELINE):
            async with redis.pipeline(transaction=False) as pipe:
                for i in range(start, min(m, start + PER_PIPELINE)):
                    pipe.xadd(stream, {"e": record(i, user_id)})
                await pipe.execute()
        done = await asyncio.wait_for(asyncio.gather(*receivers), CHILD_TIMEOUT_SECONDS - 60)
    finally:
        await redis.aclose()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies.sort()
    elapsed = (max(done) - first) / 1e9
    detail = {
        "p50_us": latencies[len(latencies) // 2],
        "p99_us": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }
    return Timing(len(latencies), elapsed, detail)


def main() -> None:
    url, token, s, m, redis_url, stream = sys.argv[1:7]
    report(uvloop.run(run(url, token, int(s), int(m), redis_url, stream)))


if __name__ == "__main__":
    main()

"""A bare Starlette relay: the least a WebSocket fan-out of one Redis stream can do.

`uvicorn bench.bare_relay:create_app --factory`, env BENCH_REDIS_URL and BENCH_STREAM. One task
reads the stream (XREAD BLOCK, 100 at a time) and hands each entry's frame to every connection's
queue; one sender task per connection writes it. It speaks just enough of Sluice's handshake
(welcome, auth, subscribe) for the same load generator to drive both; it checks nothing.
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

QUEUE = 1024


class Hub:
    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[str]] = set()

    async def read(self, redis: Redis, stream: str) -> None:
        last = "$"
        while True:
            found: list[Any] = await redis.xread({stream: last}, count=100, block=1000)
            for _, entries in found:
                for entry_id, fields in entries:
                    last = entry_id
                    record = orjson.loads(fields[b"e"])
                    frame = orjson.dumps(
                        {
                            "type": "event",
                            "topic": "admin:events",
                            "event": record["event"],
                            "data": record["data"],
                            "position": entry_id.decode(),
                        }
                    ).decode()
                    for queue in self.queues:
                        if queue.qsize() < QUEUE:
                            queue.put_nowait(frame)


def create_app() -> Starlette:
    hub = Hub()

    async def websocket(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text('{"type": "welcome", "reply_to": "bare"}')
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def send() -> None:
            while True:
                await ws.send_text(await queue.get())

        sender = asyncio.create_task(send())
        try:
            while True:
                message = orjson.loads(await ws.receive_text())
                if message.get("type") == "auth":
                    await ws.send_text('{"type": "authenticated", "user_id": "bare"}')
                elif message.get("type") == "subscribe":
                    hub.queues.add(queue)
                    answer = {"type": "subscribed", "topic": message.get("topic")}
                    await ws.send_text(orjson.dumps(answer).decode())
        except WebSocketDisconnect:
            pass
        finally:
            hub.queues.discard(queue)
            sender.cancel()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = Redis.from_url(os.environ["BENCH_REDIS_URL"])
        reader = asyncio.create_task(hub.read(redis, os.environ["BENCH_STREAM"]))
        try:
            yield
        finally:
            reader.cancel()
            await redis.aclose()

    return Starlette(routes=[WebSocketRoute("/ws", websocket)], lifespan=lifespan)

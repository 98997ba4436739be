"""The least a gateway can do, to measure Sluice's beside: parse the JSON body, XADD it, 202.

`BENCH_REDIS_URL=... [BENCH_COALESCE=1] uvicorn bench.bare_gateway:create_app --factory ...`

One Starlette route, `POST /command`: the body is decoded with msgspec (400 if it is not an
object with a string `command`) and appended as it is to the stream `bench:gateway`. With
`BENCH_COALESCE=1` the XADDs of concurrent requests share one pipeline (one round trip, one
fsync under `appendfsync always`): while one pipeline is in flight the next requests queue, and
the next pipeline takes them all. No authentication, no envelope, no script, no idempotency.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

STREAM = "bench:gateway"
ACCEPTED = b'{"ok":true,"status":"accepted"}'
MALFORMED = b'{"ok":false,"error":{"code":"malformed_json","message":"send a command object"}}'


class Body(msgspec.Struct):
    """What the bare gateway checks of a command: an object with a string `command`."""

    command: str
    payload: dict[str, Any] = {}


DECODER = msgspec.json.Decoder(Body)


class Coalescer:
    """Queues XADDs; one flusher sends everything queued as one pipeline, then the next."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.queue: list[tuple[bytes, asyncio.Future[None]]] = []
        self.flusher: asyncio.Task[None] | None = None

    async def append(self, body: bytes) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.append((body, future))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self.drain())
        await future

    async def drain(self) -> None:
        while self.queue:
            batch, self.queue = self.queue, []
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for body, _ in batch:
                        pipe.xadd(STREAM, {"e": body})
                    await pipe.execute()
            except Exception as error:
                for _, future in batch:
                    if not future.done():  # a cancelled caller's future is done already
                        future.set_exception(error)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)


def create_app() -> Starlette:
    redis: Redis = Redis.from_url(os.environ["BENCH_REDIS_URL"])
    coalescer = Coalescer(redis) if os.environ.get("BENCH_COALESCE") == "1" else None

    async def post_command(request: Request) -> Response:
        body = await request.body()
        try:
            DECODER.decode(body)
        except msgspec.DecodeError:
            return Response(MALFORMED, 400, media_type="application/json")
        if coalescer is not None:
            await coalescer.append(body)
        else:
            await redis.xadd(STREAM, {"e": body})
        return Response(ACCEPTED, 202, media_type="application/json")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()

    return Starlette(routes=[Route("/command", post_command, methods=["POST"])], lifespan=lifespan)

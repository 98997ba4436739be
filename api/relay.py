"""The relay process: WebSocket `/ws` pushing results and events, plus health and `/metrics`.

Run as `uvicorn api.relay:create_app --factory --ws-max-size 65536`: uvicorn enforces the
frame size limit (closing with 1009), which an ASGI app cannot.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from api.metrics import metrics_route
from api.relay_endpoint import serve
from api.relay_hub import Hub
from api.relay_reader import Reader
from infra import logs, partition_count
from infra.errors import translated
from infra.gc_settings import tune_after_startup
from infra.group_read import GroupReader
from infra.redis import connect
from infra.settings import Settings, settings_or_exit

log = logging.getLogger("sluice.relay")


class Relay:
    """What one relay process holds: routing tables, a Redis client, and the reader task."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hub = Hub(
            partitions=settings.partitions,
            send_queue=settings.ws_send_queue,
            max_per_ip=settings.ws_max_per_ip,
            max_per_user=settings.ws_max_per_user,
        )
        self._redis: Redis | None = None
        self._lookups: GroupReader | None = None  # concurrent auth frames' reads, coalesced

    @property
    def redis(self) -> "Redis":
        assert self._redis is not None, "used outside the app's lifespan"
        return self._redis

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._redis = connect(self.settings)
        try:
            await partition_count.check_at_start(self._redis, self.settings.partitions, log)
        except partition_count.PartitionCountMismatch:
            await self._redis.aclose()
            raise
        self._lookups = GroupReader(self._redis)
        reader = Reader(self.settings, self.hub)
        await reader.start()
        tune_after_startup()
        try:
            yield
        finally:
            await reader.stop()
            await self._redis.aclose()

    async def websocket(self, ws: WebSocket) -> None:
        await serve(ws, self.hub, self.redis, self.settings, self._lookups)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def ready(self, request: Request) -> Response:
        try:
            async with translated():
                await self.redis.ping()
        except Exception:  # whatever the cause, the answer is "not ready"
            error = {"code": "unavailable", "message": "Redis is unreachable"}
            return JSONResponse({"ok": False, "error": error}, status_code=503)
        return JSONResponse({"ok": True})


def create_app(settings: Settings | None = None) -> Starlette:
    logs.configure("relay")  # while uvicorn's factory runs: its start-up lines too
    relay = Relay(settings or settings_or_exit("relay"))
    app = Starlette(
        routes=[
            Route("/health", relay.health),
            Route("/ready", relay.ready),
            metrics_route(relay.settings, "relay"),
            WebSocketRoute("/ws", relay.websocket),
        ],
        lifespan=relay.lifespan,
    )
    app.state.relay = relay
    return app

"""`GET /metrics`: this process's Prometheus metrics in the text exposition format.

Open by default, like most Prometheus targets: operators keep it off the public internet (a
proxy that does not forward `/metrics`, or a firewall). With `SLUICE_METRICS_TOKEN` set, it
answers only to `Authorization: Bearer <token>`.
"""

import hmac
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http import ApiError
from api.state import state_of
from infra.errors import Unavailable
from infra.metrics import LAG, registry_of
from infra.settings import Settings
from infra.stream_stats import stream_stats

# Runs before each scrape, e.g. to measure consumer lag now rather than report an old figure.
Refresh = Callable[[Request], Awaitable[None]]


def metrics_route(settings: Settings, process: str, refresh: Refresh | None = None) -> Route:
    """`process`'s own metrics (`infra.metrics.registry_of`)."""
    registry = registry_of(process)
    expected = f"Bearer {settings.metrics_token}".encode() if settings.metrics_token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                # Answered here, not raised: the relay app has no API error handlers.
                return ApiError(
                    401,
                    "unauthenticated",
                    "send Authorization: Bearer <SLUICE_METRICS_TOKEN>",
                    headers={"WWW-Authenticate": "Bearer"},
                ).response()
        if refresh is not None:
            await refresh(request)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])


async def measure_at_scrape(request: Request) -> None:
    """Admin's refresh: consumer lag and the server's durability read from Redis at scrape
    time, the freshest figures."""
    state = state_of(request)
    try:
        report = await stream_stats(state.redis, state.settings)
    except Unavailable:
        report = None  # the scrape still answers, without lag, rather than fail whole
    LAG.record(report)
    await state.durability.check(state.redis)

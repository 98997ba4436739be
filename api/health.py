"""`/health` (the process is alive) and `/ready` (it can reach Redis), on every app."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http import ApiError, ok
from api.state import state_of
from infra.errors import translated


async def health(request: Request) -> Response:
    return ok()


async def ready(request: Request) -> Response:
    try:
        async with translated():
            await state_of(request).redis.ping()
    except Exception:
        return ApiError(503, "unavailable", "Redis is unreachable").response()
    return ok()


ROUTES = [Route("/health", health), Route("/ready", ready)]

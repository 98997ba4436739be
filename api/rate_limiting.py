"""The public rate limit per client IP, as ASGI middleware in front of every route but health."""

from starlette.types import ASGIApp, Receive, Scope, Send

from api.http import ApiError
from infra import rate_limit
from infra.errors import Unavailable
from infra.settings import Settings

EXEMPT = frozenset({"/health", "/ready"})


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.rate_limit_per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit == 0 or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        try:
            state = scope["app"].state.sluice
            retry_after = await rate_limit.hit(
                state.redis, f"ip:{ip}", self.limit, 60, state.reader
            )
        except Unavailable:
            retry_after = None  # the route itself answers 503 if it needs Redis
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        error = ApiError(
            429,
            "rate_limited",
            f"over {self.limit} requests per minute",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )
        await error.response()(scope, receive, send)

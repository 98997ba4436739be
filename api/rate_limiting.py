"""The public rate limit per client IP, as ASGI middleware in front of every route but health."""

from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import SESSION_LOOKUP, token_of
from api.http import ApiError
from api.state import AppState
from infra.errors import Unavailable
from infra.principals import SessionLookup
from infra.settings import Settings

EXEMPT = frozenset({"/health", "/ready"})


def _session_lookup(scope: Scope) -> SessionLookup | None:
    """The lookup of the request's Bearer token, if it carries a well-formed one (a malformed
    one is the route's to refuse)."""
    try:
        token = token_of(Headers(scope=scope).get("authorization"))
    except ApiError:
        return None
    return SessionLookup(token) if token is not None else None


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
        sluice: AppState = scope["app"].state.sluice
        scope_key = f"ip:{ip}"
        lookup = _session_lookup(scope)
        # A count read a moment ago, and over the limit or with a caller kept: nothing to read.
        known = sluice.counts.known_hit(scope_key, self.limit, 60)
        if known is not None and (
            known.retry_after is not None
            or lookup is None
            or sluice.sessions.get(lookup.hash) is not None
        ):
            await self._answer(known.retry_after, scope, receive, send)
            return
        # Read, not written, on the request's path (`infra.rate_limit.SharedCounts`).
        counted = sluice.counts.hit(scope_key, self.limit, 60) if known is None else None
        size = counted.size if counted is not None else 0
        mark = sluice.sessions.mark()

        def queue(pipe: Any) -> None:
            if counted is not None:
                counted.queue(pipe)
            # The caller's session rides in the same read: the route finds it read already.
            if lookup is not None:
                lookup.queue(pipe)

        retry_after: int | None = None  # a count known here is under the limit (see above)
        try:
            replies = await sluice.reader.read(queue)
        except Unavailable:
            pass  # the route itself answers 503 if it needs Redis
        else:
            if counted is not None:
                counted.take(replies[:size])
                retry_after = counted.retry_after
            if lookup is not None:
                lookup.take(replies[size:])
                scope.setdefault("state", {})[SESSION_LOOKUP] = (lookup, mark)
        await self._answer(retry_after, scope, receive, send)

    async def _answer(
        self, retry_after: int | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
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

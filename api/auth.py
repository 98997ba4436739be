"""Who is calling: the session behind a Bearer token, and the roles of its user."""

from dataclasses import dataclass

from starlette.requests import Request

from api.http import ApiError
from api.state import state_of
from infra.identity import ADMIN_ROLES
from infra.principals import SessionLookup, find_principal
from infra.tokens import token_hash

MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: frozenset[str]
    token: str

    @property
    def is_admin(self) -> bool:
        return bool(self.roles & ADMIN_ROLES)


# Where the rate limit leaves the caller's session, read in the same round trip as its count,
# with the session cache's mark taken before that read: (SessionLookup, mark).
SESSION_LOOKUP = "sluice.session_lookup"


def bearer_token(request: Request) -> str | None:
    return token_of(request.headers.get("authorization"))


def token_of(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer` header; None without one; 401 if malformed."""
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise ApiError(401, "unauthenticated", "use Authorization: Bearer <session token>")
    return token


async def authenticate(request: Request) -> Principal | None:
    """The caller, None when no token was sent; a token that is not valid is refused."""
    token = bearer_token(request)
    if token is None:
        return None
    state = state_of(request)
    hashed = token_hash(token)
    found = state.sessions.get(hashed)
    if found is None:
        read: tuple[SessionLookup, int] | None = request.scope.get("state", {}).get(SESSION_LOOKUP)
        if read is not None and read[0].token == token and read[0].replies is not None:
            lookup, mark = read
            found = await lookup.principal(state.redis)
        else:
            mark = state.sessions.mark()
            found = await find_principal(state.redis, token, state.reader)
        if found is not None:
            state.sessions.keep(hashed, found, mark)
    if found is None:
        raise ApiError(401, "unauthenticated", "the session is unknown or has expired")
    session, held = found
    roles = frozenset(held)
    return Principal(user_id=session.user_id, roles=roles, token=token)


async def require_user(request: Request) -> Principal:
    principal = await authenticate(request)
    if principal is None:
        raise ApiError(401, "unauthenticated", "this needs a session: log in first")
    return principal


async def require_admin(request: Request) -> Principal:
    principal = await require_user(request)
    if not principal.is_admin:
        raise ApiError(403, "forbidden", "this needs an admin role")
    return principal

"""Sign-in routes: `POST /auth/login`, `POST /auth/logout`, `GET /users/me`."""

import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import bearer_token, require_user
from api.http import ApiError, invalid_payload, ok, read_json_body
from api.state import state_of
from events.commands import RecordLogin
from events.requests import LoginRequest
from infra import rate_limit
from infra.command_log import envelope_for
from infra.identity import normalise_email
from infra.read_models import find_credentials, get_user
from infra.sessions import close_session, open_session
from infra.tokens import token_hash

ACCOUNT_WINDOW_SECONDS = 15 * 60


async def login(request: Request) -> Response:
    state = state_of(request)
    settings = state.settings
    _, doc = await read_json_body(request, settings.max_body_bytes)
    try:
        credentials = msgspec.convert(doc, LoginRequest)
    except msgspec.ValidationError as error:
        raise invalid_payload(error) from None
    email = normalise_email(credentials.email)
    client_ip = request.client.host if request.client else "unknown"
    account_scope = f"login-account:{email}"
    _refuse(
        await rate_limit.hit(
            state.redis, f"login-ip:{client_ip}", settings.login_attempts_per_ip, 60
        )
    )
    _refuse(
        await rate_limit.peek(
            state.redis, account_scope, settings.login_attempts_per_account, ACCOUNT_WINDOW_SECONDS
        )
    )

    found = await find_credentials(state.redis, email)
    user_id, stored_hash = found if found else (None, None)
    # An unknown email is verified against a decoy hash: both failures cost the same time.
    if not await state.passwords.verify(stored_hash, credentials.password) or user_id is None:
        await rate_limit.hit(
            state.redis, account_scope, settings.login_attempts_per_account, ACCOUNT_WINDOW_SECONDS
        )
        raise ApiError(401, "invalid_credentials", "the email or the password is wrong")

    token, session = await open_session(state.redis, user_id, settings.session_ttl_seconds)
    command = RecordLogin(user_id=user_id, session_id=session.session_id)
    await state.committer.submit(
        envelope_for(
            settings=settings, command=command, aggregate_id=f"user:{user_id}", actor=user_id
        )
    )
    expires_at = datetime.datetime.fromtimestamp(session.expires_at, datetime.UTC)
    return ok(token=token, user_id=user_id, expires_at=expires_at.isoformat())


def _refuse(retry_after: int | None) -> None:
    if retry_after is not None:
        raise ApiError(
            429,
            "rate_limited",
            "too many login attempts; wait before trying again",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


async def logout(request: Request) -> Response:
    state = state_of(request)
    token = bearer_token(request)
    if token is None or not await close_session(state.redis, token):
        raise ApiError(401, "unauthenticated", "no such session")
    state.sessions.drop_session(token_hash(token))  # here at once; elsewhere as it reads the stream
    return ok()


async def me(request: Request) -> Response:
    state = state_of(request)
    principal = await require_user(request)
    user = await get_user(state.redis, principal.user_id)
    if user is None:
        raise ApiError(404, "not_found", "the user is not known yet")
    if frozenset(user.roles) != principal.roles:
        # Roles newer than those kept for the caller: their next request reads them, whether
        # or not the revocations stream has told this process yet.
        state.sessions.drop_user(principal.user_id)
    return ok(user=msgspec.to_builtins(user))


ROUTES = [
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/users/me", me, methods=["GET"]),
]

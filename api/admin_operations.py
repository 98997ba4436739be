"""The admin API's operator routes: dead letters (list, show, redrive, purge) and stream stats."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import require_admin
from api.http import ApiError, ok
from api.state import state_of
from infra import operations

log = logging.getLogger("sluice.api.admin")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@contextmanager
def _answered() -> Iterator[None]:
    try:
        yield
    except operations.DeadLetterNotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    except operations.NotRedrivable as error:
        raise ApiError(409, "not_redrivable", f"{error}; it can only be purged") from None


async def list_dead_letters(request: Request) -> Response:
    await require_admin(request)
    state = state_of(request)
    listing = await operations.list_dead_letters(state.redis, state.settings, _limit(request))
    return ok(**listing.to_json())


async def show_dead_letter(request: Request) -> Response:
    await require_admin(request)
    state = state_of(request)
    with _answered():
        detail = await operations.show_dead_letter(
            state.redis, state.settings, request.path_params["ref"]
        )
    return ok(dead_letter=detail.to_json())


async def redrive_one(request: Request) -> Response:
    admin = await require_admin(request)
    state = state_of(request)
    ref = request.path_params["ref"]
    with _answered():
        done = await operations.redrive(state.redis, state.settings, ref)
    log.info("admin %s redrove dead letter %s: %s", admin.user_id, ref, done.outcome)
    return ok(**done.to_json())


async def redrive_all(request: Request) -> Response:
    admin = await require_admin(request)
    state = state_of(request)
    summary = await operations.redrive_all(state.redis, state.settings)
    log.info("admin %s redrove every dead letter: %s", admin.user_id, summary.to_json())
    return ok(**summary.to_json())


async def purge_all(request: Request) -> Response:
    admin = await require_admin(request)
    state = state_of(request)
    deleted = await operations.purge(state.redis, state.settings)
    log.warning("admin %s purged %d dead letters", admin.user_id, deleted)
    return ok(deleted=deleted)


async def purge_one(request: Request) -> Response:
    admin = await require_admin(request)
    state = state_of(request)
    ref = request.path_params["ref"]
    with _answered():
        deleted = await operations.purge(state.redis, state.settings, ref)
    log.warning("admin %s purged dead letter %s", admin.user_id, ref)
    return ok(deleted=deleted)


async def streams(request: Request) -> Response:
    await require_admin(request)
    state = state_of(request)
    report = await operations.stream_stats(state.redis, state.settings)
    return ok(**report.to_json())


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(
            422,
            "invalid_query",
            f"limit must be an integer from 1 to {MAX_LIMIT}",
            path="$.query.limit",
        )
    return int(raw)


ROUTES = [
    Route("/dlq", list_dead_letters, methods=["GET"]),
    Route("/dlq", purge_all, methods=["DELETE"]),
    Route("/dlq/redrive", redrive_all, methods=["POST"]),
    Route("/dlq/{ref}", show_dead_letter, methods=["GET"]),
    Route("/dlq/{ref}", purge_one, methods=["DELETE"]),
    Route("/dlq/{ref}/redrive", redrive_one, methods=["POST"]),
    Route("/streams", streams, methods=["GET"]),
]

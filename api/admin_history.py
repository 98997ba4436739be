"""The admin API's time travel: an aggregate's history and past states, and command traces."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import require_admin
from api.http import ApiError, ok
from api.queries import Query, not_found, parse_query, path_id
from api.state import state_of
from infra import aggregate_history as history
from infra.trace import CommandNotFound, trace

DEFAULT_PAGE = 100
MAX_COMMAND_ID = 64


class AggregateQuery(Query, frozen=True, kw_only=True):
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None
    at: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class HistoryQuery(Query, frozen=True, kw_only=True):
    after: Annotated[int, msgspec.Meta(ge=0)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=history.MAX_PAGE)] = DEFAULT_PAGE


@contextmanager
def _answered() -> Iterator[None]:
    """History errors as the contract's codes: unknown things 404, impossible questions 422."""
    try:
        yield
    except (history.UnknownAggregateType, history.AggregateNotFound, CommandNotFound) as error:
        raise ApiError(404, "not_found", str(error)) from None
    except history.VersionOutOfRange as error:
        raise ApiError(422, "invalid_query", str(error), path="$.query.version") from None
    except (history.BeforeFirstEvent, history.InvalidTime) as error:
        raise ApiError(422, "invalid_query", str(error), path="$.query.at") from None
    except history.UnreadableHistory as error:
        raise ApiError(409, "unreadable_history", str(error)) from None
    except history.HistoryError as error:
        raise ApiError(422, "invalid_query", str(error), path="$.query") from None


async def aggregate(request: Request) -> Response:
    await require_admin(request)
    aggregate_id = path_id(request, "aggregate_id", "aggregate")
    query = parse_query(request, AggregateQuery)
    state = state_of(request)
    with _answered():
        at = history.parse_time(query.at) if query.at is not None else None
        found = await history.state_as_of(
            state.redis, state.settings, aggregate_id, version=query.version, at=at
        )
    return ok(**found.to_json())


async def aggregate_history(request: Request) -> Response:
    await require_admin(request)
    aggregate_id = path_id(request, "aggregate_id", "aggregate")
    query = parse_query(request, HistoryQuery)
    state = state_of(request)
    with _answered():
        page = await history.history_page(
            state.redis, state.settings, aggregate_id, after=query.after, limit=query.limit
        )
    return ok(**page.to_json())


async def command_trace(request: Request) -> Response:
    await require_admin(request)
    command_id: str = request.path_params["command_id"]
    parse_query(request, Query)
    if len(command_id) > MAX_COMMAND_ID:
        raise not_found("command", command_id)
    state = state_of(request)
    with _answered():
        found = await trace(state.redis, state.settings, command_id)
    return ok(**found.to_json())


ROUTES = [
    Route("/aggregates/{aggregate_id}", aggregate, methods=["GET"]),
    Route("/aggregates/{aggregate_id}/history", aggregate_history, methods=["GET"]),
    Route("/commands/{command_id}/trace", command_trace, methods=["GET"]),
]

"""Query strings as typed structs, and the paginated answer every list route gives.

A query is validated like a payload: unknown or repeated parameters, and values out of bounds,
are `422 invalid_query` naming the parameter (`$.query.limit`). Lists are newest first; `next`
is the cursor to pass as `after` for the following page, null on the last one.
"""

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from starlette.requests import Request

from api.http import ApiError, JSONResponse, ok, schema_message_and_path
from events.types import Identifier, Role
from infra.views import MAX_PAGE

DEFAULT_PAGE = 20

Limit = Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)]
# A cursor is a `next` this API gave out: a sort key of the read models (time, then an id).
Cursor = Annotated[str, msgspec.Meta(max_length=128, pattern=r"^[0-9]{1,20}:[A-Za-z0-9_.:-]+$")]


class Query(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every route's query; each field a parameter."""


class PageQuery(Query, frozen=True, kw_only=True):
    limit: Limit = DEFAULT_PAGE
    after: Cursor | None = None


class ProductsQuery(PageQuery, frozen=True, kw_only=True):
    brand_id: Identifier | None = None


# As `domain.order.Status` spells them.
OrderStatus = Literal[
    "placed",
    "confirmed",
    "picking",
    "ready",
    "out_for_delivery",
    "delivered",
    "rejected",
    "cancelled",
]


class OrdersQuery(PageQuery, frozen=True, kw_only=True):
    status: OrderStatus | None = None


class AdminOrdersQuery(OrdersQuery, frozen=True, kw_only=True):
    customer_id: Identifier | None = None
    courier_id: Identifier | None = None


class UsersQuery(PageQuery, frozen=True, kw_only=True):
    role: Role | None = None


Q = TypeVar("Q", bound=Query)
IDENTIFIER = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def parse_query(request: Request, cls: type[Q]) -> Q:
    items = request.query_params.multi_items()
    params = dict(items)
    if len(params) != len(items):
        repeated = sorted({k for k, _ in items if sum(1 for n, _ in items if n == k) > 1})
        raise ApiError(
            422,
            "invalid_query",
            f"give each parameter once: {', '.join(repeated)}",
            path=f"$.query.{repeated[0]}",
        )
    try:
        # Lax mode reads "20" as the integer 20: a query string only has text.
        return msgspec.convert(params, cls, strict=False)
    except msgspec.ValidationError as error:
        message, path = schema_message_and_path(str(error), "$.query")
        raise ApiError(422, "invalid_query", message, path=path) from None


def listed(name: str, items: Sequence[msgspec.Struct], cursor: str | None) -> JSONResponse:
    body: dict[str, Any] = {name: [msgspec.to_builtins(item) for item in items], "next": cursor}
    return ok(**body)


def shown(item: msgspec.Struct) -> Any:
    return msgspec.to_builtins(item)


def path_id(request: Request, name: str, what: str) -> str:
    """A path parameter that can name something; anything else is simply not found."""
    value: str = request.path_params[name]
    if not IDENTIFIER.fullmatch(value):
        raise not_found(what, value)
    return value


def not_found(what: str, value: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what} {value[:64]}")

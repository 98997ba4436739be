"""The admin API's views: every order, filtered, and the users with their roles."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import require_admin
from api.http import ok
from api.queries import (
    AdminOrdersQuery,
    Query,
    UsersQuery,
    listed,
    not_found,
    parse_query,
    path_id,
    shown,
)
from api.state import state_of
from infra.order_views import get_order, list_orders
from infra.read_models import get_user, list_users


async def orders(request: Request) -> Response:
    await require_admin(request)
    query = parse_query(request, AdminOrdersQuery)
    found, cursor = await list_orders(
        state_of(request).redis,
        customer_id=query.customer_id,
        courier_id=query.courier_id,
        status=query.status,
        after=query.after,
        limit=query.limit,
    )
    return listed("orders", found, cursor)


async def order(request: Request) -> Response:
    await require_admin(request)
    order_id = path_id(request, "order_id", "order")
    parse_query(request, Query)
    view = await get_order(state_of(request).redis, order_id)
    if view is None:
        raise not_found("order", order_id)
    return ok(order=shown(view))


async def users(request: Request) -> Response:
    await require_admin(request)
    query = parse_query(request, UsersQuery)
    found, cursor = await list_users(
        state_of(request).redis, role=query.role, after=query.after, limit=query.limit
    )
    return listed("users", found, cursor)


async def user(request: Request) -> Response:
    await require_admin(request)
    user_id = path_id(request, "user_id", "user")
    parse_query(request, Query)
    view = await get_user(state_of(request).redis, user_id)
    if view is None:
        raise not_found("user", user_id)
    return ok(user=shown(view))


ROUTES = [
    Route("/orders", orders, methods=["GET"]),
    Route("/orders/{order_id}", order, methods=["GET"]),
    Route("/users", users, methods=["GET"]),
    Route("/users/{user_id}", user, methods=["GET"]),
]

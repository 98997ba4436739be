"""A signed-in user's own data: cart, orders, an order's detail, deliveries, notifications."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import Principal, require_user
from api.command_spec import COURIER
from api.http import ApiError, ok
from api.queries import (
    OrdersQuery,
    PageQuery,
    Query,
    listed,
    not_found,
    parse_query,
    path_id,
    shown,
)
from api.state import state_of
from infra.cart_views import get_cart
from infra.notification_views import list_notifications
from infra.order_views import OrderView, get_order, list_orders


def may_see_order(principal: Principal, order: OrderView) -> bool:
    """Its customer, its assigned courier, or an admin."""
    return principal.is_admin or principal.user_id in (order.customer_id, order.courier_id)


async def cart(request: Request) -> Response:
    principal = await require_user(request)
    parse_query(request, Query)
    return ok(cart=shown(await get_cart(state_of(request).redis, principal.user_id)))


async def my_orders(request: Request) -> Response:
    principal = await require_user(request)
    query = parse_query(request, OrdersQuery)
    found, cursor = await list_orders(
        state_of(request).redis,
        customer_id=principal.user_id,
        status=query.status,
        after=query.after,
        limit=query.limit,
    )
    return listed("orders", found, cursor)


async def order(request: Request) -> Response:
    principal = await require_user(request)
    order_id = path_id(request, "order_id", "order")
    parse_query(request, Query)
    view = await get_order(state_of(request).redis, order_id)
    # Someone else's order is unknown to this caller: its existence is not ours to tell.
    if view is None or not may_see_order(principal, view):
        raise not_found("order", order_id)
    return ok(order=shown(view))


async def courier_orders(request: Request) -> Response:
    principal = await require_user(request)
    if COURIER not in principal.roles:
        raise ApiError(403, "forbidden", "this needs the courier role")
    query = parse_query(request, OrdersQuery)
    found, cursor = await list_orders(
        state_of(request).redis,
        courier_id=principal.user_id,
        status=query.status,
        after=query.after,
        limit=query.limit,
    )
    return listed("orders", found, cursor)


async def notifications(request: Request) -> Response:
    principal = await require_user(request)
    query = parse_query(request, PageQuery)
    found, cursor = await list_notifications(
        state_of(request).redis, principal.user_id, after=query.after, limit=query.limit
    )
    return listed("notifications", found, cursor)


ROUTES = [
    Route("/cart", cart, methods=["GET"]),
    Route("/orders", my_orders, methods=["GET"]),
    Route("/orders/{order_id}", order, methods=["GET"]),
    Route("/courier/orders", courier_orders, methods=["GET"]),
    Route("/notifications", notifications, methods=["GET"]),
]

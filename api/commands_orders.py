"""Cart, order and notification commands, and the order's fulfilment steps.

Customers and couriers send theirs on the public app; picking and courier assignment are admins'.
"""

from typing import Any

from api import new_ids
from api.command_spec import (
    ADMINS,
    COURIER,
    COURIERS,
    CUSTOMERS,
    SIGNED_IN,
    Builder,
    Call,
    CommandSpec,
    NewId,
    as_sent,
    invalid,
)
from api.order_pricing import Wanted, check_line, priced, published_products
from events.commands import (
    AddToCart,
    AssignCourier,
    CancelOrder,
    Command,
    CompletePicking,
    DeliverOrder,
    MarkNotificationRead,
    PickUpOrder,
    PlaceOrder,
    RejectOrder,
    RemoveFromCart,
    StartPicking,
)
from events.requests import (
    AddToCartRequest,
    MarkNotificationReadRequest,
    OrderRequest,
    PlaceOrderRequest,
    RemoveFromCartRequest,
    Request,
)
from infra.cart_views import get_cart
from infra.notification_views import get_notification
from infra.read_models import get_user
from infra.settings import Settings


def new_order_id(settings: Settings, request: Any, command_id: str) -> str:
    return new_ids.derived("order", command_id)


async def build_add_to_cart(call: Call) -> Command:
    request = call.payload(AddToCartRequest)
    # The cart holds only what can be ordered: a published product that sells the SKU.
    wanted = Wanted(request.product_id, request.sku, request.quantity, "$.payload")
    check_line(await published_products(call.state.redis, [request.product_id]), wanted, cart=False)
    return AddToCart(
        user_id=call.actor,
        product_id=request.product_id,
        sku=request.sku,
        quantity=request.quantity,
    )


async def build_remove_from_cart(call: Call) -> Command:
    return RemoveFromCart(user_id=call.actor, sku=call.payload(RemoveFromCartRequest).sku)


async def build_place_order(call: Call) -> Command:
    request = call.payload(PlaceOrderRequest)
    redis = call.state.redis
    if request.lines is not None:
        wanted = [
            Wanted(line.product_id, line.sku, line.quantity, f"$.payload.lines[{i}]")
            for i, line in enumerate(request.lines)
        ]
    else:
        cart = await get_cart(redis, call.actor)
        if not cart.lines:
            raise invalid("your cart is empty: add to it, or send lines", "$.payload.lines")
        wanted = [
            Wanted(line.product_id, line.sku, line.quantity, "$.payload.lines")
            for line in cart.lines
        ]
    lines = await priced(redis, wanted, cart=request.lines is None)
    return PlaceOrder(
        order_id=call.new_id,
        customer_id=call.actor,
        lines=lines,
        from_cart=request.lines is None,
    )


async def build_start_picking(call: Call) -> Command:
    return StartPicking(order_id=call.payload(OrderRequest).order_id)


async def build_complete_picking(call: Call) -> Command:
    return CompletePicking(order_id=call.payload(OrderRequest).order_id)


async def build_assign_courier(call: Call) -> Command:
    command = call.payload(AssignCourier)
    # The order records any id it is given: that it names a courier is checked here.
    courier = await get_user(call.state.redis, command.courier_id)
    if courier is None or COURIER not in courier.roles:
        raise invalid(f"no courier {command.courier_id}", "$.payload.courier_id")
    return command


async def build_pick_up_order(call: Call) -> Command:
    return PickUpOrder(order_id=call.payload(OrderRequest).order_id)


async def build_deliver_order(call: Call) -> Command:
    return DeliverOrder(order_id=call.payload(OrderRequest).order_id)


async def build_mark_notification_read(call: Call) -> Command:
    request = call.payload(MarkNotificationReadRequest)
    # Read marks are the user's own aggregate; that the id names one of their notifications
    # is checked against the read model.
    if await get_notification(call.state.redis, call.actor, request.notification_id) is None:
        raise invalid(
            f"you have no notification {request.notification_id}", "$.payload.notification_id"
        )
    return MarkNotificationRead(user_id=call.actor, notification_id=request.notification_id)


def _admin(name: str, request: type[Request] | type[Command], build: Builder) -> CommandSpec:
    return CommandSpec(name, request, build, roles=ADMINS, admin_only=True)


SPECS = (
    CommandSpec("AddToCart", AddToCartRequest, build_add_to_cart, CUSTOMERS),
    CommandSpec("RemoveFromCart", RemoveFromCartRequest, build_remove_from_cart, CUSTOMERS),
    CommandSpec(
        "PlaceOrder",
        PlaceOrderRequest,
        build_place_order,
        roles=CUSTOMERS,
        new_id=NewId("order_id", new_order_id),
    ),
    # A customer cancels their own order; an admin any order (the domain tells them apart).
    CommandSpec("CancelOrder", CancelOrder, as_sent, CUSTOMERS),
    _admin("RejectOrder", RejectOrder, as_sent),
    _admin("StartPicking", OrderRequest, build_start_picking),
    _admin("CompletePicking", OrderRequest, build_complete_picking),
    _admin("AssignCourier", AssignCourier, build_assign_courier),
    CommandSpec("PickUpOrder", OrderRequest, build_pick_up_order, COURIERS),
    CommandSpec("DeliverOrder", OrderRequest, build_deliver_order, COURIERS),
    CommandSpec(
        "MarkNotificationRead",
        MarkNotificationReadRequest,
        build_mark_notification_read,
        SIGNED_IN,
    ),
)

"""Orders with their status history, and carts, from the order and cart aggregates."""

from typing import Any

from domain.order import Status
from events.envelope import EventRecord
from events.events import (
    CartCleared,
    CartItemAdded,
    CartItemRemoved,
    CourierAssigned,
    Event,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderPickedUp,
    OrderPickingStarted,
    OrderPlaced,
    OrderReady,
    OrderRejected,
)
from infra import cart_views, order_views
from infra.views import price_of

_STATUS_AFTER: dict[type[Event], Status] = {
    OrderConfirmed: Status.CONFIRMED,
    OrderPickingStarted: Status.PICKING,
    OrderReady: Status.READY,
    OrderPickedUp: Status.OUT_FOR_DELIVERY,
    OrderDelivered: Status.DELIVERED,
}


def project(pipe: Any, record: EventRecord, event: Event) -> None:
    version, at = record.aggregate_version, record.occurred_at
    match event:
        case OrderPlaced():
            lines = [
                order_views.OrderLineView(
                    product_id=line.product_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=price_of(line.unit_price),
                )
                for line in event.lines
            ]
            order_views.queue_placed(
                pipe,
                event.order_id,
                version,
                customer_id=event.customer_id,
                lines=lines,
                total=price_of(event.total),
                placed_at=event.placed_at,
                at=at,
            )
        case OrderRejected(order_id=order_id, reason=reason):
            order_views.queue_status(
                pipe, order_id, version, status=Status.REJECTED, at=at, reason=reason
            )
        case OrderCancelled(order_id=order_id, reason=reason):
            order_views.queue_status(
                pipe, order_id, version, status=Status.CANCELLED, at=at, reason=reason
            )
        case CourierAssigned(order_id=order_id, courier_id=courier_id):
            order_views.queue_courier(pipe, order_id, courier_id, version)
        case (
            OrderConfirmed()
            | OrderPickingStarted()
            | OrderReady()
            | OrderPickedUp()
            | OrderDelivered()
        ):
            status = _STATUS_AFTER[type(event)]
            order_views.queue_status(pipe, event.order_id, version, status=status, at=at)
        case CartItemAdded():
            cart_views.queue_line(
                pipe,
                event.user_id,
                event.sku,
                version,
                product_id=event.product_id,
                quantity=event.quantity,
            )
        case CartItemRemoved():
            cart_views.queue_line_removed(pipe, event.user_id, event.sku, version)
        case CartCleared():
            cart_views.queue_cleared(pipe, event.user_id, version)
        case _:
            pass

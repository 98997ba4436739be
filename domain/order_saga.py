"""The order saga, pure: which commands each order or inventory event calls for.

    OrderPlaced                     → ReserveInventory per line (sku:<SKU>), ClearCart if
                                      placed from the cart, ExpireOrder after the timeout
    InventoryReserved               → RecordReservation (order:<id>); the order confirms
                                      itself when its last line is recorded
    InventoryReservationFailed      → RejectOrder with the reason
    OrderRejected, OrderCancelled   → ReleaseInventory for every line
    OrderReservationReturned        → ReleaseInventory for that line
    OrderDelivered                  → CommitInventory for every line

The saga keeps no state of its own: the order aggregate is its state, and each event carries
what its reactions need (lines, SKUs). Releases go to every line, not only those the order saw
reserved: a reservation may still be on its way, and releasing what is not held records nothing.
One that lands after its release reaches a closed order and is returned, then released.
"""

from domain.follow_ups import Cause, FollowUp, follow_up
from events.commands import (
    ClearCart,
    CommitInventory,
    ExpireOrder,
    RecordReservation,
    RejectOrder,
    ReleaseInventory,
    ReserveInventory,
)
from events.events import (
    Event,
    InventoryReservationFailed,
    InventoryReserved,
    OrderCancelled,
    OrderDelivered,
    OrderPlaced,
    OrderRejected,
    OrderReservationReturned,
)

CONFIRMATION_TIMEOUT_MS = 15 * 60_000


def react(
    cause: Cause, event: Event, *, confirmation_timeout_ms: int = CONFIRMATION_TIMEOUT_MS
) -> list[FollowUp]:
    match event:
        case OrderPlaced():
            return _on_placed(cause, event, confirmation_timeout_ms)
        case InventoryReserved(sku=sku, order_id=order_id):
            return [follow_up(cause, RecordReservation(order_id=order_id, sku=sku))]
        case InventoryReservationFailed(sku=sku, order_id=order_id):
            reason = (
                f"out of stock: {sku} (requested {event.requested}, available {event.available})"
            )
            return [follow_up(cause, RejectOrder(order_id=order_id, reason=reason))]
        case (
            OrderRejected(order_id=order_id, skus=skus)
            | OrderCancelled(order_id=order_id, skus=skus)
        ):
            return _release(cause, order_id, skus)
        case OrderReservationReturned(order_id=order_id, sku=sku):
            return _release(cause, order_id, (sku,))
        case OrderDelivered(order_id=order_id, skus=skus):
            return [follow_up(cause, CommitInventory(sku=sku, order_id=order_id)) for sku in skus]
        case _:
            return []


def _on_placed(cause: Cause, placed: OrderPlaced, timeout_ms: int) -> list[FollowUp]:
    order_id = placed.order_id
    reservations = [
        follow_up(cause, ReserveInventory(sku=line.sku, order_id=order_id, quantity=line.quantity))
        for line in placed.lines
    ]
    # An order placed from explicit lines leaves the cart alone.
    cart = [ClearCart(user_id=placed.customer_id)] if placed.from_cart else []
    clear_cart = [follow_up(cause, command) for command in cart]
    expiry = follow_up(cause, ExpireOrder(order_id=order_id), delay_ms=timeout_ms)
    return [*reservations, *clear_cart, expiry]


def _release(cause: Cause, order_id: str, skus: tuple[str, ...]) -> list[FollowUp]:
    return [follow_up(cause, ReleaseInventory(sku=sku, order_id=order_id)) for sku in skus]

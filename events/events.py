"""Domain events: past-tense facts, versioned from the start.

Each event class names its current `version`. Old stored versions are brought up to date by
the upcasters in `events.upcasting` when read. `private` events carry secrets: they are stored
and projected but never shown in a result, a frame or a response.
"""

from typing import ClassVar

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every domain event."""

    version: ClassVar[int] = 1
    private: ClassVar[bool] = False


class UserRegistered(Event, frozen=True, kw_only=True):
    """A user joined. v2: the display name is stored split in two (`events.names`).

    v1 carried `display_name: str`; `events.upcasting` splits it when a v1 entry is read.
    """

    version: ClassVar[int] = 2

    user_id: str
    email: str
    given_name: str
    family_name: str | None = None  # None when the display name has no space
    roles: tuple[str, ...]


class UserPasswordSet(Event, frozen=True, kw_only=True):
    private: ClassVar[bool] = True

    user_id: str
    password_hash: str


class UserLoggedIn(Event, frozen=True, kw_only=True):
    user_id: str
    session_id: str


class DisplayNameChanged(Event, frozen=True, kw_only=True):
    user_id: str
    display_name: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls for cls in (UserRegistered, UserPasswordSet, UserLoggedIn, DisplayNameChanged)
}


# --- The commerce domain ---------------------------------------------------------------------
# Order status events carry the customer (and terminal ones every line's SKU) so that the
# projectors and the stateless saga never need to look an order up.


class Money(msgspec.Struct, frozen=True, kw_only=True):
    amount: int  # minor units
    currency: str


class Variant(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    sku: str
    quantity: int
    unit_price: Money


class RoleAssigned(Event, frozen=True, kw_only=True):
    user_id: str
    role: str


class RoleRevoked(Event, frozen=True, kw_only=True):
    user_id: str
    role: str


class BrandCreated(Event, frozen=True, kw_only=True):
    brand_id: str
    name: str
    description: str


class BrandUpdated(Event, frozen=True, kw_only=True):
    brand_id: str
    name: str
    description: str


class BrandDeleted(Event, frozen=True, kw_only=True):
    brand_id: str


class ModeratorInvited(Event, frozen=True, kw_only=True):
    brand_id: str
    invitee_user_id: str
    invited_by: str | None


class ModeratorInviteAccepted(Event, frozen=True, kw_only=True):
    brand_id: str
    user_id: str


class ProductCreated(Event, frozen=True, kw_only=True):
    product_id: str
    brand_id: str
    name: str
    description: str
    price: Money
    variants: tuple[Variant, ...]


class ProductUpdated(Event, frozen=True, kw_only=True):
    product_id: str
    name: str
    description: str
    price: Money


class ProductPublished(Event, frozen=True, kw_only=True):
    product_id: str
    brand_id: str


class ProductUnpublished(Event, frozen=True, kw_only=True):
    product_id: str
    brand_id: str


class InventoryRestocked(Event, frozen=True, kw_only=True):
    sku: str
    product_id: str
    brand_id: str
    on_hand: int
    available: int


class InventoryReserved(Event, frozen=True, kw_only=True):
    sku: str
    order_id: str
    quantity: int
    available: int


class InventoryReservationFailed(Event, frozen=True, kw_only=True):
    sku: str
    order_id: str
    requested: int
    available: int


class InventoryReleased(Event, frozen=True, kw_only=True):
    sku: str
    order_id: str
    quantity: int
    available: int


class InventoryCommitted(Event, frozen=True, kw_only=True):
    sku: str
    order_id: str
    quantity: int
    on_hand: int


class CartItemAdded(Event, frozen=True, kw_only=True):
    user_id: str
    product_id: str
    sku: str
    quantity: int  # the line's quantity after the addition


class CartItemRemoved(Event, frozen=True, kw_only=True):
    user_id: str
    sku: str


class CartCleared(Event, frozen=True, kw_only=True):
    user_id: str


class OrderPlaced(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    lines: tuple[OrderLine, ...]
    total: Money
    from_cart: bool = False
    placed_at: int = 0  # epoch milliseconds


class OrderLineReserved(Event, frozen=True, kw_only=True):
    order_id: str
    sku: str


class OrderConfirmed(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str


class OrderRejected(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    reason: str
    skus: tuple[str, ...]  # every line's SKU: the saga releases them all, idempotently


class OrderCancelled(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    reason: str
    cancelled_by: str | None
    skus: tuple[str, ...]


class OrderReservationReturned(Event, frozen=True, kw_only=True):
    """A reservation reached an order that no longer wants it; the saga releases it."""

    order_id: str
    sku: str


class OrderPickingStarted(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str


class OrderReady(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str


class CourierAssigned(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    courier_id: str


class OrderPickedUp(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    courier_id: str


class OrderDelivered(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    courier_id: str
    skus: tuple[str, ...]


class NotificationRead(Event, frozen=True, kw_only=True):
    user_id: str
    notification_id: str


EVENT_TYPES.update(
    {
        cls.__name__: cls
        for cls in (
            RoleAssigned,
            RoleRevoked,
            BrandCreated,
            BrandUpdated,
            BrandDeleted,
            ModeratorInvited,
            ModeratorInviteAccepted,
            ProductCreated,
            ProductUpdated,
            ProductPublished,
            ProductUnpublished,
            InventoryRestocked,
            InventoryReserved,
            InventoryReservationFailed,
            InventoryReleased,
            InventoryCommitted,
            CartItemAdded,
            CartItemRemoved,
            CartCleared,
            OrderPlaced,
            OrderLineReserved,
            OrderConfirmed,
            OrderRejected,
            OrderCancelled,
            OrderReservationReturned,
            OrderPickingStarted,
            OrderReady,
            CourierAssigned,
            OrderPickedUp,
            OrderDelivered,
            NotificationRead,
        )
    }
)

"""Helpers for the projection rebuild and check tests: a store with every projection's views."""

from redis.asyncio import Redis

from events.envelope import EventRecord
from events.events import (
    BrandCreated,
    CartItemAdded,
    InventoryRestocked,
    ModeratorInvited,
    Money,
    NotificationRead,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    RoleAssigned,
    UserPasswordSet,
)
from infra.settings import Settings
from tests.infra.commerce_support import append, history, settle
from worker.deps import Deps
from worker.projector import Projector

PRICE = Money(amount=1999, currency="EUR")


def story() -> list[EventRecord]:
    """Events that give each projection views and indexes to build."""
    line = OrderLine(product_id="p1", sku="TEE-M", quantity=1, unit_price=PRICE)
    return [
        *history(
            "user:u1",
            RoleAssigned(user_id="u1", role="courier"),
            UserPasswordSet(user_id="u1", password_hash="$argon2id$x"),
        ),
        *history("brand:b1", BrandCreated(brand_id="b1", name="Acme", description="")),
        *history("brand:b2", BrandCreated(brand_id="b2", name="Bolt", description="")),
        *history(
            "sku:TEE-M",
            InventoryRestocked(sku="TEE-M", product_id="p1", brand_id="b1", on_hand=9, available=9),
        ),
        *history("cart:u1", CartItemAdded(user_id="u1", product_id="p1", sku="TEE-M", quantity=2)),
        *history(
            "order:o1",
            OrderPlaced(order_id="o1", customer_id="u1", lines=(line,), total=PRICE, placed_at=5),
            OrderConfirmed(order_id="o1", customer_id="u1"),
        ),
        *history(
            "brand-moderators:b1",
            ModeratorInvited(brand_id="b1", invitee_user_id="u1", invited_by="admin"),
        ),
        *history("notifications:u1", NotificationRead(user_id="u1", notification_id="n-x")),
    ]


async def projected_store(redis: Redis, settings: Settings) -> Projector:
    """The story on the logs and applied by a live projector, which is returned."""
    projector = Projector(Deps(settings=settings, redis=redis, consumer="p1"))
    await projector.prepare()
    for record in story():
        await append(redis, settings, record)
    await settle(projector)
    return projector

"""The commerce read models from hand-made event logs, applied once, twice, late or shuffled."""

import random

import pytest
from redis.asyncio import Redis

from domain.notifications import notification_id
from events.codec import decode_event
from events.envelope import EventRecord
from events.events import (
    BrandCreated,
    BrandDeleted,
    BrandUpdated,
    CartCleared,
    CartItemAdded,
    CartItemRemoved,
    CourierAssigned,
    Money,
    NotificationRead,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    ProductCreated,
    ProductPublished,
    ProductUnpublished,
    RoleAssigned,
    UserRegistered,
    Variant,
)
from infra import keys
from infra.cart_views import CartLineView, get_cart
from infra.catalog_views import get_brand, get_product, list_brands, list_products, sku_product
from infra.notification_views import get_notification, list_notifications
from infra.order_views import list_orders
from infra.settings import Settings
from tests.infra.commerce_support import (
    drop_read_models,
    event_log,
    history,
    project_all,
    read_models,
    record_of,
    settle,
)
from worker.deps import Deps
from worker.projector import Projector
from worker.projectors import project

EUR = Money(amount=500, currency="EUR")
SUPER_ADMINS = "roles:super_admins"


@pytest.fixture
async def projector(settings: Settings, redis: Redis) -> Projector:
    projector = Projector(Deps(settings=settings, redis=redis, consumer="p1"))
    await projector.prepare()
    return projector


def product(product_id: str, brand_id: str, at: int) -> list[EventRecord]:
    created = ProductCreated(
        product_id=product_id,
        brand_id=brand_id,
        name=f"Product {product_id}",
        description="",
        price=EUR,
        variants=(Variant(sku=f"SKU-{product_id}", name="One"),),
    )
    published = ProductPublished(product_id=product_id, brand_id=brand_id)
    return [
        record_of(created, f"product:{product_id}", 1, at=at),
        record_of(published, f"product:{product_id}", 2, at=at),
    ]


async def test_published_products_are_listed_newest_first_a_page_at_a_time(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    records = [r for n in range(5) for r in product(f"p{n}", "b1" if n % 2 else "b2", 100 + n)]
    records += history("product:p3", ProductUnpublished(product_id="p3", brand_id="b1"), start=3)
    await project_all(redis, settings, projector, records)

    first, cursor = await list_products(redis, limit=2)
    second, cursor = await list_products(redis, after=cursor, limit=2)
    assert cursor is None
    assert [p.product_id for p in first + second] == ["p4", "p2", "p1", "p0"]
    by_brand, cursor = await list_products(redis, brand_id="b1")
    assert ([p.product_id for p in by_brand], cursor) == (["p1"], None)
    unpublished = await get_product(redis, "p3")
    assert unpublished is not None and not unpublished.published
    assert await sku_product(redis, "SKU-p3") == ("p3", "b1")
    assert await sku_product(redis, "SKU-none") is None


async def test_a_brand_is_edited_and_once_deleted_is_gone(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    records = history(
        "brand:b1",
        BrandCreated(brand_id="b1", name="Acme", description="old"),
        BrandUpdated(brand_id="b1", name="Acme Foods", description="new"),
    )
    records += history("brand:b2", BrandCreated(brand_id="b2", name="Zed", description=""))
    await project_all(redis, settings, projector, records)
    brand = await get_brand(redis, "b1")
    assert brand is not None and (brand.name, brand.description) == ("Acme Foods", "new")

    await project_all(
        redis, settings, projector, history("brand:b1", BrandDeleted(brand_id="b1"), start=3)
    )

    assert await get_brand(redis, "b1") is None
    assert [b.brand_id for b in (await list_brands(redis))[0]] == ["b2"]


async def test_a_cart_is_what_its_events_leave_whatever_order_they_arrive_in(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    records = history(
        "cart:u1",
        CartItemAdded(user_id="u1", product_id="p1", sku="A", quantity=1),
        CartItemAdded(user_id="u1", product_id="p2", sku="B", quantity=2),
        CartCleared(user_id="u1"),
        CartItemAdded(user_id="u1", product_id="p1", sku="A", quantity=3),
        CartItemAdded(user_id="u1", product_id="p3", sku="C", quantity=1),
        CartItemRemoved(user_id="u1", sku="C"),
    )
    random.Random(3).shuffle(records)

    await project_all(redis, settings, projector, records)

    cart = await get_cart(redis, "u1")
    assert cart.lines == (CartLineView(product_id="p1", sku="A", quantity=3),)
    assert (await get_cart(redis, "nobody")).lines == ()


def placed(order_id: str, customer: str, at: int) -> OrderPlaced:
    line = OrderLine(product_id="p1", sku="A", quantity=1, unit_price=EUR)
    return OrderPlaced(
        order_id=order_id, customer_id=customer, lines=(line,), total=EUR, placed_at=at
    )


async def test_orders_move_between_the_lists_of_their_status_and_courier(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    records = [
        *history(
            "order:o1", placed("o1", "c1", 10), OrderConfirmed(order_id="o1", customer_id="c1")
        ),
        *history("order:o2", placed("o2", "c1", 20)),
        *history("order:o3", placed("o3", "c2", 30)),
    ]
    await project_all(redis, settings, projector, records)
    assert [o.order_id for o in (await list_orders(redis, status="placed"))[0]] == ["o3", "o2"]
    assert [o.order_id for o in (await list_orders(redis, customer_id="c1"))[0]] == ["o2", "o1"]

    reassigned = history(
        "order:o1",
        CourierAssigned(order_id="o1", customer_id="c1", courier_id="k1"),
        CourierAssigned(order_id="o1", customer_id="c1", courier_id="k2"),
        start=3,
    )
    await project_all(redis, settings, projector, list(reversed(reassigned)))

    assert (await list_orders(redis, courier_id="k1"))[0] == []
    assert [o.order_id for o in (await list_orders(redis, courier_id="k2"))[0]] == ["o1"]
    assert [o.order_id for o in (await list_orders(redis, status="confirmed"))[0]] == ["o1"]
    page, cursor = await list_orders(redis, limit=2)
    assert [o.order_id for o in page] == ["o3", "o2"]
    assert [o.order_id for o in (await list_orders(redis, after=cursor))[0]] == ["o1"]
    both, cursor = await list_orders(redis, customer_id="c1", status="placed", limit=1)
    assert [o.order_id for o in both] == ["o2"]
    assert (await list_orders(redis, customer_id="c1", status="placed", after=cursor))[0] == []


async def test_a_notification_shows_as_read_once_its_user_marked_it(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    confirmed = OrderConfirmed(order_id="o1", customer_id="c1")
    records = history("order:o1", placed("o1", "c1", 10), confirmed)
    note_id = notification_id("order:o1", 2, "c1")
    mark = NotificationRead(user_id="c1", notification_id=note_id)
    # A rebuild may meet the mark first: it lives in another aggregate, maybe another partition.
    await project_all(redis, settings, projector, [*history("notifications:c1", mark), *records])

    [note], cursor = await list_notifications(redis, "c1")
    assert (note.notification_id, note.kind, note.order_id, note.read) == (
        note_id,
        "order_confirmed",
        "o1",
        True,
    )
    assert cursor is None
    assert await get_notification(redis, "c1", note_id) == note
    assert await get_notification(redis, "c2", note_id) is None


async def test_the_read_models_are_the_same_after_a_replay_and_after_a_shuffled_rebuild(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    records = [
        *product("p1", "b1", 5),
        *history("brand:b1", BrandCreated(brand_id="b1", name="Acme", description="")),
        *history(
            "user:u1",
            UserRegistered(user_id="u1", email="u@x.io", given_name="U", roles=("customer",)),
        ),
        *history(SUPER_ADMINS, RoleAssigned(user_id="u1", role="super_admin")),
        *history(
            "order:o1",
            placed("o1", "u1", 10),
            OrderConfirmed(order_id="o1", customer_id="u1"),
            CourierAssigned(order_id="o1", customer_id="u1", courier_id="k1"),
        ),
        *history("cart:u1", CartItemAdded(user_id="u1", product_id="p1", sku="A", quantity=1)),
    ]
    await project_all(redis, settings, projector, records)
    built = await read_models(redis)
    assert any(key.startswith(keys.orders_of_courier("").encode()) for key in built)

    for p in range(settings.partitions):
        await redis.xgroup_setid(keys.events(p), keys.PROJECTOR_GROUP, id="0")
    await settle(projector)
    assert await read_models(redis) == built

    await drop_read_models(redis)
    shuffled = await event_log(redis, settings)
    random.Random(11).shuffle(shuffled)
    async with redis.pipeline(transaction=False) as pipe:
        for record in shuffled:
            project(pipe, record, decode_event(record))
        await pipe.execute()
    assert await read_models(redis) == built

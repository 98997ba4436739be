"""The order saga in-process: command consumers, reactor and projector over one real Redis.

Two command consumers share the partitions (small batches, so they interleave and race on the
same SKU), the reactor turns events into follow-ups, the projector builds the read models; all
run side by side until none finds anything new.
"""

from collections import Counter
from dataclasses import dataclass, replace

import pytest
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import Redis

from domain.order import EXPIRED_REASON
from domain.reactions import react
from events.codec import decode_event
from events.commands import (
    AddToCart,
    AssignCourier,
    CancelOrder,
    Command,
    CompletePicking,
    CreateBrand,
    CreateProduct,
    DeliverOrder,
    MoneyInput,
    OrderLineInput,
    PickUpOrder,
    PlaceOrder,
    PublishProduct,
    RestockVariant,
    StartPicking,
    VariantInput,
)
from events.events import (
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
    OrderPlaced,
)
from infra import keys
from infra.cart_views import get_cart
from infra.catalog_views import get_product, list_products
from infra.event_store import load_history
from infra.notification_views import list_notifications
from infra.order_views import get_order, list_orders
from infra.settings import Settings
from infra.stock_views import stock_of
from tests.infra.commerce_support import send, settle
from worker.commands import CommandConsumer
from worker.consumer import StreamConsumer
from worker.delayed import submit_follow_up
from worker.deps import Deps
from worker.projector import Projector
from worker.reactor import Reactor

ADMIN = "admin-ann"
COURIER = "courier-kurt"
SKU = "TEE-M"
PRICE = MoneyInput(amount=1999, currency="EUR")


@dataclass
class Shop:
    redis: Redis
    settings: Settings
    arq: ArqRedis
    consumers: list[StreamConsumer]
    deps: Deps

    async def send(self, command: Command, actor: str | None, *roles: str) -> None:
        await send(self.redis, self.settings, command, actor, *roles)

    async def as_admin(self, command: Command) -> None:
        await self.send(command, ADMIN, "admin")

    async def settle(self) -> None:
        await settle(*self.consumers)

    async def stock_up(self, units: int) -> None:
        await self.as_admin(CreateBrand(brand_id="b1", name="Acme"))
        await self.as_admin(
            CreateProduct(
                product_id="p1",
                brand_id="b1",
                name="Tee",
                price=PRICE,
                variants=(VariantInput(sku=SKU, name="Medium"),),
            )
        )
        await self.as_admin(PublishProduct(product_id="p1"))
        await self.as_admin(RestockVariant(sku=SKU, product_id="p1", brand_id="b1", quantity=units))
        await self.settle()

    async def order(self, order_id: str, customer: str, *, from_cart: bool = False) -> None:
        line = OrderLineInput(product_id="p1", sku=SKU, quantity=1, unit_price=PRICE)
        command = PlaceOrder(
            order_id=order_id, customer_id=customer, lines=(line,), from_cart=from_cart
        )
        await self.send(command, customer, "customer")

    async def status(self, order_id: str) -> str:
        order = await get_order(self.redis, order_id)
        assert order is not None
        return order.status

    async def sku_events(self) -> list[object]:
        partition = keys.partition_of(f"sku:{SKU}", self.settings.partitions)
        return [decode_event(r) for r in await load_history(self.redis, partition, f"sku:{SKU}")]


def shop_of(settings: Settings, redis: Redis, arq: ArqRedis) -> Shop:
    def deps(name: str) -> Deps:
        return Deps(settings=settings, redis=redis, consumer=name, arq=arq)

    consumers: list[StreamConsumer] = [
        CommandConsumer(deps("c1")),
        CommandConsumer(deps("c2")),
        Reactor(deps("r1")),
        Projector(deps("p1")),
    ]
    return Shop(redis, settings, arq, consumers, deps("jobs"))


@pytest.fixture
async def shop(settings: Settings, redis: Redis, arq_pool: ArqRedis) -> Shop:
    shop = shop_of(replace(settings, read_count=4), redis, arq_pool)
    for consumer in shop.consumers:
        await consumer.prepare()
    return shop


async def test_twenty_customers_race_for_five_units_and_exactly_five_orders_confirm(
    shop: Shop,
) -> None:
    await shop.stock_up(5)
    orders = {f"o{n}": f"cust-{n}" for n in range(20)}
    for order_id, customer in orders.items():
        await shop.order(order_id, customer)

    await shop.settle()

    statuses = {order_id: await shop.status(order_id) for order_id in orders}
    assert Counter(statuses.values()) == {"confirmed": 5, "rejected": 15}
    assert await stock_of(shop.redis, [SKU]) == {SKU: 0}
    sku_events = await shop.sku_events()
    levels = [e.available for e in sku_events if hasattr(e, "available")]
    assert min(levels) == 0  # never negative, however the reservations raced
    assert sum(isinstance(e, InventoryReserved) for e in sku_events) == 5
    assert sum(isinstance(e, InventoryReservationFailed) for e in sku_events) == 15

    confirmed = sorted(o for o, s in statuses.items() if s == "confirmed")
    rejected = sorted(o for o, s in statuses.items() if s == "rejected")
    listed, cursor = await list_orders(shop.redis, status="confirmed")
    assert sorted(o.order_id for o in listed) == confirmed and cursor is None
    listed, _ = await list_orders(shop.redis, status="rejected", limit=100)
    assert sorted(o.order_id for o in listed) == rejected

    order = await get_order(shop.redis, confirmed[0])
    assert order is not None
    assert (order.customer_id, order.total.amount, order.lines[0].sku) == (
        orders[confirmed[0]],
        1999,
        SKU,
    )
    assert [change.status for change in order.history] == ["placed", "confirmed"]
    assert 0 < order.history[0].at <= order.history[1].at
    refused = await get_order(shop.redis, rejected[0])
    assert refused is not None and refused.reason is not None
    assert refused.reason.startswith(f"out of stock: {SKU}")

    notes, _ = await list_notifications(shop.redis, orders[confirmed[0]])
    assert [(n.kind, n.order_id, n.read) for n in notes] == [
        ("order_confirmed", confirmed[0], False)
    ]
    notes, _ = await list_notifications(shop.redis, orders[rejected[0]])
    assert [(n.kind, n.reason) for n in notes] == [("order_rejected", refused.reason)]

    product = await get_product(shop.redis, "p1")
    assert product is not None and product.published
    assert await stock_of(shop.redis, [v.sku for v in product.variants]) == {SKU: 0}
    assert (await list_products(shop.redis))[0] == [product]

    # Every placed order has its timeout waiting in arq, under its follow-up's command id.
    timeouts = set()
    for order_id in orders:
        partition = keys.partition_of(f"order:{order_id}", shop.settings.partitions)
        first = (await load_history(shop.redis, partition, f"order:{order_id}"))[0]
        placed = decode_event(first)
        assert isinstance(placed, OrderPlaced)
        timeouts |= {f.command_id for f in react(first, placed) if f.delay_ms > 0}
    assert {job.job_id for job in await shop.arq.queued_jobs()} == timeouts
    assert len(timeouts) == 20


async def test_a_cancelled_order_releases_its_stock_and_an_order_from_the_cart_clears_it(
    shop: Shop,
) -> None:
    await shop.stock_up(2)
    await shop.send(AddToCart(user_id="cust-1", product_id="p1", sku=SKU, quantity=1), "cust-1")
    await shop.settle()
    assert len((await get_cart(shop.redis, "cust-1")).lines) == 1
    await shop.order("o1", "cust-1", from_cart=True)
    await shop.settle()
    assert await shop.status("o1") == "confirmed"
    assert await stock_of(shop.redis, [SKU]) == {SKU: 1}
    assert (await get_cart(shop.redis, "cust-1")).lines == ()

    await shop.send(CancelOrder(order_id="o1", reason="changed my mind"), "cust-1", "customer")
    await shop.settle()

    order = await get_order(shop.redis, "o1")
    assert order is not None
    assert [c.status for c in order.history] == ["placed", "confirmed", "cancelled"]
    assert order.reason == "changed my mind"
    assert await stock_of(shop.redis, [SKU]) == {SKU: 2}
    assert sum(isinstance(e, InventoryReleased) for e in await shop.sku_events()) == 1


async def test_a_delivered_order_went_through_every_status_and_told_its_customer(
    shop: Shop,
) -> None:
    await shop.stock_up(3)
    await shop.order("o1", "cust-1")
    await shop.settle()
    for command in (
        StartPicking(order_id="o1"),
        CompletePicking(order_id="o1"),
        AssignCourier(order_id="o1", courier_id=COURIER),
    ):
        await shop.as_admin(command)
    await shop.settle()
    await shop.send(PickUpOrder(order_id="o1"), COURIER, "courier")
    await shop.settle()
    await shop.send(DeliverOrder(order_id="o1"), COURIER, "courier")
    await shop.settle()

    order = await get_order(shop.redis, "o1")
    assert order is not None and order.courier_id == COURIER
    assert [c.status for c in order.history] == [
        "placed",
        "confirmed",
        "picking",
        "ready",
        "out_for_delivery",
        "delivered",
    ]
    assert [o.order_id for o in (await list_orders(shop.redis, courier_id=COURIER))[0]] == ["o1"]
    assert (await list_orders(shop.redis, courier_id=COURIER, status="ready"))[0] == []
    notes, _ = await list_notifications(shop.redis, "cust-1")
    assert [n.kind for n in notes] == [
        "order_delivered",
        "order_out_for_delivery",
        "courier_assigned",
        "order_confirmed",
    ]
    assert [n.kind for n in (await list_notifications(shop.redis, COURIER))[0]] == [
        "courier_assigned"
    ]
    assert await stock_of(shop.redis, [SKU]) == {SKU: 2}  # committed: gone from the shelf


async def test_an_order_not_confirmed_in_time_is_rejected_and_its_late_reservation_released(
    settings: Settings, redis: Redis, arq_pool: ArqRedis
) -> None:
    shop = shop_of(replace(settings, order_confirmation_timeout_ms=1), redis, arq_pool)
    commands, _, reactor, _ = shop.consumers
    for consumer in shop.consumers:
        await consumer.prepare()
    await shop.stock_up(1)
    await shop.order("o1", "cust-1")
    await settle(commands)  # placed
    await settle(reactor)  # the reservation appended, the timeout scheduled (due at once)

    worker = Worker(
        functions=[submit_follow_up],
        redis_pool=arq_pool,
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
        ctx={"deps": shop.deps},
    )
    assert await worker.run_check() == 1
    await shop.settle()

    order = await get_order(redis, "o1")
    assert order is not None
    assert (order.status, order.reason) == ("rejected", EXPIRED_REASON)
    assert await stock_of(redis, [SKU]) == {SKU: 1}  # reserved too late, then handed back
    sku_events = await shop.sku_events()
    assert sum(isinstance(e, InventoryReserved) for e in sku_events) == 1
    assert sum(isinstance(e, InventoryReleased) for e in sku_events) == 1

"""What the history and trace tests share: a user's history and an order's story, written by
the real command consumer (and reactor) over real Redis."""

from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.asyncio import Redis

from events.commands import (
    ChangeDisplayName,
    MoneyInput,
    OrderLineInput,
    PlaceOrder,
    RestockVariant,
)
from events.envelope import Envelope
from infra.command_log import envelope_for, submit
from infra.identity import registration
from infra.settings import Settings
from tests.infra.commerce_support import send, settle
from worker.commands import CommandConsumer
from worker.consumer import StreamConsumer
from worker.deps import Deps
from worker.reactor import Reactor

HASH = "$argon2id$v=19$the-hash-nobody-may-see"
SKU = "LAMP-BLUE"
PRICE = MoneyInput(amount=1250, currency="EUR")


@dataclass
class Story:
    redis: Redis
    settings: Settings
    consumers: list[StreamConsumer]

    async def settle(self) -> None:
        await settle(*self.consumers)

    async def order(self, order_id: str, quantity: int = 1) -> Envelope:
        line = OrderLineInput(product_id="p1", sku=SKU, quantity=quantity, unit_price=PRICE)
        command = PlaceOrder(order_id=order_id, customer_id="cust-1", lines=(line,))
        return await send(self.redis, self.settings, command, "cust-1", "customer")


async def story_of(settings: Settings, redis: Redis, arq_pool: ArqRedis) -> Story:
    def deps(name: str) -> Deps:
        return Deps(settings=settings, redis=redis, consumer=name, arq=arq_pool)

    consumers: list[StreamConsumer] = [CommandConsumer(deps("c1")), Reactor(deps("r1"))]
    for consumer in consumers:
        await consumer.prepare()
    restock = RestockVariant(sku=SKU, product_id="p1", brand_id="b1", quantity=1)
    await send(redis, settings, restock, "admin-ann", "admin")
    await settle(*consumers)
    return Story(redis, settings, consumers)


async def alice(redis: Redis, settings: Settings) -> tuple[str, list[Envelope]]:
    """A user registered, then renamed twice, by the real command consumer."""
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1"))
    await consumer.prepare()
    command, aggregate_id = registration(
        email="alice@example.com",
        password_hash=HASH,
        display_name="Alice",
        partitions=settings.partitions,
    )
    sent = [envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)]
    for name in ("Al", "Ali"):
        rename = ChangeDisplayName(user_id=command.user_id, display_name=name)
        sent.append(envelope_for(settings=settings, command=rename, aggregate_id=aggregate_id))
    for envelope in sent:
        assert await submit(redis, settings, envelope)
    await settle(consumer)
    return aggregate_id, sent

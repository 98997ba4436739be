"""Who an order's topic is for, read at subscribe time: its customer and its assigned courier.

Read from the order's own history, not the order read model: the history is written by the same
commit that records the command's result, so a customer who has just been told their order was
placed may subscribe at once, without waiting for the projector to catch up.
"""

import logging

import msgspec
from redis.asyncio import Redis

from events import aggregate_ids
from events.codec import decode_event
from events.events import CourierAssigned, OrderPlaced
from events.upcasting import MissingUpcaster
from infra import keys
from infra.errors import translated
from infra.event_store import load_history
from infra.settings import Settings

log = logging.getLogger("sluice.relay")

# Only these events say who an order is for; the others are not even decoded.
_WHO = frozenset({"OrderPlaced", "CourierAssigned"})


async def order_audience(redis: "Redis", settings: Settings, order_id: str) -> frozenset[str]:
    """The users who may follow `order:<order_id>` besides admins; empty for an unknown order.

    Raises `Unavailable` when Redis cannot be reached."""
    aggregate_id = aggregate_ids.order(order_id)
    partition = keys.partition_of_aggregate(aggregate_id, settings.partitions)
    customer: str | None = None
    courier: str | None = None
    try:
        async with translated():
            records = await load_history(redis, partition, aggregate_id)
        for record in records:
            if record.event not in _WHO:
                continue
            match decode_event(record):
                case OrderPlaced(customer_id=customer_id):
                    customer = customer_id
                case CourierAssigned(courier_id=courier_id):
                    courier = courier_id  # the latest assignment replaces the one before
    except (msgspec.DecodeError, MissingUpcaster) as error:
        # Fail closed: an order whose history cannot be read is shown to admins only.
        log.warning("unreadable history of %s: %s", aggregate_id, error)
        return frozenset()
    return frozenset(who for who in (customer, courier) if who is not None)

"""Orders as their customers, couriers and admins read them: status, lines, history, lists.

The status and the courier are fields written by version; each status change is also kept as
`h:<version>` (a fact of its own, the same however often it is written), so the history is
whole even when its events were applied out of order. Lists are newest first (by placement).
"""

from typing import Any

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.views import (
    MAX_PAGE,
    Dimension,
    Price,
    fields_of,
    id_of,
    load,
    page,
    queue_merge,
    queue_reindex,
    sort_key,
)

HISTORY = "h:"
SCAN_CHUNK = 50
INDEXES = (
    Dimension(keys.orders()),
    Dimension(keys.orders_of_customer(""), field="customer_id"),
    Dimension(keys.orders_of_courier(""), field="courier_id"),
    Dimension(keys.orders_with_status(""), field="status"),
)


class OrderLineView(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    sku: str
    quantity: int
    unit_price: Price


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    at: int  # epoch milliseconds
    reason: str | None = None  # why it was rejected or cancelled


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    courier_id: str | None
    status: str
    lines: tuple[OrderLineView, ...]
    total: Price
    placed_at: int
    reason: str | None  # of the rejection or cancellation
    history: tuple[StatusChange, ...]  # oldest first


def queue_placed(
    pipe: Any,
    order_id: str,
    version: int,
    *,
    customer_id: str,
    lines: list[OrderLineView],
    total: Price,
    placed_at: int,
    at: int,
) -> None:
    fields = {
        "order_id": order_id,
        "customer_id": customer_id,
        "lines": msgspec.to_builtins(lines),
        "total": msgspec.to_builtins(total),
        "placed_at": placed_at,
        "sort_key": sort_key(placed_at, order_id),
    }
    queue_merge(pipe, keys.order(order_id), version, fields)
    queue_status(pipe, order_id, version, status="placed", at=at)


def queue_status(
    pipe: Any, order_id: str, version: int, *, status: str, at: int, reason: str | None = None
) -> None:
    key = keys.order(order_id)
    change = StatusChange(status=status, at=at, reason=reason)
    fields: dict[str, Any] = {"status": status}
    if reason is not None:
        fields["reason"] = reason
    queue_merge(pipe, key, version, fields)
    pipe.hset(key, f"{HISTORY}{version}", msgspec.json.encode(change))
    queue_reindex(pipe, key, INDEXES)


def queue_courier(pipe: Any, order_id: str, courier_id: str, version: int) -> None:
    queue_merge(pipe, keys.order(order_id), version, {"courier_id": courier_id})
    queue_reindex(pipe, keys.order(order_id), INDEXES)


def _order(raw: dict[bytes, bytes]) -> OrderView | None:
    fields = fields_of(raw)
    if "lines" not in fields:
        return None  # not placed yet, as far as the projector got
    history = sorted(
        (int(name[len(HISTORY) :]), change)
        for name, change in fields.items()
        if name.startswith(HISTORY)
    )
    return OrderView(
        order_id=fields["order_id"],
        customer_id=fields["customer_id"],
        courier_id=fields.get("courier_id"),
        status=fields["status"],
        lines=tuple(msgspec.convert(fields["lines"], list[OrderLineView])),
        total=msgspec.convert(fields["total"], Price),
        placed_at=fields["placed_at"],
        reason=fields.get("reason"),
        history=tuple(msgspec.convert(change, StatusChange) for _, change in history),
    )


async def get_order(redis: "Redis", order_id: str) -> OrderView | None:
    [raw] = await load(redis, [keys.order(order_id)])
    return _order(raw)


async def list_orders(
    redis: "Redis",
    *,
    customer_id: str | None = None,
    courier_id: str | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int = 20,
) -> tuple[list[OrderView], str | None]:
    """Orders newest first matching every filter given, and the next page's cursor.

    One filter reads its own index. Several read the narrowest one (customer, then courier,
    then status) and check the others on each order, so a page may hold fewer than `limit`
    orders while its cursor still leads on.
    """
    limit = max(1, min(limit, MAX_PAGE))
    wanted = {"customer_id": customer_id, "courier_id": courier_id, "status": status}
    wanted = {name: value for name, value in wanted.items() if value is not None}
    chunk = limit if len(wanted) <= 1 else max(limit, SCAN_CHUNK)
    if customer_id is not None:
        index = keys.orders_of_customer(customer_id)
    elif courier_id is not None:
        index = keys.orders_of_courier(courier_id)
    elif status is not None:
        index = keys.orders_with_status(status)
    else:
        index = keys.orders()
    found: list[OrderView] = []
    cursor = after
    while True:
        members, next_cursor = await page(redis, index, cursor, chunk)
        loaded = await load(redis, [keys.order(id_of(member)) for member in members])
        for member, view in zip(members, map(_order, loaded), strict=True):
            if view is not None and all(getattr(view, k) == v for k, v in wanted.items()):
                found.append(view)
                if len(found) == limit:
                    more = member != members[-1] or next_cursor is not None
                    return found, member if more else None
        if next_cursor is None:
            return found, None
        cursor = next_cursor

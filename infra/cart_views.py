"""Each customer's cart, one line per SKU, as the cart's events leave it.

A line is its own field (`line:<SKU>`, null once removed). Clearing the cart writes the field
`cleared`, whose version marks every line written before it as gone: a line is in the cart if it
is newer than the last clearing, whatever order the events were applied in.
"""

from typing import Any

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.views import fields_of, load, queue_merge, versions_of

LINE = "line:"


class CartLineView(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    sku: str
    quantity: int


class CartView(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    lines: tuple[CartLineView, ...]  # by SKU


def queue_line(
    pipe: Any, user_id: str, sku: str, version: int, *, product_id: str, quantity: int
) -> None:
    line = {"product_id": product_id, "quantity": quantity}
    queue_merge(pipe, keys.cart(user_id), version, {f"{LINE}{sku}": line})


def queue_line_removed(pipe: Any, user_id: str, sku: str, version: int) -> None:
    queue_merge(pipe, keys.cart(user_id), version, {f"{LINE}{sku}": None})


def queue_cleared(pipe: Any, user_id: str, version: int) -> None:
    queue_merge(pipe, keys.cart(user_id), version, {"cleared": True})


async def get_cart(redis: "Redis", user_id: str) -> CartView:
    """The cart, empty if the customer never filled one."""
    [raw] = await load(redis, [keys.cart(user_id)])
    fields, versions = fields_of(raw), versions_of(raw)
    cleared = versions.get("cleared", -1)
    lines = [
        CartLineView(
            product_id=line["product_id"], sku=name[len(LINE) :], quantity=line["quantity"]
        )
        for name, line in sorted(fields.items())
        if name.startswith(LINE) and line is not None and versions[name] > cleared
    ]
    return CartView(user_id=user_id, lines=tuple(lines))

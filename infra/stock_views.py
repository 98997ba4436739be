"""Stock per SKU as the inventory events report it: units available to order, and on hand."""

from typing import Any

from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.views import queue_merge


def queue_stock(
    pipe: Any, sku: str, version: int, *, available: int | None = None, on_hand: int | None = None
) -> None:
    """Every inventory event states the SKU's levels after it, so the newest one is the truth."""
    fields = {
        name: value
        for name, value in (("available", available), ("on_hand", on_hand))
        if value is not None
    }
    queue_merge(pipe, keys.stock(sku), version, fields)


async def stock_of(redis: "Redis", skus: list[str]) -> dict[str, int]:
    """Units available per SKU (0 for a SKU never restocked)."""
    if not skus:
        return {}
    async with translated():
        async with redis.pipeline(transaction=False) as pipe:
            for sku in skus:
                pipe.hget(keys.stock(sku), "available")
            found: list[bytes | None] = await pipe.execute()
    return {sku: int(raw) if raw is not None else 0 for sku, raw in zip(skus, found, strict=True)}

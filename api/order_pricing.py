"""Order lines as the gateway stamps them: each priced from its published product.

A client names products, SKUs and quantities; the unit price is the product's current price in
the catalog read model. A product that is unknown or unpublished, or that does not sell the SKU,
is refused with the path of the offending field.
"""

import asyncio
from dataclasses import dataclass

from redis.asyncio import Redis

from api.command_spec import invalid
from events.commands import MoneyInput, OrderLineInput
from infra.catalog_views import ProductView, get_product


@dataclass(frozen=True)
class Wanted:
    """One line a client wants, and where it came from (for the error path)."""

    product_id: str
    sku: str
    quantity: int
    path: str  # e.g. `$.payload.lines[2]`, or `$.payload.lines` for a cart line


async def published_products(redis: "Redis", product_ids: list[str]) -> dict[str, ProductView]:
    """The published ones among `product_ids`, by id."""
    unique = list(dict.fromkeys(product_ids))
    found = await asyncio.gather(*(get_product(redis, product_id) for product_id in unique))
    return {view.product_id: view for view in found if view is not None and view.published}


def sells(product: ProductView, sku: str) -> bool:
    return any(variant.sku == sku for variant in product.variants)


def check_line(products: dict[str, ProductView], line: Wanted, *, cart: bool) -> ProductView:
    product = products.get(line.product_id)
    where = "" if not cart else f" (your cart's line for SKU {line.sku})"
    if product is None:
        path = line.path if cart else f"{line.path}.product_id"
        raise invalid(f"no published product {line.product_id}{where}", path)
    if not sells(product, line.sku):
        path = line.path if cart else f"{line.path}.sku"
        raise invalid(f"product {line.product_id} does not sell SKU {line.sku}{where}", path)
    return product


async def priced(redis: "Redis", wanted: list[Wanted], *, cart: bool) -> tuple[OrderLineInput, ...]:
    products = await published_products(redis, [line.product_id for line in wanted])
    lines = []
    for line in wanted:
        price = check_line(products, line, cart=cart).price
        lines.append(
            OrderLineInput(
                product_id=line.product_id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=MoneyInput(amount=price.amount, currency=price.currency),
            )
        )
    return tuple(lines)

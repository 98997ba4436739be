"""The catalog's read models: brands, products (published ones indexed), and each SKU's product.

Lists are newest first (by creation time) and paginated by cursor: pass the `next_cursor` of
one page as `after` to get the next; it is None on the last page.
"""

from typing import Any

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.views import (
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

# A brand is listed until deleted; a product while published, in all and in its brand's list.
BRAND_INDEXES = (Dimension(keys.brands(), guard="deleted", guard_value=False),)
PRODUCT_INDEXES = (
    Dimension(keys.products(), guard="published", guard_value=True),
    Dimension(keys.products_of_brand(""), field="brand_id", guard="published", guard_value=True),
)


class BrandView(msgspec.Struct, frozen=True, kw_only=True):
    brand_id: str
    name: str
    description: str


class VariantView(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str


class ProductView(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    brand_id: str
    name: str
    description: str
    price: Price
    variants: tuple[VariantView, ...]
    published: bool


_sku_product = msgspec.json.Decoder(tuple[str, str])


def queue_brand(
    pipe: Any, brand_id: str, version: int, *, name: str, description: str, created_at: int | None
) -> None:
    """A brand created (with its creation time) or updated."""
    fields: dict[str, Any] = {"brand_id": brand_id, "name": name, "description": description}
    if created_at is not None:
        fields |= {"deleted": False, "sort_key": sort_key(created_at, brand_id)}
    queue_merge(pipe, keys.brand(brand_id), version, fields)
    queue_reindex(pipe, keys.brand(brand_id), BRAND_INDEXES)


def queue_brand_deleted(pipe: Any, brand_id: str, version: int) -> None:
    queue_merge(pipe, keys.brand(brand_id), version, {"deleted": True})
    queue_reindex(pipe, keys.brand(brand_id), BRAND_INDEXES)


def queue_product_created(pipe: Any, view: ProductView, version: int, *, created_at: int) -> None:
    """A new product (unpublished), and each of its SKUs pointing back at it."""
    fields = msgspec.to_builtins(view) | {"sort_key": sort_key(created_at, view.product_id)}
    queue_merge(pipe, keys.product(view.product_id), version, fields)
    queue_reindex(pipe, keys.product(view.product_id), PRODUCT_INDEXES)
    for variant in view.variants:
        # A SKU belongs to one product forever (its claim is never released): no version needed.
        pipe.set(
            keys.sku_product(variant.sku), msgspec.json.encode([view.product_id, view.brand_id])
        )


def queue_product_updated(
    pipe: Any, product_id: str, version: int, *, name: str, description: str, price: Price
) -> None:
    fields = {"name": name, "description": description, "price": msgspec.to_builtins(price)}
    queue_merge(pipe, keys.product(product_id), version, fields)


def queue_publication(
    pipe: Any, product_id: str, brand_id: str, version: int, *, published: bool
) -> None:
    fields = {"brand_id": brand_id, "published": published}
    queue_merge(pipe, keys.product(product_id), version, fields)
    queue_reindex(pipe, keys.product(product_id), PRODUCT_INDEXES)


def _brand(raw: dict[bytes, bytes]) -> BrandView | None:
    fields = fields_of(raw)
    if "name" not in fields or fields.get("deleted", False):
        return None
    return BrandView(
        brand_id=fields["brand_id"], name=fields["name"], description=fields["description"]
    )


def _product(raw: dict[bytes, bytes]) -> ProductView | None:
    fields = fields_of(raw)
    if "variants" not in fields:
        return None  # not created yet, as far as the projector got
    return ProductView(
        product_id=fields["product_id"],
        brand_id=fields["brand_id"],
        name=fields["name"],
        description=fields["description"],
        price=msgspec.convert(fields["price"], Price),
        variants=tuple(msgspec.convert(fields["variants"], list[VariantView])),
        published=fields.get("published", False),
    )


async def get_brand(redis: "Redis", brand_id: str) -> BrandView | None:
    """The brand, or None if unknown or deleted."""
    [raw] = await load(redis, [keys.brand(brand_id)])
    return _brand(raw)


async def list_brands(
    redis: "Redis", *, after: str | None = None, limit: int = 20
) -> tuple[list[BrandView], str | None]:
    members, cursor = await page(redis, keys.brands(), after, limit)
    found = await load(redis, [keys.brand(id_of(member)) for member in members])
    return [view for view in map(_brand, found) if view is not None], cursor


async def get_product(redis: "Redis", product_id: str) -> ProductView | None:
    """The product, published or not (who may see an unpublished one is the caller's call)."""
    [raw] = await load(redis, [keys.product(product_id)])
    return _product(raw)


async def list_products(
    redis: "Redis", *, brand_id: str | None = None, after: str | None = None, limit: int = 20
) -> tuple[list[ProductView], str | None]:
    """Published products newest first, all or one brand's, and the next page's cursor."""
    index = keys.products() if brand_id is None else keys.products_of_brand(brand_id)
    members, cursor = await page(redis, index, after, limit)
    found = await load(redis, [keys.product(id_of(member)) for member in members])
    return [view for view in map(_product, found) if view is not None], cursor


async def sku_product(redis: "Redis", sku: str) -> tuple[str, str] | None:
    """(product_id, brand_id) of the product selling `sku`, or None."""
    async with translated():
        raw = await redis.get(keys.sku_product(sku))
    return None if raw is None else _sku_product.decode(raw)

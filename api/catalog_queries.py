"""The catalog as shoppers read it: brands, published products, a product with its stock."""

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import Principal, authenticate
from api.command_spec import BRAND_MODERATOR_PREFIX
from api.http import ok
from api.queries import (
    PageQuery,
    ProductsQuery,
    Query,
    listed,
    not_found,
    parse_query,
    path_id,
    shown,
)
from api.state import state_of
from infra.catalog_views import ProductView, get_brand, get_product, list_brands, list_products
from infra.stock_views import stock_of


async def products(request: Request) -> Response:
    query = parse_query(request, ProductsQuery)
    found, cursor = await list_products(
        state_of(request).redis, brand_id=query.brand_id, after=query.after, limit=query.limit
    )
    return listed("products", found, cursor)


def may_see_unpublished(principal: Principal | None, product: ProductView) -> bool:
    """Its brand's moderators and admins prepare a product before shoppers see it."""
    if principal is None:
        return False
    return principal.is_admin or f"{BRAND_MODERATOR_PREFIX}{product.brand_id}" in principal.roles


async def product(request: Request) -> Response:
    product_id = path_id(request, "product_id", "product")
    parse_query(request, Query)  # a detail takes no parameters
    principal = await authenticate(request)
    redis = state_of(request).redis
    view = await get_product(redis, product_id)
    if view is None or not (view.published or may_see_unpublished(principal, view)):
        raise not_found("product", product_id)
    stock = await stock_of(redis, [variant.sku for variant in view.variants])
    body: dict[str, Any] = shown(view)
    body["variants"] = [
        {**msgspec.to_builtins(variant), "available": stock.get(variant.sku, 0)}
        for variant in view.variants
    ]
    return ok(product=body)


async def brands(request: Request) -> Response:
    query = parse_query(request, PageQuery)
    found, cursor = await list_brands(state_of(request).redis, after=query.after, limit=query.limit)
    return listed("brands", found, cursor)


async def brand(request: Request) -> Response:
    brand_id = path_id(request, "brand_id", "brand")
    parse_query(request, Query)
    view = await get_brand(state_of(request).redis, brand_id)
    if view is None:
        raise not_found("brand", brand_id)
    return ok(brand=shown(view))


ROUTES = [
    Route("/products", products, methods=["GET"]),
    Route("/products/{product_id}", product, methods=["GET"]),
    Route("/brands", brands, methods=["GET"]),
    Route("/brands/{brand_id}", brand, methods=["GET"]),
]

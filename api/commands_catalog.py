"""Catalog commands: brands (admins), their moderators, products and stock (moderators, admins).

A moderator holds `brand_moderator:<brand_id>`; the gateway lets any moderator through and the
domain checks the brand on the aggregate's own record (a moderator edits only their brand).
"""

from typing import Any

from api import new_ids
from api.command_spec import (
    ADMINS,
    MODERATORS,
    SIGNED_IN,
    Call,
    CommandSpec,
    NewId,
    as_sent,
    invalid,
)
from events.commands import (
    AcceptModeratorInvite,
    Command,
    CreateBrand,
    CreateProduct,
    DeleteBrand,
    InviteModerator,
    PublishProduct,
    RestockVariant,
    UnpublishProduct,
    UpdateBrand,
    UpdateProduct,
)
from events.requests import (
    CreateBrandRequest,
    CreateProductRequest,
    ProductRequest,
    RestockVariantRequest,
)
from infra.catalog_views import get_brand, sku_product
from infra.read_models import get_user
from infra.settings import Settings


def brand_name_claim(name: str) -> str:
    """As `domain.brand.brand_name_claim`: case and spacing make no new name."""
    return "brand-name:" + " ".join(name.casefold().split())


def sku_claim(sku: str) -> str:
    """As `domain.product.sku_claim`."""
    return f"sku:{sku}"


def new_brand_id(settings: Settings, request: Any, command_id: str) -> str:
    # Brands and products all live in the catalog partition (`infra.keys`), where every name
    # and SKU claim is checked: any id will do.
    return new_ids.derived("brand", command_id)


def new_product_id(settings: Settings, request: Any, command_id: str) -> str:
    return new_ids.derived("product", command_id)


async def build_create_brand(call: Call) -> Command:
    request = call.payload(CreateBrandRequest)
    return CreateBrand(brand_id=call.new_id, name=request.name, description=request.description)


async def build_invite_moderator(call: Call) -> Command:
    command = call.payload(InviteModerator)
    if await get_user(call.state.redis, command.invitee_user_id) is None:
        raise invalid(f"no user {command.invitee_user_id}", "$.payload.invitee_user_id")
    return command


async def build_create_product(call: Call) -> Command:
    request = call.payload(CreateProductRequest)
    if await get_brand(call.state.redis, request.brand_id) is None:
        raise invalid(f"no brand {request.brand_id}", "$.payload.brand_id")
    return CreateProduct(
        product_id=call.new_id,
        brand_id=request.brand_id,
        name=request.name,
        description=request.description,
        price=request.price,
        variants=request.variants,
    )


async def build_publish_product(call: Call) -> Command:
    return PublishProduct(product_id=call.payload(ProductRequest).product_id)


async def build_unpublish_product(call: Call) -> Command:
    return UnpublishProduct(product_id=call.payload(ProductRequest).product_id)


async def build_restock_variant(call: Call) -> Command:
    request = call.payload(RestockVariantRequest)
    # The SKU's product and brand come from the catalog, never from the client: the domain
    # authorises the restock on that brand.
    owner = await sku_product(call.state.redis, request.sku)
    if owner is None:
        raise invalid(f"no product sells SKU {request.sku}", "$.payload.sku")
    product_id, brand_id = owner
    return RestockVariant(
        sku=request.sku, product_id=product_id, brand_id=brand_id, quantity=request.quantity
    )


SPECS = (
    CommandSpec(
        "CreateBrand",
        CreateBrandRequest,
        build_create_brand,
        roles=ADMINS,
        admin_only=True,
        new_id=NewId("brand_id", new_brand_id),
    ),
    CommandSpec("UpdateBrand", UpdateBrand, as_sent, roles=MODERATORS),
    CommandSpec("DeleteBrand", DeleteBrand, as_sent, roles=ADMINS, admin_only=True),
    CommandSpec("InviteModerator", InviteModerator, build_invite_moderator, MODERATORS),
    CommandSpec("AcceptModeratorInvite", AcceptModeratorInvite, as_sent, SIGNED_IN),
    CommandSpec(
        "CreateProduct",
        CreateProductRequest,
        build_create_product,
        roles=MODERATORS,
        new_id=NewId("product_id", new_product_id),
    ),
    CommandSpec("UpdateProduct", UpdateProduct, as_sent, MODERATORS),
    CommandSpec("PublishProduct", ProductRequest, build_publish_product, MODERATORS),
    CommandSpec("UnpublishProduct", ProductRequest, build_unpublish_product, MODERATORS),
    CommandSpec("RestockVariant", RestockVariantRequest, build_restock_variant, MODERATORS),
)

"""The product aggregate (`product:<id>`): a brand's product, its price, variants and publication.

Each variant's SKU is claimed (`sku:<SKU>` → product id) when the product is created, so no two
products sell one SKU. Edits are for an admin or a moderator of the product's own brand, checked
against the brand recorded in the product, never against one named by the command.
"""

from collections import Counter
from dataclasses import dataclass

from domain import roles
from domain.aggregate import AggregateRules, Claims, Context
from domain.changes import changed
from domain.errors import DuplicateSku, ProductExists, SkuTaken, UnknownProduct, UnsupportedCommand
from events.commands import (
    Command,
    CreateProduct,
    MoneyInput,
    PublishProduct,
    UnpublishProduct,
    UpdateProduct,
)
from events.events import (
    Event,
    Money,
    ProductCreated,
    ProductPublished,
    ProductUnpublished,
    ProductUpdated,
    Variant,
)


@dataclass(frozen=True)
class Product:
    product_id: str
    brand_id: str
    name: str
    description: str
    price: Money
    variants: tuple[Variant, ...]
    published: bool = False


def sku_claim(sku: str) -> str:
    return f"sku:{sku}"


def money(price: MoneyInput) -> Money:
    return Money(amount=price.amount, currency=price.currency)


def claims(command: Command) -> Claims:
    match command:
        case CreateProduct(product_id=product_id, variants=variants):
            return {sku_claim(variant.sku): product_id for variant in variants}
        case _:
            return {}


def decide(state: Product | None, command: Command, ctx: Context) -> list[Event]:
    match command:
        case CreateProduct():
            return _create(state, command, ctx)
        case UpdateProduct():
            product = _editable(state, command.product_id, ctx, "edit this product")
            return _update(product, command)
        case PublishProduct():
            product = _editable(state, command.product_id, ctx, "publish this product")
            if product.published:
                return []
            return [ProductPublished(product_id=product.product_id, brand_id=product.brand_id)]
        case UnpublishProduct():
            product = _editable(state, command.product_id, ctx, "unpublish this product")
            if not product.published:
                return []
            return [ProductUnpublished(product_id=product.product_id, brand_id=product.brand_id)]
        case _:
            raise UnsupportedCommand(type(command).__name__)


def _create(state: Product | None, command: CreateProduct, ctx: Context) -> list[Event]:
    roles.require_catalog_editor(ctx, command.brand_id, "add products to this brand")
    if state is not None:
        raise ProductExists(f"product {command.product_id} already exists")
    repeated = [sku for sku, n in Counter(v.sku for v in command.variants).items() if n > 1]
    if repeated:
        raise DuplicateSku(f"SKU {repeated[0]} appears twice among the variants")
    for variant in command.variants:
        owner = ctx.owners.get(sku_claim(variant.sku))
        if owner is not None and owner != command.product_id:
            raise SkuTaken(f"SKU {variant.sku} belongs to another product")
    return [
        ProductCreated(
            product_id=command.product_id,
            brand_id=command.brand_id,
            name=command.name,
            description=command.description,
            price=money(command.price),
            variants=tuple(Variant(sku=v.sku, name=v.name) for v in command.variants),
        )
    ]


def _editable(state: Product | None, product_id: str, ctx: Context, what: str) -> Product:
    if state is None:
        raise UnknownProduct(f"no product {product_id}")
    roles.require_catalog_editor(ctx, state.brand_id, what)
    return state


def _update(product: Product, command: UpdateProduct) -> list[Event]:
    name = command.name if command.name is not None else product.name
    description = command.description if command.description is not None else product.description
    price = money(command.price) if command.price is not None else product.price
    if (name, description, price) == (product.name, product.description, product.price):
        return []
    return [
        ProductUpdated(
            product_id=product.product_id, name=name, description=description, price=price
        )
    ]


def evolve(state: Product | None, event: Event) -> Product | None:
    match event:
        case ProductCreated():
            return Product(
                product_id=event.product_id,
                brand_id=event.brand_id,
                name=event.name,
                description=event.description,
                price=event.price,
                variants=event.variants,
            )
        case ProductUpdated() if state is not None:
            return changed(state, name=event.name, description=event.description, price=event.price)
        case ProductPublished() if state is not None:
            return changed(state, published=True)
        case ProductUnpublished() if state is not None:
            return changed(state, published=False)
        case _:
            return state


RULES = AggregateRules(evolve=evolve, decide=decide, claims=claims, state_type=Product)

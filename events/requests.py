"""What clients may put in a request body, per command and per auth route.

Only commands whose client shape differs from the stored one (ids or prices the gateway
stamps, secrets it hashes) have a request here; the others are sent as the command itself.

Requests reject unknown fields and bound every string; the gateway turns a request into the
stored command (hashing secrets, choosing ids) before anything is appended.
"""

from typing import Annotated

import msgspec

from events.commands import MoneyInput, Variants
from events.types import (
    BrandName,
    Description,
    DisplayName,
    Email,
    Identifier,
    Password,
    ProductName,
    Quantity,
    Sku,
    StockLevel,
)


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every client payload."""


class RegisterUserRequest(Request, frozen=True, kw_only=True):
    email: Email
    password: Password
    display_name: DisplayName | None = None


class ChangeDisplayNameRequest(Request, frozen=True, kw_only=True):
    display_name: DisplayName


class LoginRequest(Request, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


# --- The commerce domain ---------------------------------------------------------------------
# Ids the system chooses (brand, product, order), the actor's own id (cart, customer), prices
# and a SKU's product and brand are stamped by the gateway, never taken from the client.


class CreateBrandRequest(Request, frozen=True, kw_only=True):
    name: BrandName
    description: Description = ""


class CreateProductRequest(Request, frozen=True, kw_only=True):
    brand_id: Identifier
    name: ProductName
    description: Description = ""
    price: MoneyInput
    variants: Variants


class ProductRequest(Request, frozen=True, kw_only=True):
    """`PublishProduct` and `UnpublishProduct`."""

    product_id: Identifier


class RestockVariantRequest(Request, frozen=True, kw_only=True):
    sku: Sku
    quantity: StockLevel


class AddToCartRequest(Request, frozen=True, kw_only=True):
    product_id: Identifier
    sku: Sku
    quantity: Quantity


class RemoveFromCartRequest(Request, frozen=True, kw_only=True):
    sku: Sku


class OrderLineRequest(Request, frozen=True, kw_only=True):
    product_id: Identifier
    sku: Sku
    quantity: Quantity


RequestedLines = Annotated[tuple[OrderLineRequest, ...], msgspec.Meta(min_length=1, max_length=50)]


class PlaceOrderRequest(Request, frozen=True, kw_only=True):
    """Without `lines`, the order is placed from the customer's cart."""

    lines: RequestedLines | None = None


class OrderRequest(Request, frozen=True, kw_only=True):
    """`StartPicking`, `CompletePicking`, `PickUpOrder` and `DeliverOrder`."""

    order_id: Identifier


class MarkNotificationReadRequest(Request, frozen=True, kw_only=True):
    notification_id: Identifier

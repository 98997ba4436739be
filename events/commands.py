"""Commands as the workers receive them: validated, stamped, free of secrets."""

from typing import Annotated

import msgspec

from events.types import (
    BrandName,
    CurrencyCode,
    Description,
    DisplayName,
    Email,
    Identifier,
    MinorUnits,
    ProductName,
    Quantity,
    Reason,
    Role,
    Sku,
    StockLevel,
)


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every command a worker handles."""


class RegisterUser(Command, frozen=True, kw_only=True):
    user_id: Identifier
    email: Email
    display_name: DisplayName
    password_hash: str
    roles: tuple[Role, ...] = ("customer",)


class RecordLogin(Command, frozen=True, kw_only=True):
    user_id: Identifier
    session_id: str


class ChangeDisplayName(Command, frozen=True, kw_only=True):
    user_id: Identifier
    display_name: DisplayName


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls for cls in (RegisterUser, RecordLogin, ChangeDisplayName)
}


# --- The commerce domain ---------------------------------------------------------------------
# Nested inputs reject unknown fields like the commands that carry them; the events record
# their own tolerant copies (`events.events.Money`, `Variant`, `OrderLine`).


class MoneyInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount: MinorUnits
    currency: CurrencyCode


class VariantInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sku: Sku
    name: ProductName


class OrderLineInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A line as the gateway stamps it: the unit price read from the published product."""

    product_id: Identifier
    sku: Sku
    quantity: Quantity
    unit_price: MoneyInput


Variants = Annotated[tuple[VariantInput, ...], msgspec.Meta(min_length=1, max_length=50)]
OrderLines = Annotated[tuple[OrderLineInput, ...], msgspec.Meta(min_length=1, max_length=50)]


class AssignRole(Command, frozen=True, kw_only=True):
    user_id: Identifier
    role: Role


class RevokeRole(Command, frozen=True, kw_only=True):
    user_id: Identifier
    role: Role


class GrantSuperAdmin(Command, frozen=True, kw_only=True):
    user_id: Identifier


class RevokeSuperAdmin(Command, frozen=True, kw_only=True):
    user_id: Identifier


class CreateBrand(Command, frozen=True, kw_only=True):
    brand_id: Identifier
    name: BrandName
    description: Description = ""


class UpdateBrand(Command, frozen=True, kw_only=True):
    brand_id: Identifier
    name: BrandName | None = None
    description: Description | None = None


class DeleteBrand(Command, frozen=True, kw_only=True):
    brand_id: Identifier


class InviteModerator(Command, frozen=True, kw_only=True):
    brand_id: Identifier
    invitee_user_id: Identifier


class AcceptModeratorInvite(Command, frozen=True, kw_only=True):
    brand_id: Identifier


class CreateProduct(Command, frozen=True, kw_only=True):
    product_id: Identifier
    brand_id: Identifier
    name: ProductName
    description: Description = ""
    price: MoneyInput
    variants: Variants


class UpdateProduct(Command, frozen=True, kw_only=True):
    product_id: Identifier
    name: ProductName | None = None
    description: Description | None = None
    price: MoneyInput | None = None


class PublishProduct(Command, frozen=True, kw_only=True):
    product_id: Identifier


class UnpublishProduct(Command, frozen=True, kw_only=True):
    product_id: Identifier


class RestockVariant(Command, frozen=True, kw_only=True):
    """Sets the SKU's on-hand count; the gateway stamps its product and brand from the catalog."""

    sku: Sku
    product_id: Identifier
    brand_id: Identifier
    quantity: StockLevel


class ReserveInventory(Command, frozen=True, kw_only=True):
    sku: Sku
    order_id: Identifier
    quantity: Quantity


class ReleaseInventory(Command, frozen=True, kw_only=True):
    sku: Sku
    order_id: Identifier


class CommitInventory(Command, frozen=True, kw_only=True):
    sku: Sku
    order_id: Identifier


class AddToCart(Command, frozen=True, kw_only=True):
    user_id: Identifier
    product_id: Identifier
    sku: Sku
    quantity: Quantity


class RemoveFromCart(Command, frozen=True, kw_only=True):
    user_id: Identifier
    sku: Sku


class ClearCart(Command, frozen=True, kw_only=True):
    user_id: Identifier


class PlaceOrder(Command, frozen=True, kw_only=True):
    order_id: Identifier
    customer_id: Identifier
    lines: OrderLines
    from_cart: bool = False  # the saga clears the cart only for orders placed from it


class RecordReservation(Command, frozen=True, kw_only=True):
    order_id: Identifier
    sku: Sku


class RejectOrder(Command, frozen=True, kw_only=True):
    order_id: Identifier
    reason: Reason


class ExpireOrder(Command, frozen=True, kw_only=True):
    order_id: Identifier


class CancelOrder(Command, frozen=True, kw_only=True):
    order_id: Identifier
    reason: Description = ""


class StartPicking(Command, frozen=True, kw_only=True):
    order_id: Identifier


class CompletePicking(Command, frozen=True, kw_only=True):
    order_id: Identifier


class AssignCourier(Command, frozen=True, kw_only=True):
    order_id: Identifier
    courier_id: Identifier


class PickUpOrder(Command, frozen=True, kw_only=True):
    order_id: Identifier


class DeliverOrder(Command, frozen=True, kw_only=True):
    order_id: Identifier


class MarkNotificationRead(Command, frozen=True, kw_only=True):
    user_id: Identifier
    notification_id: Identifier


COMMAND_TYPES.update(
    {
        cls.__name__: cls
        for cls in (
            AssignRole,
            RevokeRole,
            GrantSuperAdmin,
            RevokeSuperAdmin,
            CreateBrand,
            UpdateBrand,
            DeleteBrand,
            InviteModerator,
            AcceptModeratorInvite,
            CreateProduct,
            UpdateProduct,
            PublishProduct,
            UnpublishProduct,
            RestockVariant,
            ReserveInventory,
            ReleaseInventory,
            CommitInventory,
            AddToCart,
            RemoveFromCart,
            ClearCart,
            PlaceOrder,
            RecordReservation,
            RejectOrder,
            ExpireOrder,
            CancelOrder,
            StartPicking,
            CompletePicking,
            AssignCourier,
            PickUpOrder,
            DeliverOrder,
            MarkNotificationRead,
        )
    }
)

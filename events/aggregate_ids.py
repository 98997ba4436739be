"""Aggregate ids (`<type>:<id>`), and the one each command acts on.

The gateway and the reactor route commands with `aggregate_id_of`, so they cannot disagree with
each other or with `domain.registry.COMMAND_AGGREGATE` (a test holds the two together).
"""

from events.commands import (
    AcceptModeratorInvite,
    AddToCart,
    AssignCourier,
    AssignRole,
    CancelOrder,
    ChangeDisplayName,
    ClearCart,
    Command,
    CommitInventory,
    CompletePicking,
    CreateBrand,
    CreateProduct,
    DeleteBrand,
    DeliverOrder,
    ExpireOrder,
    GrantSuperAdmin,
    InviteModerator,
    MarkNotificationRead,
    PickUpOrder,
    PlaceOrder,
    PublishProduct,
    RecordLogin,
    RecordReservation,
    RegisterUser,
    RejectOrder,
    ReleaseInventory,
    RemoveFromCart,
    ReserveInventory,
    RestockVariant,
    RevokeRole,
    RevokeSuperAdmin,
    StartPicking,
    UnpublishProduct,
    UpdateBrand,
    UpdateProduct,
)

SUPER_ADMINS = "roles:super_admins"  # the singleton that counts super admins


def user(user_id: str) -> str:
    return f"user:{user_id}"


def brand(brand_id: str) -> str:
    return f"brand:{brand_id}"


def product(product_id: str) -> str:
    return f"product:{product_id}"


def sku(code: str) -> str:
    return f"sku:{code}"


def cart(user_id: str) -> str:
    return f"cart:{user_id}"


def order(order_id: str) -> str:
    return f"order:{order_id}"


def notifications(user_id: str) -> str:
    return f"notifications:{user_id}"


def aggregate_id_of(command: Command) -> str:
    match command:
        case RegisterUser() | RecordLogin() | ChangeDisplayName() | AssignRole() | RevokeRole():
            return user(command.user_id)
        case GrantSuperAdmin() | RevokeSuperAdmin():
            return SUPER_ADMINS
        case (
            CreateBrand()
            | UpdateBrand()
            | DeleteBrand()
            | InviteModerator()
            | AcceptModeratorInvite()
        ):
            return brand(command.brand_id)
        case CreateProduct() | UpdateProduct() | PublishProduct() | UnpublishProduct():
            return product(command.product_id)
        case RestockVariant() | ReserveInventory() | ReleaseInventory() | CommitInventory():
            return sku(command.sku)
        case AddToCart() | RemoveFromCart() | ClearCart():
            return cart(command.user_id)
        case (
            PlaceOrder()
            | RecordReservation()
            | RejectOrder()
            | ExpireOrder()
            | CancelOrder()
            | StartPicking()
            | CompletePicking()
            | AssignCourier()
            | PickUpOrder()
            | DeliverOrder()
        ):
            return order(command.order_id)
        case MarkNotificationRead():
            return notifications(command.user_id)
        case _:
            raise ValueError(f"no aggregate for {type(command).__name__}")

"""Which aggregate type each command acts on, and the rules of each aggregate type."""

from domain import (
    brand,
    cart,
    identity,
    inventory,
    notifications,
    order,
    product,
    super_admins,
)
from domain.aggregate import AggregateRules

AGGREGATES: dict[str, AggregateRules] = {
    "user": identity.RULES,
}

COMMAND_AGGREGATE: dict[str, str] = {
    "RegisterUser": "user",
    "RecordLogin": "user",
    "ChangeDisplayName": "user",
}


AGGREGATES.update(
    {
        "roles": super_admins.RULES,
        "brand": brand.RULES,
        "product": product.RULES,
        "sku": inventory.RULES,
        "cart": cart.RULES,
        "order": order.RULES,
        "notifications": notifications.RULES,
    }
)

COMMAND_AGGREGATE.update(
    {
        "AssignRole": "user",
        "RevokeRole": "user",
        "GrantSuperAdmin": "roles",
        "RevokeSuperAdmin": "roles",
        "CreateBrand": "brand",
        "UpdateBrand": "brand",
        "DeleteBrand": "brand",
        "InviteModerator": "brand",
        "AcceptModeratorInvite": "brand",
        "CreateProduct": "product",
        "UpdateProduct": "product",
        "PublishProduct": "product",
        "UnpublishProduct": "product",
        "RestockVariant": "sku",
        "ReserveInventory": "sku",
        "ReleaseInventory": "sku",
        "CommitInventory": "sku",
        "AddToCart": "cart",
        "RemoveFromCart": "cart",
        "ClearCart": "cart",
        "PlaceOrder": "order",
        "RecordReservation": "order",
        "RejectOrder": "order",
        "ExpireOrder": "order",
        "CancelOrder": "order",
        "StartPicking": "order",
        "CompletePicking": "order",
        "AssignCourier": "order",
        "PickUpOrder": "order",
        "DeliverOrder": "order",
        "MarkNotificationRead": "notifications",
    }
)


def aggregate_type(aggregate_id: str) -> str:
    return aggregate_id.partition(":")[0]

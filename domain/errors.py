"""Domain errors: a business rule said no. They become `rejected` results, never retried."""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientError(Exception):
    """Not a "no" but a "not now": a dependency failed. The command is retried with backoff."""


class EmailTaken(DomainError):
    code = "email_taken"


class UserAlreadyExists(DomainError):
    code = "user_exists"


class UnknownUser(DomainError):
    code = "unknown_user"


class UnsupportedCommand(DomainError):
    code = "unsupported_command"


# --- The commerce domain ---------------------------------------------------------------------


class Forbidden(DomainError):
    """The actor's roles, or their relation to the aggregate, do not allow this command."""

    code = "forbidden"


class InvalidTransition(DomainError):
    """The aggregate's status does not allow this command now."""

    code = "invalid_transition"


class UnknownRole(DomainError):
    code = "unknown_role"


class LastSuperAdmin(DomainError):
    code = "last_super_admin"


class BrandExists(DomainError):
    code = "brand_exists"


class UnknownBrand(DomainError):
    code = "unknown_brand"


class BrandNameTaken(DomainError):
    code = "brand_name_taken"


class NoInvitation(DomainError):
    code = "no_invitation"


class ProductExists(DomainError):
    code = "product_exists"


class UnknownProduct(DomainError):
    code = "unknown_product"


class DuplicateSku(DomainError):
    """The same SKU twice within one product's variants or one order's lines."""

    code = "duplicate_sku"


class SkuTaken(DomainError):
    code = "sku_taken"


class SkuOfAnotherProduct(DomainError):
    """A restock names a product or brand other than the one the SKU's inventory belongs to."""

    code = "sku_of_another_product"


class StockBelowReserved(DomainError):
    code = "stock_below_reserved"


class CartFull(DomainError):
    code = "cart_full"


class QuantityLimit(DomainError):
    code = "quantity_limit"


class OrderExists(DomainError):
    code = "order_exists"


class UnknownOrder(DomainError):
    code = "unknown_order"


class MixedCurrencies(DomainError):
    code = "mixed_currencies"


class UnknownOrderLine(DomainError):
    code = "unknown_order_line"

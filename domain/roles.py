"""The role vocabulary and the authorisation questions every aggregate asks of `Context.roles`.

`system` is the role the reactor stamps on the follow-up commands it issues (reservations,
releases, the moderator role of an accepted invite). No command can assign it and the gateway
builds a session's roles from the user read model, so no client ever carries it.
"""

from domain.aggregate import Context
from domain.errors import Forbidden, UnknownRole

CUSTOMER = "customer"
COURIER = "courier"
ADMIN = "admin"
SUPER_ADMIN = "super_admin"
SYSTEM = "system"
BRAND_MODERATOR_PREFIX = "brand_moderator:"

ADMIN_ROLES = frozenset({ADMIN, SUPER_ADMIN})
SYSTEM_ROLES = frozenset({SYSTEM})


def brand_moderator(brand_id: str) -> str:
    return f"{BRAND_MODERATOR_PREFIX}{brand_id}"


def moderated_brand(role: str) -> str | None:
    """The brand a `brand_moderator:<brand_id>` role names, else None."""
    if role.startswith(BRAND_MODERATOR_PREFIX) and len(role) > len(BRAND_MODERATOR_PREFIX):
        return role[len(BRAND_MODERATOR_PREFIX) :]
    return None


def is_known_role(role: str) -> bool:
    return role in {CUSTOMER, COURIER, ADMIN, SUPER_ADMIN} or moderated_brand(role) is not None


def is_admin(ctx: Context) -> bool:
    return not ctx.roles.isdisjoint(ADMIN_ROLES)


def is_super_admin(ctx: Context) -> bool:
    return SUPER_ADMIN in ctx.roles


def is_system(ctx: Context) -> bool:
    return SYSTEM in ctx.roles


def moderates(ctx: Context, brand_id: str) -> bool:
    return brand_moderator(brand_id) in ctx.roles


def require(allowed: bool, what: str) -> None:
    if not allowed:
        raise Forbidden(f"not allowed to {what}")


def require_admin(ctx: Context, what: str) -> None:
    require(is_admin(ctx), what)


def require_system(ctx: Context, what: str) -> None:
    """Saga steps: only the reactor issues them."""
    require(is_system(ctx), what)


def require_catalog_editor(ctx: Context, brand_id: str, what: str) -> None:
    """Admins edit every brand's catalog; a moderator only their own brand's."""
    require(is_admin(ctx) or moderates(ctx, brand_id), what)


def require_known_role(role: str) -> None:
    if not is_known_role(role):
        raise UnknownRole(f"no role {role!r}")

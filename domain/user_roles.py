"""Role changes on the user aggregate: who may assign or revoke which role.

Every role but `super_admin` lives on its user (`user:<id>`). `super_admin` lives on the
singleton `roles:super_admins` (see `domain.super_admins`), the one place that can count them;
the gateway turns `AssignRole`/`RevokeRole` of `super_admin` into `GrantSuperAdmin` /
`RevokeSuperAdmin` there. Both places record the same `RoleAssigned`/`RoleRevoked` events, so
the user read model learns every role from one pair of events whatever aggregate wrote them.
"""

from domain import roles
from domain.aggregate import Context
from domain.errors import UnknownUser, UnsupportedCommand
from events.commands import AssignRole, RevokeRole
from events.events import Event, RoleAssigned, RoleRevoked


def may_change(ctx: Context, role: str) -> bool:
    """Only a super_admin touches `admin`; the reactor grants the moderator role of an
    accepted invite; any admin handles the rest."""
    if role == roles.ADMIN:
        return roles.is_super_admin(ctx)
    if roles.moderated_brand(role) is not None and roles.is_system(ctx):
        return True
    return roles.is_admin(ctx)


def _authorise(
    held: tuple[str, ...] | None, role: str, ctx: Context, user_id: str
) -> tuple[str, ...]:
    """The target user's roles, once the role and the actor's right to change it are checked."""
    roles.require_known_role(role)
    if role == roles.SUPER_ADMIN:
        raise UnsupportedCommand("super_admin is granted and revoked on roles:super_admins")
    roles.require(may_change(ctx, role), f"change the role {role}")
    if held is None:
        raise UnknownUser(f"no user {user_id}")
    return held


def assign(held: tuple[str, ...] | None, command: AssignRole, ctx: Context) -> list[Event]:
    """`held`: the user's roles, or None when there is no such user."""
    current = _authorise(held, command.role, ctx, command.user_id)
    if command.role in current:
        return []
    return [RoleAssigned(user_id=command.user_id, role=command.role)]


def revoke(held: tuple[str, ...] | None, command: RevokeRole, ctx: Context) -> list[Event]:
    current = _authorise(held, command.role, ctx, command.user_id)
    if command.role not in current:
        return []
    return [RoleRevoked(user_id=command.user_id, role=command.role)]


def with_role(held: tuple[str, ...], role: str) -> tuple[str, ...]:
    return held if role in held else (*held, role)


def without_role(held: tuple[str, ...], role: str) -> tuple[str, ...]:
    return tuple(r for r in held if r != role)

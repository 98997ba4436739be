"""Role commands (admin app): `AssignRole` and `RevokeRole`.

Every role lives on its user (`user:<id>`) but `super_admin`, which lives on the singleton that
counts super admins: for that role the gateway sends `GrantSuperAdmin` / `RevokeSuperAdmin`
there instead, so "never revoke the last super_admin" is decided on one state.
"""

from api.command_spec import (
    ADMIN,
    ADMINS,
    BRAND_MODERATOR_PREFIX,
    COURIER,
    CUSTOMER,
    SUPER_ADMIN,
    Call,
    CommandSpec,
    invalid,
)
from events.commands import AssignRole, Command, GrantSuperAdmin, RevokeRole, RevokeSuperAdmin

KNOWN_ROLES = frozenset({CUSTOMER, COURIER, ADMIN, SUPER_ADMIN})


def is_known_role(role: str) -> bool:
    return role in KNOWN_ROLES or (
        role.startswith(BRAND_MODERATOR_PREFIX) and len(role) > len(BRAND_MODERATOR_PREFIX)
    )


def _checked_role(role: str) -> str:
    if not is_known_role(role):
        known = ", ".join(sorted(KNOWN_ROLES)) + f", {BRAND_MODERATOR_PREFIX}<brand_id>"
        raise invalid(f"no role {role!r}; roles are {known}", "$.payload.role")
    return role


async def build_assign_role(call: Call) -> Command:
    request = call.payload(AssignRole)
    if _checked_role(request.role) == SUPER_ADMIN:
        return GrantSuperAdmin(user_id=request.user_id)
    return request


async def build_revoke_role(call: Call) -> Command:
    request = call.payload(RevokeRole)
    if _checked_role(request.role) == SUPER_ADMIN:
        return RevokeSuperAdmin(user_id=request.user_id)
    return request


SPECS = (
    CommandSpec("AssignRole", AssignRole, build_assign_role, roles=ADMINS, admin_only=True),
    CommandSpec("RevokeRole", RevokeRole, build_revoke_role, roles=ADMINS, admin_only=True),
)

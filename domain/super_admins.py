"""The super admins: one singleton aggregate, `roles:super_admins`, so that "nobody may revoke
the last super_admin" is decided on one state instead of a scan over every user.

Why a singleton and not a claim: a claim records one owner for one unique value; it cannot count,
and the commit never transfers or releases it, so "at least one remains" cannot be expressed
with claims. Why not the user aggregate: a user knows only their own roles. The singleton
serialises super_admin changes (they are rare) and holds the set of ids.

Its events are the user aggregate's `RoleAssigned`/`RoleRevoked` with `role="super_admin"`, so
the user read model learns from them as from any role change. The start-up super admin is
registered with the role on their user; the saga enrols them here (`GrantSuperAdmin` from the
system) when it sees that `UserRegistered`. Until then the singleton neither counts them (it may
refuse a revocation it could allow) nor revokes them (revoking them records nothing).
"""

from dataclasses import dataclass

from domain import roles
from domain.aggregate import AggregateRules, Claims, Context
from domain.errors import LastSuperAdmin, UnsupportedCommand
from events.commands import Command, GrantSuperAdmin, RevokeSuperAdmin
from events.events import Event, RoleAssigned, RoleRevoked

AGGREGATE_ID = "roles:super_admins"


@dataclass(frozen=True)
class SuperAdmins:
    members: frozenset[str] = frozenset()


def claims(command: Command) -> Claims:
    return {}


def decide(state: SuperAdmins | None, command: Command, ctx: Context) -> list[Event]:
    members = state.members if state is not None else frozenset()
    match command:
        case GrantSuperAdmin(user_id=user_id):
            roles.require(roles.is_super_admin(ctx) or roles.is_system(ctx), "grant super_admin")
            if user_id in members:
                return []
            return [RoleAssigned(user_id=user_id, role=roles.SUPER_ADMIN)]
        case RevokeSuperAdmin(user_id=user_id):
            roles.require(roles.is_super_admin(ctx), "revoke super_admin")
            if user_id not in members:
                return []
            if members == {user_id}:
                raise LastSuperAdmin(f"{user_id} is the last super_admin")
            return [RoleRevoked(user_id=user_id, role=roles.SUPER_ADMIN)]
        case _:
            raise UnsupportedCommand(type(command).__name__)


def evolve(state: SuperAdmins | None, event: Event) -> SuperAdmins:
    members = state.members if state is not None else frozenset()
    match event:
        case RoleAssigned(user_id=user_id, role=roles.SUPER_ADMIN):
            return SuperAdmins(members | {user_id})
        case RoleRevoked(user_id=user_id, role=roles.SUPER_ADMIN):
            return SuperAdmins(members - {user_id})
        case _:
            return SuperAdmins(members)


RULES = AggregateRules(evolve=evolve, decide=decide, claims=claims, state_type=SuperAdmins)

"""Given a user, when an actor assigns or revokes a role, then a role event or a refusal."""

import pytest

from domain import identity
from domain.aggregate import Context
from events.commands import AssignRole, RevokeRole
from events.events import RoleAssigned, RoleRevoked, UserRegistered
from tests.domain.support import ADMIN, SUPER_ADMIN, SYSTEM, acting, given, rejection

RULES = identity.RULES
BOB = "user-bob"
REGISTERED = UserRegistered(
    user_id=BOB, email="bob@example.com", given_name="Bob", roles=("customer",)
)
CUSTOMER = acting("user-carol", "customer")
MODERATOR = acting("user-mo", "brand_moderator:acme")


def assign(role: str, user_id: str = BOB) -> AssignRole:
    return AssignRole(user_id=user_id, role=role)


def revoke(role: str, user_id: str = BOB) -> RevokeRole:
    return RevokeRole(user_id=user_id, role=role)


@pytest.mark.parametrize("role", ["courier", "customer", "brand_moderator:acme"])
@pytest.mark.parametrize("ctx", [ADMIN, SUPER_ADMIN], ids=["admin", "super_admin"])
def test_admins_assign_the_ordinary_roles(role: str, ctx: Context) -> None:
    state = given(RULES, REGISTERED, RoleRevoked(user_id=BOB, role="customer"))
    assert RULES.decide(state, assign(role), ctx) == [RoleAssigned(user_id=BOB, role=role)]


def test_assigning_a_role_already_held_records_nothing() -> None:
    assert RULES.decide(given(RULES, REGISTERED), assign("customer"), ADMIN) == []


@pytest.mark.parametrize("ctx", [CUSTOMER, MODERATOR, acting("user-cy", "courier")])
def test_non_admins_may_not_assign_roles(ctx: Context) -> None:
    assert rejection(RULES, given(RULES, REGISTERED), assign("courier"), ctx) == "forbidden"


def test_a_moderator_may_not_make_someone_moderator_of_their_own_brand() -> None:
    command = assign("brand_moderator:acme")
    assert rejection(RULES, given(RULES, REGISTERED), command, MODERATOR) == "forbidden"


def test_only_a_super_admin_grants_admin() -> None:
    state = given(RULES, REGISTERED)
    assert rejection(RULES, state, assign("admin"), ADMIN) == "forbidden"
    assert RULES.decide(state, assign("admin"), SUPER_ADMIN) == [
        RoleAssigned(user_id=BOB, role="admin")
    ]


def test_only_a_super_admin_revokes_admin() -> None:
    state = given(RULES, REGISTERED, RoleAssigned(user_id=BOB, role="admin"))
    assert rejection(RULES, state, revoke("admin"), ADMIN) == "forbidden"
    assert RULES.decide(state, revoke("admin"), SUPER_ADMIN) == [
        RoleRevoked(user_id=BOB, role="admin")
    ]


def test_the_system_grants_the_moderator_role_of_an_accepted_invitation() -> None:
    command = assign("brand_moderator:acme")
    assert RULES.decide(given(RULES, REGISTERED), command, SYSTEM) == [
        RoleAssigned(user_id=BOB, role="brand_moderator:acme")
    ]


@pytest.mark.parametrize("role", ["courier", "admin"])
def test_the_system_grants_no_other_role(role: str) -> None:
    assert rejection(RULES, given(RULES, REGISTERED), assign(role), SYSTEM) == "forbidden"


@pytest.mark.parametrize("role", ["system", "wizard", "brand_moderator", "superadmin"])
def test_roles_outside_the_vocabulary_are_refused(role: str) -> None:
    assert rejection(RULES, given(RULES, REGISTERED), assign(role), SUPER_ADMIN) == "unknown_role"


def test_super_admin_is_not_assigned_on_the_user_but_on_the_singleton() -> None:
    state = given(RULES, REGISTERED)
    assert rejection(RULES, state, assign("super_admin"), SUPER_ADMIN) == "unsupported_command"
    assert rejection(RULES, state, revoke("super_admin"), SUPER_ADMIN) == "unsupported_command"


def test_assigning_to_an_unknown_user_is_refused() -> None:
    assert rejection(RULES, given(RULES), assign("courier"), ADMIN) == "unknown_user"


def test_revoking_a_held_role_records_the_revocation() -> None:
    state = given(RULES, REGISTERED, RoleAssigned(user_id=BOB, role="courier"))
    assert RULES.decide(state, revoke("courier"), ADMIN) == [
        RoleRevoked(user_id=BOB, role="courier")
    ]


def test_revoking_a_role_not_held_records_nothing() -> None:
    assert RULES.decide(given(RULES, REGISTERED), revoke("courier"), ADMIN) == []


def test_a_customer_may_not_revoke_roles() -> None:
    state = given(RULES, REGISTERED, RoleAssigned(user_id=BOB, role="courier"))
    assert rejection(RULES, state, revoke("courier"), CUSTOMER) == "forbidden"


def test_the_user_state_follows_assignments_and_revocations() -> None:
    state = given(
        RULES,
        REGISTERED,
        RoleAssigned(user_id=BOB, role="courier"),
        RoleAssigned(user_id=BOB, role="courier"),
        RoleAssigned(user_id=BOB, role="brand_moderator:acme"),
        RoleRevoked(user_id=BOB, role="customer"),
    )
    assert state.roles == ("courier", "brand_moderator:acme")

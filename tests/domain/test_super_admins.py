"""Given the super admins so far, when one is granted or revoked, then an event or a refusal."""

import pytest

from domain import super_admins
from domain.aggregate import Context
from events.commands import GrantSuperAdmin, RevokeSuperAdmin
from events.events import RoleAssigned, RoleRevoked
from tests.domain.support import ADMIN, SUPER_ADMIN, SYSTEM, acting, given, rejection, run

RULES = super_admins.RULES
RITA = "root-rita"
SAM = "user-sam"


def enrolled(*user_ids: str) -> super_admins.SuperAdmins:
    state: super_admins.SuperAdmins = given(
        RULES, *(RoleAssigned(user_id=u, role="super_admin") for u in user_ids)
    )
    return state


def test_a_super_admin_grants_super_admin() -> None:
    assert RULES.decide(enrolled(RITA), GrantSuperAdmin(user_id=SAM), SUPER_ADMIN) == [
        RoleAssigned(user_id=SAM, role="super_admin")
    ]


def test_the_system_enrols_the_start_up_super_admin() -> None:
    assert RULES.decide(given(RULES), GrantSuperAdmin(user_id=RITA), SYSTEM) == [
        RoleAssigned(user_id=RITA, role="super_admin")
    ]


@pytest.mark.parametrize(
    "ctx", [ADMIN, acting("user-carol", "customer")], ids=["admin", "customer"]
)
def test_nobody_else_grants_super_admin(ctx: Context) -> None:
    assert rejection(RULES, enrolled(RITA), GrantSuperAdmin(user_id=SAM), ctx) == "forbidden"


def test_granting_a_super_admin_again_records_nothing() -> None:
    assert RULES.decide(enrolled(RITA, SAM), GrantSuperAdmin(user_id=SAM), SUPER_ADMIN) == []


def test_a_super_admin_revokes_another_while_one_remains() -> None:
    assert RULES.decide(enrolled(RITA, SAM), RevokeSuperAdmin(user_id=SAM), SUPER_ADMIN) == [
        RoleRevoked(user_id=SAM, role="super_admin")
    ]


def test_a_super_admin_may_step_down_while_another_remains() -> None:
    ctx = acting(SAM, "super_admin")
    assert RULES.decide(enrolled(RITA, SAM), RevokeSuperAdmin(user_id=SAM), ctx) == [
        RoleRevoked(user_id=SAM, role="super_admin")
    ]


def test_nobody_may_revoke_the_last_super_admin() -> None:
    command = RevokeSuperAdmin(user_id=RITA)
    assert rejection(RULES, enrolled(RITA), command, SUPER_ADMIN) == "last_super_admin"


def test_after_one_of_two_is_revoked_the_other_is_the_last() -> None:
    state = run(RULES, enrolled(RITA, SAM), RevokeSuperAdmin(user_id=SAM), SUPER_ADMIN)
    assert state.members == {RITA}
    command = RevokeSuperAdmin(user_id=RITA)
    assert rejection(RULES, state, command, SUPER_ADMIN) == "last_super_admin"


@pytest.mark.parametrize("ctx", [ADMIN, SYSTEM], ids=["admin", "system"])
def test_only_a_super_admin_revokes_super_admin(ctx: Context) -> None:
    assert rejection(RULES, enrolled(RITA, SAM), RevokeSuperAdmin(user_id=SAM), ctx) == (
        "forbidden"
    )


def test_revoking_someone_who_is_not_super_admin_records_nothing() -> None:
    assert RULES.decide(enrolled(RITA), RevokeSuperAdmin(user_id=SAM), SUPER_ADMIN) == []


def test_the_singleton_ignores_other_roles() -> None:
    state = given(RULES, RoleAssigned(user_id=SAM, role="admin"))
    assert state.members == frozenset()

"""Given a brand's history, when a catalog command, then brand events or a refusal."""

import pytest

from domain import brand
from domain.aggregate import Context
from events.commands import (
    AcceptModeratorInvite,
    CreateBrand,
    DeleteBrand,
    InviteModerator,
    UpdateBrand,
)
from events.events import (
    BrandCreated,
    BrandDeleted,
    BrandUpdated,
    ModeratorInviteAccepted,
    ModeratorInvited,
)
from tests.domain.support import ADMIN, SUPER_ADMIN, SYSTEM, acting, given, rejection, run

RULES = brand.RULES
ACME = "acme"
CREATED = BrandCreated(brand_id=ACME, name="Acme Foods", description="Tins")
MODERATOR = acting("user-mo", "brand_moderator:acme")
OTHER_MODERATOR = acting("user-ozzy", "brand_moderator:globex")
CUSTOMER = acting("user-carol", "customer")
INVITED = ModeratorInvited(brand_id=ACME, invitee_user_id="user-ivy", invited_by="admin-ann")


def create(name: str = "Acme Foods", brand_id: str = ACME) -> CreateBrand:
    return CreateBrand(brand_id=brand_id, name=name, description="Tins")


@pytest.mark.parametrize("ctx", [ADMIN, SUPER_ADMIN], ids=["admin", "super_admin"])
def test_an_admin_creates_a_brand(ctx: Context) -> None:
    assert RULES.decide(given(RULES), create(), ctx) == [CREATED]


@pytest.mark.parametrize(
    "ctx", [MODERATOR, CUSTOMER, SYSTEM], ids=["moderator", "customer", "system"]
)
def test_nobody_but_an_admin_creates_a_brand(ctx: Context) -> None:
    assert rejection(RULES, given(RULES), create(), ctx) == "forbidden"


def test_a_brand_id_is_created_once() -> None:
    assert rejection(RULES, given(RULES, CREATED), create(), ADMIN) == "brand_exists"


def test_a_brand_claims_its_normalised_name() -> None:
    assert RULES.claims(create("  ACME   Foods ")) == {"brand-name:acme foods": ACME}


def test_a_name_owned_by_another_brand_is_taken() -> None:
    ctx = acting("admin-ann", "admin", owners={"brand-name:acme foods": "other-brand"})
    assert rejection(RULES, given(RULES), create("acme FOODS"), ctx) == "brand_name_taken"


def test_a_name_owned_by_the_same_brand_is_free_for_it() -> None:
    ctx = acting("admin-ann", "admin", owners={"brand-name:acme foods": ACME})
    assert RULES.decide(given(RULES), create(), ctx) == [CREATED]


@pytest.mark.parametrize("ctx", [ADMIN, MODERATOR], ids=["admin", "its moderator"])
def test_an_admin_or_the_brands_moderator_updates_it(ctx: Context) -> None:
    command = UpdateBrand(brand_id=ACME, description="Tins and jars")
    assert RULES.decide(given(RULES, CREATED), command, ctx) == [
        BrandUpdated(brand_id=ACME, name="Acme Foods", description="Tins and jars")
    ]


@pytest.mark.parametrize("ctx", [OTHER_MODERATOR, CUSTOMER], ids=["other moderator", "customer"])
def test_nobody_else_updates_a_brand(ctx: Context) -> None:
    command = UpdateBrand(brand_id=ACME, description="Mine now")
    assert rejection(RULES, given(RULES, CREATED), command, ctx) == "forbidden"


def test_an_update_that_changes_nothing_records_nothing() -> None:
    command = UpdateBrand(brand_id=ACME, name="Acme Foods", description="Tins")
    assert RULES.decide(given(RULES, CREATED), command, ADMIN) == []


def test_a_rename_claims_the_new_name_and_is_refused_when_taken() -> None:
    command = UpdateBrand(brand_id=ACME, name="Globex")
    assert RULES.claims(command) == {"brand-name:globex": ACME}
    ctx = acting("admin-ann", "admin", owners={"brand-name:globex": "globex"})
    assert rejection(RULES, given(RULES, CREATED), command, ctx) == "brand_name_taken"


def test_an_update_without_a_name_claims_nothing() -> None:
    assert RULES.claims(UpdateBrand(brand_id=ACME, description="x")) == {}


def test_an_unknown_or_deleted_brand_cannot_be_updated() -> None:
    command = UpdateBrand(brand_id=ACME, description="x")
    assert rejection(RULES, given(RULES), command, ADMIN) == "unknown_brand"
    deleted = given(RULES, CREATED, BrandDeleted(brand_id=ACME))
    assert rejection(RULES, deleted, command, ADMIN) == "unknown_brand"


def test_an_admin_deletes_a_brand_once() -> None:
    state = given(RULES, CREATED)
    assert RULES.decide(state, DeleteBrand(brand_id=ACME), ADMIN) == [BrandDeleted(brand_id=ACME)]
    assert (
        RULES.decide(
            run(RULES, state, DeleteBrand(brand_id=ACME), ADMIN), DeleteBrand(brand_id=ACME), ADMIN
        )
        == []
    )


def test_a_moderator_may_not_delete_their_brand() -> None:
    assert rejection(RULES, given(RULES, CREATED), DeleteBrand(brand_id=ACME), MODERATOR) == (
        "forbidden"
    )


def test_deleting_an_unknown_brand_is_refused() -> None:
    assert rejection(RULES, given(RULES), DeleteBrand(brand_id=ACME), ADMIN) == "unknown_brand"


def test_a_deleted_brand_id_is_not_created_again() -> None:
    deleted = given(RULES, CREATED, BrandDeleted(brand_id=ACME))
    assert rejection(RULES, deleted, create(), ADMIN) == "brand_exists"


@pytest.mark.parametrize("ctx", [ADMIN, MODERATOR], ids=["admin", "its moderator"])
def test_an_admin_or_the_brands_moderator_invites_moderators(ctx: Context) -> None:
    command = InviteModerator(brand_id=ACME, invitee_user_id="user-ivy")
    assert RULES.decide(given(RULES, CREATED), command, ctx) == [
        ModeratorInvited(brand_id=ACME, invitee_user_id="user-ivy", invited_by=ctx.actor)
    ]


@pytest.mark.parametrize("ctx", [OTHER_MODERATOR, CUSTOMER], ids=["other moderator", "customer"])
def test_nobody_else_invites_moderators(ctx: Context) -> None:
    command = InviteModerator(brand_id=ACME, invitee_user_id="user-ivy")
    assert rejection(RULES, given(RULES, CREATED), command, ctx) == "forbidden"


def test_inviting_someone_already_invited_records_nothing() -> None:
    command = InviteModerator(brand_id=ACME, invitee_user_id="user-ivy")
    assert RULES.decide(given(RULES, CREATED, INVITED), command, ADMIN) == []


def test_a_deleted_brand_invites_nobody() -> None:
    deleted = given(RULES, CREATED, BrandDeleted(brand_id=ACME))
    command = InviteModerator(brand_id=ACME, invitee_user_id="user-ivy")
    assert rejection(RULES, deleted, command, ADMIN) == "unknown_brand"


def test_the_invitee_accepts_their_invitation() -> None:
    command = AcceptModeratorInvite(brand_id=ACME)
    assert RULES.decide(given(RULES, CREATED, INVITED), command, acting("user-ivy")) == [
        ModeratorInviteAccepted(brand_id=ACME, user_id="user-ivy")
    ]


@pytest.mark.parametrize("actor", ["user-carol", None], ids=["someone else", "nobody"])
def test_only_the_invitee_accepts(actor: str | None) -> None:
    command = AcceptModeratorInvite(brand_id=ACME)
    assert rejection(RULES, given(RULES, CREATED, INVITED), command, acting(actor)) == (
        "no_invitation"
    )


def test_an_invitation_is_accepted_once() -> None:
    ivy = acting("user-ivy")
    state = run(RULES, given(RULES, CREATED, INVITED), AcceptModeratorInvite(brand_id=ACME), ivy)
    assert rejection(RULES, state, AcceptModeratorInvite(brand_id=ACME), ivy) == "no_invitation"


def test_deleting_a_brand_withdraws_its_invitations() -> None:
    state = given(RULES, CREATED, INVITED, BrandDeleted(brand_id=ACME))
    assert state.invited == frozenset()

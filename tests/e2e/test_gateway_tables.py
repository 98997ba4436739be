"""The gateway's copies of domain knowledge held to the domain, and its command tables.

api/ never imports domain/, so it spells roles, claims and statuses itself; these plain checks
(no processes) keep the two spellings one, and check how events reach the relay's topics.
"""

from typing import get_args

import pytest

from api import command_spec, commands_catalog, commands_roles, new_ids
from api.command_table import admin_specs, public_specs
from api.queries import OrderStatus
from api.relay_topics import topics_of
from domain import brand, order, product, roles
from domain.registry import COMMAND_AGGREGATE

# Issued by the system only (the reactor, the login route): no client may send them.
INTERNAL = {
    "RecordLogin",
    "GrantSuperAdmin",
    "RevokeSuperAdmin",
    "ReserveInventory",
    "ReleaseInventory",
    "CommitInventory",
    "ClearCart",
    "RecordReservation",
    "ExpireOrder",
}
ADMIN_ONLY = {
    "AssignRole",
    "RevokeRole",
    "CreateBrand",
    "DeleteBrand",
    "RejectOrder",
    "StartPicking",
    "CompletePicking",
    "AssignCourier",
}


def test_every_client_command_is_in_the_tables_and_no_internal_one() -> None:
    assert set(admin_specs()) == set(COMMAND_AGGREGATE) - INTERNAL
    assert set(public_specs()) == set(COMMAND_AGGREGATE) - INTERNAL - ADMIN_ONLY


def test_the_role_vocabulary_is_the_domains() -> None:
    assert (command_spec.CUSTOMER, command_spec.COURIER) == (roles.CUSTOMER, roles.COURIER)
    assert command_spec.ADMINS == roles.ADMIN_ROLES
    assert command_spec.BRAND_MODERATOR_PREFIX == roles.BRAND_MODERATOR_PREFIX
    for role in ("customer", "courier", "admin", "super_admin", "brand_moderator:b1"):
        assert commands_roles.is_known_role(role) and roles.is_known_role(role)
    for role in ("chef", "brand_moderator:", "system"):
        assert not commands_roles.is_known_role(role) and not roles.is_known_role(role)


@pytest.mark.parametrize("name", ["Acme", "  acme  FOODS ", "Ça Va", "ÉCOLE\tnoire"])
def test_claims_are_spelled_as_the_domain_spells_them(name: str) -> None:
    assert commands_catalog.brand_name_claim(name) == brand.brand_name_claim(name)
    assert commands_catalog.sku_claim("SKU-1") == product.sku_claim("SKU-1")


def test_order_statuses_are_the_domains() -> None:
    assert set(get_args(OrderStatus)) == {status.value for status in order.Status}


def test_a_repeated_command_names_the_same_new_brand() -> None:
    ids = {new_ids.derived("brand", f"command-{n}") for n in range(20)}
    assert len(ids) == 20
    assert new_ids.derived("brand", "command-1") == new_ids.derived("brand", "command-1")


def test_moderator_roles_match_any_brand_only_with_one_named() -> None:
    allowed = command_spec.MODERATORS
    assert command_spec.holds_one_of(frozenset({"brand_moderator:b1"}), allowed)
    assert not command_spec.holds_one_of(frozenset({"brand_moderator:"}), allowed)
    assert not command_spec.holds_one_of(frozenset({"customer"}), allowed)


def test_events_reach_the_topics_of_the_users_they_concern() -> None:
    placed = {"order_id": "o1", "customer_id": "c1"}
    assert topics_of("order:o1", placed) == ("admin:events", "order:o1", "user:c1")
    assigned = {"order_id": "o1", "customer_id": "c1", "courier_id": "k1"}
    assert topics_of("order:o1", assigned) == ("admin:events", "order:o1", "user:c1", "user:k1")
    assert topics_of("cart:c1", {"user_id": "c1", "sku": "S"}) == ("admin:events", "user:c1")
    assert topics_of("sku:S", {"sku": "S", "order_id": "o1"}) == ("admin:events",)
    invited = {"brand_id": "b1", "invitee_user_id": "u2", "invited_by": "u1"}
    assert topics_of("brand:b1", invited) == ("admin:events", "user:u2")

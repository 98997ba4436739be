"""Given a SKU's stock and reservations, when a command, then inventory events or a refusal."""

import pytest

from domain import inventory
from domain.aggregate import Context
from events.commands import CommitInventory, ReleaseInventory, ReserveInventory, RestockVariant
from events.events import (
    InventoryCommitted,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
    InventoryRestocked,
)
from tests.domain.support import ADMIN, SYSTEM, acting, given, rejection, run

RULES = inventory.RULES
SKU = "BEANS-S"
MODERATOR = acting("user-mo", "brand_moderator:acme")
OTHER_MODERATOR = acting("user-ozzy", "brand_moderator:globex")


def stocked(on_hand: int) -> InventoryRestocked:
    return InventoryRestocked(
        sku=SKU, product_id="prod-tin", brand_id="acme", on_hand=on_hand, available=on_hand
    )


def restock(quantity: int, brand_id: str = "acme", product_id: str = "prod-tin") -> RestockVariant:
    return RestockVariant(sku=SKU, product_id=product_id, brand_id=brand_id, quantity=quantity)


def reserve(order_id: str, quantity: int = 1) -> ReserveInventory:
    return ReserveInventory(sku=SKU, order_id=order_id, quantity=quantity)


def reserved(order_id: str, quantity: int, available: int) -> InventoryReserved:
    return InventoryReserved(sku=SKU, order_id=order_id, quantity=quantity, available=available)


@pytest.mark.parametrize("ctx", [MODERATOR, ADMIN], ids=["the brand's moderator", "admin"])
def test_the_brands_moderator_or_an_admin_sets_the_stock(ctx: Context) -> None:
    assert RULES.decide(given(RULES), restock(5), ctx) == [stocked(5)]


@pytest.mark.parametrize("ctx", [OTHER_MODERATOR, acting("user-carol", "customer"), SYSTEM])
def test_nobody_else_restocks(ctx: Context) -> None:
    assert rejection(RULES, given(RULES), restock(5), ctx) == "forbidden"


def test_a_sku_keeps_the_product_and_brand_it_was_first_stocked_for() -> None:
    """Naming one's own brand does not open another brand's SKU to a moderator."""
    state = given(RULES, stocked(5))
    ozzy = restock(9, brand_id="globex")
    assert rejection(RULES, state, ozzy, OTHER_MODERATOR) == "sku_of_another_product"
    assert rejection(RULES, state, restock(9, product_id="prod-x"), ADMIN) == (
        "sku_of_another_product"
    )


def test_restocking_counts_reserved_units_as_on_hand() -> None:
    state = given(RULES, stocked(5), reserved("o1", 2, 3))
    assert RULES.decide(state, restock(10), MODERATOR) == [
        InventoryRestocked(sku=SKU, product_id="prod-tin", brand_id="acme", on_hand=10, available=8)
    ]


def test_stock_may_not_be_set_below_what_is_reserved() -> None:
    state = given(RULES, stocked(5), reserved("o1", 3, 2))
    assert rejection(RULES, state, restock(2), MODERATOR) == "stock_below_reserved"
    assert run(RULES, state, restock(3), MODERATOR).available == 0


def test_restocking_to_the_same_count_records_nothing() -> None:
    assert RULES.decide(given(RULES, stocked(5)), restock(5), MODERATOR) == []


def test_a_reservation_within_the_stock_is_recorded() -> None:
    assert RULES.decide(given(RULES, stocked(5)), reserve("o1", 2), SYSTEM) == [
        reserved("o1", 2, 3)
    ]


def test_a_reservation_beyond_the_stock_is_a_recorded_failure_not_an_error() -> None:
    assert RULES.decide(given(RULES, stocked(1)), reserve("o1", 2), SYSTEM) == [
        InventoryReservationFailed(sku=SKU, order_id="o1", requested=2, available=1)
    ]


def test_a_sku_never_stocked_has_nothing_to_reserve() -> None:
    assert RULES.decide(given(RULES), reserve("o1"), SYSTEM) == [
        InventoryReservationFailed(sku=SKU, order_id="o1", requested=1, available=0)
    ]


@pytest.mark.parametrize(
    "ctx", [ADMIN, acting("user-carol", "customer")], ids=["admin", "customer"]
)
@pytest.mark.parametrize(
    "command",
    [
        reserve("o1"),
        ReleaseInventory(sku=SKU, order_id="o1"),
        CommitInventory(sku=SKU, order_id="o1"),
    ],
    ids=["reserve", "release", "commit"],
)
def test_only_the_saga_reserves_releases_and_commits(
    ctx: Context, command: ReserveInventory | ReleaseInventory | CommitInventory
) -> None:
    assert rejection(RULES, given(RULES, stocked(5)), command, ctx) == "forbidden"


def test_a_second_reservation_for_the_same_order_records_nothing() -> None:
    state = given(RULES, stocked(5), reserved("o1", 2, 3))
    assert RULES.decide(state, reserve("o1", 2), SYSTEM) == []
    assert RULES.decide(state, reserve("o1", 4), SYSTEM) == []


def test_twenty_orders_competing_for_five_units_reserve_exactly_five() -> None:
    state = given(RULES, stocked(5))
    outcomes: list[str] = []
    for n in range(20):
        events = RULES.decide(state, reserve(f"order-{n}"), SYSTEM)
        outcomes.extend(type(event).__name__ for event in events)
        for event in events:
            state = RULES.evolve(state, event)
        assert state.available >= 0
    assert outcomes.count("InventoryReserved") == 5
    assert outcomes.count("InventoryReservationFailed") == 15
    assert outcomes[:5] == ["InventoryReserved"] * 5
    assert state.available == 0 and state.on_hand == 5


def test_a_large_reservation_cannot_take_what_a_smaller_one_holds() -> None:
    state = run(RULES, given(RULES, stocked(5)), reserve("o1", 3), SYSTEM)
    assert RULES.decide(state, reserve("o2", 3), SYSTEM) == [
        InventoryReservationFailed(sku=SKU, order_id="o2", requested=3, available=2)
    ]


def test_releasing_a_reservation_returns_its_units() -> None:
    state = given(RULES, stocked(5), reserved("o1", 2, 3))
    assert RULES.decide(state, ReleaseInventory(sku=SKU, order_id="o1"), SYSTEM) == [
        InventoryReleased(sku=SKU, order_id="o1", quantity=2, available=5)
    ]


def test_releasing_a_reservation_not_held_records_nothing() -> None:
    release = ReleaseInventory(sku=SKU, order_id="o1")
    assert RULES.decide(given(RULES, stocked(5)), release, SYSTEM) == []
    after_release = run(RULES, given(RULES, stocked(5), reserved("o1", 2, 3)), release, SYSTEM)
    assert RULES.decide(after_release, release, SYSTEM) == []
    assert after_release.available == 5


def test_released_units_can_be_reserved_by_another_order() -> None:
    state = given(RULES, stocked(1), reserved("o1", 1, 0))
    state = run(RULES, state, ReleaseInventory(sku=SKU, order_id="o1"), SYSTEM)
    assert RULES.decide(state, reserve("o2"), SYSTEM) == [reserved("o2", 1, 0)]


def test_committing_a_delivered_reservation_takes_it_off_the_shelf() -> None:
    state = given(RULES, stocked(5), reserved("o1", 2, 3))
    commit = CommitInventory(sku=SKU, order_id="o1")
    assert RULES.decide(state, commit, SYSTEM) == [
        InventoryCommitted(sku=SKU, order_id="o1", quantity=2, on_hand=3)
    ]
    state = run(RULES, state, commit, SYSTEM)
    assert (state.on_hand, state.available) == (3, 3)
    assert RULES.decide(state, commit, SYSTEM) == []

"""Given an order's history, when it is placed, reserved, rejected or expired, then its events."""

import pytest

from domain import order
from domain.aggregate import Context
from events.commands import (
    CancelOrder,
    ExpireOrder,
    MoneyInput,
    OrderLineInput,
    PlaceOrder,
    RecordReservation,
    RejectOrder,
    StartPicking,
)
from events.events import (
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderLineReserved,
    OrderPlaced,
    OrderRejected,
    OrderReservationReturned,
)
from tests.domain.support import ADMIN, SYSTEM, acting, given, rejection

RULES = order.RULES
CAROL = "user-carol"
AS_CAROL = acting(CAROL, "customer")
O1 = "order-1"


def line(sku: str, quantity: int, amount: int, currency: str = "EUR") -> OrderLineInput:
    return OrderLineInput(
        product_id="prod-tin",
        sku=sku,
        quantity=quantity,
        unit_price=MoneyInput(amount=amount, currency=currency),
    )


def place(*lines: OrderLineInput, from_cart: bool = False) -> PlaceOrder:
    lines = lines or (line("BEANS-S", 2, 250), line("BEANS-L", 1, 400))
    return PlaceOrder(order_id=O1, customer_id=CAROL, lines=lines, from_cart=from_cart)


PLACED = OrderPlaced(
    order_id=O1,
    customer_id=CAROL,
    lines=(
        OrderLine(
            product_id="prod-tin",
            sku="BEANS-S",
            quantity=2,
            unit_price=Money(amount=250, currency="EUR"),
        ),
        OrderLine(
            product_id="prod-tin",
            sku="BEANS-L",
            quantity=1,
            unit_price=Money(amount=400, currency="EUR"),
        ),
    ),
    total=Money(amount=900, currency="EUR"),
    from_cart=True,
    placed_at=1_000,
)
SMALL_RESERVED = OrderLineReserved(order_id=O1, sku="BEANS-S")
REJECTED = OrderRejected(
    order_id=O1, customer_id=CAROL, reason="out of stock", skus=("BEANS-S", "BEANS-L")
)


def test_a_customer_places_an_order_and_its_total_is_computed_from_its_lines() -> None:
    assert RULES.decide(given(RULES), place(from_cart=True), AS_CAROL) == [PLACED]


def test_nobody_places_an_order_for_another_customer() -> None:
    assert rejection(RULES, given(RULES), place(), acting("user-dan", "customer")) == "forbidden"
    assert rejection(RULES, given(RULES), place(), ADMIN) == "forbidden"


def test_an_order_id_is_placed_once() -> None:
    assert rejection(RULES, given(RULES, PLACED), place(), AS_CAROL) == "order_exists"


def test_one_sku_on_two_lines_is_refused() -> None:
    command = place(line("BEANS-S", 1, 250), line("BEANS-S", 2, 250))
    assert rejection(RULES, given(RULES), command, AS_CAROL) == "duplicate_sku"


def test_an_order_in_two_currencies_is_refused() -> None:
    command = place(line("BEANS-S", 1, 250, "EUR"), line("BEANS-L", 1, 400, "USD"))
    assert rejection(RULES, given(RULES), command, AS_CAROL) == "mixed_currencies"


@pytest.mark.parametrize(
    "command",
    [RecordReservation(order_id=O1, sku="BEANS-S"), StartPicking(order_id=O1)],
    ids=["saga step", "admin step"],
)
def test_commands_on_an_unknown_order_are_refused(command: RecordReservation) -> None:
    assert rejection(RULES, given(RULES), command, SYSTEM) == "unknown_order"
    assert rejection(RULES, given(RULES), command, ADMIN) == "unknown_order"


def test_recording_one_of_two_reservations_does_not_confirm() -> None:
    command = RecordReservation(order_id=O1, sku="BEANS-S")
    assert RULES.decide(given(RULES, PLACED), command, SYSTEM) == [SMALL_RESERVED]


def test_recording_the_last_reservation_confirms_the_order() -> None:
    command = RecordReservation(order_id=O1, sku="BEANS-L")
    assert RULES.decide(given(RULES, PLACED, SMALL_RESERVED), command, SYSTEM) == [
        OrderLineReserved(order_id=O1, sku="BEANS-L"),
        OrderConfirmed(order_id=O1, customer_id=CAROL),
    ]
    confirmed = given(
        RULES,
        PLACED,
        SMALL_RESERVED,
        OrderLineReserved(order_id=O1, sku="BEANS-L"),
        OrderConfirmed(order_id=O1, customer_id=CAROL),
    )
    assert confirmed.status is order.Status.CONFIRMED


def test_recording_a_reservation_twice_records_nothing() -> None:
    command = RecordReservation(order_id=O1, sku="BEANS-S")
    assert RULES.decide(given(RULES, PLACED, SMALL_RESERVED), command, SYSTEM) == []


def test_a_reservation_for_a_sku_not_ordered_is_refused() -> None:
    command = RecordReservation(order_id=O1, sku="JAM")
    assert rejection(RULES, given(RULES, PLACED), command, SYSTEM) == "unknown_order_line"


def test_only_the_saga_records_reservations() -> None:
    command = RecordReservation(order_id=O1, sku="BEANS-S")
    assert rejection(RULES, given(RULES, PLACED), command, ADMIN) == "forbidden"
    assert rejection(RULES, given(RULES, PLACED), command, AS_CAROL) == "forbidden"


@pytest.mark.parametrize(
    "closing",
    [
        REJECTED,
        OrderCancelled(
            order_id=O1,
            customer_id=CAROL,
            reason="",
            cancelled_by=CAROL,
            skus=("BEANS-S", "BEANS-L"),
        ),
    ],
    ids=["rejected", "cancelled"],
)
def test_a_reservation_reaching_a_closed_order_is_handed_back(
    closing: OrderRejected | OrderCancelled,
) -> None:
    """Even one recorded before: a late re-reservation must not stay held."""
    command = RecordReservation(order_id=O1, sku="BEANS-S")
    for history in ((PLACED, closing), (PLACED, SMALL_RESERVED, closing)):
        assert RULES.decide(given(RULES, *history), command, SYSTEM) == [
            OrderReservationReturned(order_id=O1, sku="BEANS-S")
        ]


@pytest.mark.parametrize("ctx", [SYSTEM, ADMIN], ids=["saga", "admin"])
def test_a_placed_order_is_rejected_with_every_line_to_release(ctx: Context) -> None:
    command = RejectOrder(order_id=O1, reason="out of stock")
    assert RULES.decide(given(RULES, PLACED, SMALL_RESERVED), command, ctx) == [REJECTED]


def test_a_customer_cannot_reject_an_order() -> None:
    command = RejectOrder(order_id=O1, reason="no")
    assert rejection(RULES, given(RULES, PLACED), command, AS_CAROL) == "forbidden"


def test_rejecting_a_closed_order_again_records_nothing() -> None:
    """Two short lines reject the order twice; the second changes nothing."""
    command = RejectOrder(order_id=O1, reason="out of stock: BEANS-L")
    assert RULES.decide(given(RULES, PLACED, REJECTED), command, SYSTEM) == []
    cancelled = OrderCancelled(
        order_id=O1, customer_id=CAROL, reason="", cancelled_by=CAROL, skus=("BEANS-S", "BEANS-L")
    )
    assert RULES.decide(given(RULES, PLACED, cancelled), command, SYSTEM) == []


def test_a_confirmed_order_cannot_be_rejected_only_cancelled() -> None:
    confirmed = given(RULES, PLACED, OrderConfirmed(order_id=O1, customer_id=CAROL))
    command = RejectOrder(order_id=O1, reason="changed my mind")
    assert rejection(RULES, confirmed, command, ADMIN) == "invalid_transition"
    assert RULES.decide(confirmed, CancelOrder(order_id=O1), ADMIN)


def test_an_order_still_placed_when_its_timeout_fires_is_rejected() -> None:
    assert RULES.decide(given(RULES, PLACED), ExpireOrder(order_id=O1), SYSTEM) == [
        OrderRejected(
            order_id=O1, customer_id=CAROL, reason=order.EXPIRED_REASON, skus=("BEANS-S", "BEANS-L")
        )
    ]


@pytest.mark.parametrize(
    "history",
    [
        (PLACED, OrderConfirmed(order_id=O1, customer_id=CAROL)),
        (PLACED, REJECTED),
    ],
    ids=["confirmed", "rejected"],
)
def test_a_timeout_after_the_order_moved_on_records_nothing(
    history: tuple[OrderPlaced, ...],
) -> None:
    assert RULES.decide(given(RULES, *history), ExpireOrder(order_id=O1), SYSTEM) == []


def test_only_the_saga_expires_orders() -> None:
    assert rejection(RULES, given(RULES, PLACED), ExpireOrder(order_id=O1), ADMIN) == "forbidden"

"""Given an order in some status, when a fulfilment command, then the next status or a refusal."""

import pytest

from domain import order
from domain.aggregate import Context
from domain.order import Status
from events.commands import (
    AssignCourier,
    CancelOrder,
    Command,
    CompletePicking,
    DeliverOrder,
    PickUpOrder,
    StartPicking,
)
from events.events import (
    CourierAssigned,
    Event,
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderLine,
    OrderPickedUp,
    OrderPickingStarted,
    OrderPlaced,
    OrderReady,
    OrderRejected,
)
from tests.domain.support import ADMIN, SUPER_ADMIN, SYSTEM, acting, given, rejection, run

RULES = order.RULES
CAROL = "user-carol"
O1 = "order-1"
AS_CAROL = acting(CAROL, "customer")
KURT = acting("courier-kurt", "courier")
OTHER_COURIER = acting("courier-cleo", "courier")
PLACED = OrderPlaced(
    order_id=O1,
    customer_id=CAROL,
    lines=(
        OrderLine(
            product_id="prod-tin",
            sku="BEANS-S",
            quantity=1,
            unit_price=Money(amount=250, currency="EUR"),
        ),
    ),
    total=Money(amount=250, currency="EUR"),
)
IDS = {"order_id": O1, "customer_id": CAROL}
CONFIRMED = OrderConfirmed(order_id=O1, customer_id=CAROL)
PICKING = OrderPickingStarted(order_id=O1, customer_id=CAROL)
READY = OrderReady(order_id=O1, customer_id=CAROL)
ASSIGNED = CourierAssigned(order_id=O1, customer_id=CAROL, courier_id="courier-kurt")
PICKED_UP = OrderPickedUp(order_id=O1, customer_id=CAROL, courier_id="courier-kurt")
DELIVERED = OrderDelivered(
    order_id=O1, customer_id=CAROL, courier_id="courier-kurt", skus=("BEANS-S",)
)
REJECTED = OrderRejected(order_id=O1, customer_id=CAROL, reason="short", skus=("BEANS-S",))
CANCELLED = OrderCancelled(
    order_id=O1, customer_id=CAROL, reason="", cancelled_by=CAROL, skus=("BEANS-S",)
)

HISTORY: dict[Status, tuple[Event, ...]] = {
    Status.PLACED: (PLACED,),
    Status.CONFIRMED: (PLACED, CONFIRMED, ASSIGNED),
    Status.PICKING: (PLACED, CONFIRMED, ASSIGNED, PICKING),
    Status.READY: (PLACED, CONFIRMED, ASSIGNED, PICKING, READY),
    Status.OUT_FOR_DELIVERY: (PLACED, CONFIRMED, ASSIGNED, PICKING, READY, PICKED_UP),
    Status.DELIVERED: (PLACED, CONFIRMED, ASSIGNED, PICKING, READY, PICKED_UP, DELIVERED),
    Status.REJECTED: (PLACED, REJECTED),
    Status.CANCELLED: (PLACED, CONFIRMED, ASSIGNED, CANCELLED),
}
NO_COURIER_YET = {Status.PLACED, Status.REJECTED}


def at(status: Status) -> order.Order:
    state: order.Order = given(RULES, *HISTORY[status])
    assert state.status is status
    return state


def test_an_order_goes_from_confirmed_to_delivered() -> None:
    steps: list[tuple[Command, Context, Status]] = [
        (StartPicking(order_id=O1), ADMIN, Status.PICKING),
        (AssignCourier(order_id=O1, courier_id="courier-kurt"), ADMIN, Status.PICKING),
        (CompletePicking(order_id=O1), ADMIN, Status.READY),
        (PickUpOrder(order_id=O1), KURT, Status.OUT_FOR_DELIVERY),
        (DeliverOrder(order_id=O1), KURT, Status.DELIVERED),
    ]
    state = given(RULES, PLACED, CONFIRMED)
    for command, ctx, status in steps:
        state = run(RULES, state, command, ctx)
        assert state.status is status
    assert state.courier_id == "courier-kurt"


def test_each_step_records_its_event() -> None:
    assert RULES.decide(at(Status.CONFIRMED), StartPicking(order_id=O1), ADMIN) == [PICKING]
    assert RULES.decide(at(Status.PICKING), CompletePicking(order_id=O1), ADMIN) == [READY]
    assert RULES.decide(at(Status.READY), PickUpOrder(order_id=O1), KURT) == [PICKED_UP]
    assert RULES.decide(at(Status.OUT_FOR_DELIVERY), DeliverOrder(order_id=O1), KURT) == [DELIVERED]


# Each fulfilment step, the statuses it may start from, and who takes it.
STEPS: list[tuple[Command, frozenset[Status], Context]] = [
    (StartPicking(order_id=O1), frozenset({Status.CONFIRMED}), ADMIN),
    (CompletePicking(order_id=O1), frozenset({Status.PICKING}), ADMIN),
    (
        AssignCourier(order_id=O1, courier_id="courier-cleo"),
        frozenset({Status.CONFIRMED, Status.PICKING, Status.READY}),
        ADMIN,
    ),
    (PickUpOrder(order_id=O1), frozenset({Status.READY}), KURT),
    (DeliverOrder(order_id=O1), frozenset({Status.OUT_FOR_DELIVERY}), KURT),
]
ADMIN_STEPS = [(command, allowed) for command, allowed, ctx in STEPS if ctx is ADMIN]


def _name(value: object) -> str:
    if isinstance(value, Context):
        return value.actor or "nobody"
    if isinstance(value, Status):
        return value.value
    return type(value).__name__


@pytest.mark.parametrize(
    ("command", "status", "ctx"),
    [
        (command, status, ctx)
        for command, allowed, ctx in STEPS
        for status in Status
        if status not in allowed
    ],
    ids=_name,
)
def test_every_other_transition_is_refused(command: Command, status: Status, ctx: Context) -> None:
    # Before a courier is assigned, nobody is "the assigned courier": that refusal comes first.
    courier_step = isinstance(command, PickUpOrder | DeliverOrder)
    expected = "forbidden" if courier_step and status in NO_COURIER_YET else "invalid_transition"
    assert rejection(RULES, at(status), command, ctx) == expected


@pytest.mark.parametrize(("command", "allowed"), ADMIN_STEPS, ids=_name)
@pytest.mark.parametrize("ctx", [AS_CAROL, KURT, SYSTEM], ids=["customer", "courier", "system"])
def test_picking_and_courier_assignment_are_for_admins(
    command: Command, allowed: frozenset[Status], ctx: Context
) -> None:
    state = at(min(allowed))
    assert rejection(RULES, state, command, ctx) == "forbidden"


def test_assigning_the_same_courier_again_records_nothing_and_another_reassigns() -> None:
    state = at(Status.READY)
    assert RULES.decide(state, AssignCourier(order_id=O1, courier_id="courier-kurt"), ADMIN) == []
    assert RULES.decide(state, AssignCourier(order_id=O1, courier_id="courier-cleo"), ADMIN) == [
        CourierAssigned(**IDS, courier_id="courier-cleo")
    ]


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (PickUpOrder(order_id=O1), Status.READY),
        (DeliverOrder(order_id=O1), Status.OUT_FOR_DELIVERY),
    ],
    ids=["pick up", "deliver"],
)
@pytest.mark.parametrize(
    "ctx",
    [OTHER_COURIER, acting("courier-kurt"), ADMIN, AS_CAROL],
    ids=["another courier", "assigned id without the courier role", "admin", "customer"],
)
def test_only_the_assigned_courier_picks_up_and_delivers(
    command: Command, status: Status, ctx: Context
) -> None:
    assert rejection(RULES, at(status), command, ctx) == "forbidden"


def test_a_ready_order_without_a_courier_cannot_be_picked_up() -> None:
    state = given(RULES, PLACED, CONFIRMED, PICKING, READY)
    assert rejection(RULES, state, PickUpOrder(order_id=O1), KURT) == "forbidden"


@pytest.mark.parametrize("status", [Status.PLACED, Status.CONFIRMED, Status.PICKING, Status.READY])
def test_the_customer_cancels_before_pickup(status: Status) -> None:
    command = CancelOrder(order_id=O1, reason="too slow")
    assert RULES.decide(at(status), command, AS_CAROL) == [
        OrderCancelled(**IDS, reason="too slow", cancelled_by=CAROL, skus=("BEANS-S",))
    ]


def test_the_customer_cannot_cancel_once_the_courier_has_it() -> None:
    state = at(Status.OUT_FOR_DELIVERY)
    assert rejection(RULES, state, CancelOrder(order_id=O1), AS_CAROL) == "invalid_transition"


@pytest.mark.parametrize("ctx", [ADMIN, SUPER_ADMIN], ids=["admin", "super_admin"])
@pytest.mark.parametrize(
    "status",
    [Status.PLACED, Status.CONFIRMED, Status.PICKING, Status.READY, Status.OUT_FOR_DELIVERY],
)
def test_an_admin_cancels_any_time_before_delivery(status: Status, ctx: Context) -> None:
    events = RULES.decide(at(status), CancelOrder(order_id=O1), ctx)
    assert events == [OrderCancelled(**IDS, reason="", cancelled_by=ctx.actor, skus=("BEANS-S",))]


@pytest.mark.parametrize("status", [Status.DELIVERED, Status.REJECTED, Status.CANCELLED])
@pytest.mark.parametrize("ctx", [ADMIN, AS_CAROL], ids=["admin", "customer"])
def test_a_closed_order_cannot_be_cancelled(status: Status, ctx: Context) -> None:
    assert rejection(RULES, at(status), CancelOrder(order_id=O1), ctx) == "invalid_transition"


@pytest.mark.parametrize(
    "ctx",
    [acting("user-dan", "customer"), KURT, SYSTEM],
    ids=["other customer", "courier", "system"],
)
def test_nobody_else_cancels_an_order(ctx: Context) -> None:
    assert rejection(RULES, at(Status.CONFIRMED), CancelOrder(order_id=O1), ctx) == "forbidden"

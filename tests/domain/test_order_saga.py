"""Given an event, when the reactor reacts, then these follow-up commands with derived ids."""

from dataclasses import dataclass

import msgspec

from domain import order_saga, reactions
from domain.follow_ups import FollowUp
from domain.registry import COMMAND_AGGREGATE, aggregate_type
from domain.roles import SYSTEM_ROLES
from events.commands import (
    AssignRole,
    ClearCart,
    CommitInventory,
    ExpireOrder,
    GrantSuperAdmin,
    RecordReservation,
    RejectOrder,
    ReleaseInventory,
    ReserveInventory,
)
from events.envelope import EventRecord
from events.events import (
    BrandCreated,
    Event,
    InventoryReservationFailed,
    InventoryReserved,
    ModeratorInviteAccepted,
    Money,
    OrderCancelled,
    OrderDelivered,
    OrderLine,
    OrderPlaced,
    OrderRejected,
    OrderReservationReturned,
    UserRegistered,
)


@dataclass(frozen=True)
class Cause:
    aggregate_id: str = "order:o1"
    aggregate_version: int = 1
    command_id: str = "cmd-place"
    correlation_id: str = "corr-1"


CAUSE = Cause()


def line(sku: str, quantity: int) -> OrderLine:
    return OrderLine(
        product_id="prod-tin",
        sku=sku,
        quantity=quantity,
        unit_price=Money(amount=1, currency="EUR"),
    )


PLACED = OrderPlaced(
    order_id="o1",
    customer_id="user-carol",
    lines=(line("BEANS-S", 2), line("BEANS-L", 1)),
    total=Money(amount=3, currency="EUR"),
    from_cart=True,
)


def commands(follow_ups: list[FollowUp]) -> list[object]:
    return [(f.command, f.aggregate_id) for f in follow_ups]


def test_a_placed_order_reserves_each_line_clears_the_cart_and_sets_its_timeout() -> None:
    follow_ups = reactions.react(CAUSE, PLACED, confirmation_timeout_ms=60_000)
    assert commands(follow_ups) == [
        (ReserveInventory(sku="BEANS-S", order_id="o1", quantity=2), "sku:BEANS-S"),
        (ReserveInventory(sku="BEANS-L", order_id="o1", quantity=1), "sku:BEANS-L"),
        (ClearCart(user_id="user-carol"), "cart:user-carol"),
        (ExpireOrder(order_id="o1"), "order:o1"),
    ]
    assert [f.delay_ms for f in follow_ups] == [0, 0, 0, 60_000]


def test_an_order_placed_from_explicit_lines_leaves_the_cart_alone() -> None:
    placed = msgspec.structs.replace(PLACED, from_cart=False)
    assert not any(isinstance(f.command, ClearCart) for f in reactions.react(CAUSE, placed))


def test_the_timeout_defaults_to_the_sagas_own() -> None:
    expiry = reactions.react(CAUSE, PLACED)[-1]
    assert expiry.delay_ms == order_saga.CONFIRMATION_TIMEOUT_MS


def test_the_same_event_seen_twice_gives_the_same_command_ids() -> None:
    first = [f.command_id for f in reactions.react(CAUSE, PLACED)]
    again = [f.command_id for f in reactions.react(Cause(), PLACED)]
    assert first == again
    assert len(set(first)) == len(first)


def test_another_event_gives_other_command_ids() -> None:
    first = {f.command_id for f in reactions.react(CAUSE, PLACED)}
    later = {f.command_id for f in reactions.react(Cause(aggregate_version=2), PLACED)}
    elsewhere = {f.command_id for f in reactions.react(Cause(aggregate_id="order:o2"), PLACED)}
    assert first.isdisjoint(later) and first.isdisjoint(elsewhere)


def test_follow_ups_are_the_systems_and_keep_the_story_together() -> None:
    for follow_up in reactions.react(CAUSE, PLACED):
        assert follow_up.roles == SYSTEM_ROLES
        assert (follow_up.causation_id, follow_up.correlation_id) == ("cmd-place", "corr-1")


def test_a_reservation_is_recorded_on_its_order() -> None:
    reserved = InventoryReserved(sku="BEANS-S", order_id="o1", quantity=2, available=3)
    assert commands(reactions.react(Cause("sku:BEANS-S", 7), reserved)) == [
        (RecordReservation(order_id="o1", sku="BEANS-S"), "order:o1")
    ]


def test_a_failed_reservation_rejects_the_order_with_the_reason() -> None:
    failed = InventoryReservationFailed(sku="BEANS-L", order_id="o1", requested=3, available=1)
    assert commands(reactions.react(Cause("sku:BEANS-L", 7), failed)) == [
        (
            RejectOrder(order_id="o1", reason="out of stock: BEANS-L (requested 3, available 1)"),
            "order:o1",
        )
    ]


def test_a_rejected_or_cancelled_order_releases_every_line() -> None:
    skus = ("BEANS-S", "BEANS-L")
    closings: list[Event] = [
        OrderRejected(order_id="o1", customer_id="c", reason="short", skus=skus),
        OrderCancelled(order_id="o1", customer_id="c", reason="", cancelled_by="c", skus=skus),
    ]
    for closing in closings:
        assert commands(reactions.react(CAUSE, closing)) == [
            (ReleaseInventory(sku="BEANS-S", order_id="o1"), "sku:BEANS-S"),
            (ReleaseInventory(sku="BEANS-L", order_id="o1"), "sku:BEANS-L"),
        ]


def test_a_returned_reservation_is_released() -> None:
    returned = OrderReservationReturned(order_id="o1", sku="BEANS-S")
    assert commands(reactions.react(CAUSE, returned)) == [
        (ReleaseInventory(sku="BEANS-S", order_id="o1"), "sku:BEANS-S")
    ]


def test_a_delivered_order_commits_its_reservations() -> None:
    delivered = OrderDelivered(order_id="o1", customer_id="c", courier_id="k", skus=("BEANS-S",))
    assert commands(reactions.react(CAUSE, delivered)) == [
        (CommitInventory(sku="BEANS-S", order_id="o1"), "sku:BEANS-S")
    ]


def test_an_accepted_invitation_makes_the_invitee_moderator() -> None:
    accepted = ModeratorInviteAccepted(brand_id="acme", user_id="user-ivy")
    assert commands(reactions.react(Cause("brand:acme", 4), accepted)) == [
        (AssignRole(user_id="user-ivy", role="brand_moderator:acme"), "user:user-ivy")
    ]


def test_the_start_up_super_admin_is_enrolled_in_the_singleton() -> None:
    registered = UserRegistered(
        user_id="root-rita", email="r@example.com", given_name="R", roles=("super_admin",)
    )
    assert commands(reactions.react(Cause("user:root-rita", 1), registered)) == [
        (GrantSuperAdmin(user_id="root-rita"), "roles:super_admins")
    ]
    customer = msgspec.structs.replace(registered, roles=("customer",))
    assert reactions.react(Cause("user:root-rita", 1), customer) == []


def test_other_events_call_for_nothing() -> None:
    assert reactions.react(CAUSE, BrandCreated(brand_id="b", name="B", description="")) == []


def test_every_follow_up_targets_an_aggregate_its_command_may_act_on() -> None:
    """The worker refuses a command addressed to an aggregate of another type."""
    events: list[Event] = [
        PLACED,
        InventoryReserved(sku="S", order_id="o1", quantity=1, available=0),
        InventoryReservationFailed(sku="S", order_id="o1", requested=1, available=0),
        OrderRejected(order_id="o1", customer_id="c", reason="r", skus=("S",)),
        OrderDelivered(order_id="o1", customer_id="c", courier_id="k", skus=("S",)),
        ModeratorInviteAccepted(brand_id="acme", user_id="u"),
        UserRegistered(user_id="u", email="u@x.y", given_name="u", roles=("super_admin",)),
    ]
    for event in events:
        for follow_up in reactions.react(CAUSE, event):
            name = type(follow_up.command).__name__
            assert aggregate_type(follow_up.aggregate_id) == COMMAND_AGGREGATE[name]


def test_a_stored_event_record_is_a_cause() -> None:
    record = EventRecord(
        event="OrderPlaced",
        version=1,
        data=msgspec.Raw(msgspec.json.encode(PLACED)),
        aggregate_id="order:o1",
        aggregate_version=1,
        command_id="cmd-place",
        correlation_id="corr-1",
        causation_id=None,
        actor="user-carol",
        occurred_at=0,
    )
    from_record = [f.command_id for f in reactions.react(record, PLACED)]
    assert from_record == [f.command_id for f in reactions.react(CAUSE, PLACED)]

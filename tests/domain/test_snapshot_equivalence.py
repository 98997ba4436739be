"""A snapshot is only a cache: restoring from one, then replaying the tail, is the full replay.

For random command sequences, the state is passed through the real snapshot codec (msgspec JSON
and back) at a random point; the decisions taken after it and the final state must be those of
the run that never left memory.
"""

from collections.abc import Sequence
from dataclasses import fields, is_dataclass, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import cart, identity, inventory, order
from domain.aggregate import AggregateRules, Context, State, replay
from domain.errors import DomainError
from domain.registry import AGGREGATES
from domain.roles import SYSTEM_ROLES
from events.commands import (
    AddToCart,
    AssignCourier,
    AssignRole,
    CancelOrder,
    ChangeDisplayName,
    ClearCart,
    Command,
    CommitInventory,
    CompletePicking,
    DeliverOrder,
    ExpireOrder,
    MoneyInput,
    OrderLineInput,
    PickUpOrder,
    PlaceOrder,
    RecordLogin,
    RecordReservation,
    RegisterUser,
    RejectOrder,
    ReleaseInventory,
    RemoveFromCart,
    ReserveInventory,
    RestockVariant,
    RevokeRole,
    StartPicking,
)
from events.events import Event
from infra.snapshots import SnapshotCodec

Step = tuple[Command, Context]
RUNS = settings(max_examples=100, deadline=None, database=None)

CUSTOMER = "user-carol"
COURIERS = ("courier-kim", "courier-lou")
SKUS = ("BEANS-S", "BEANS-L", "RICE-1")
ORDERS = ("o-1", "o-2", "o-3")

AS_CUSTOMER = Context(actor=CUSTOMER, roles=frozenset({"customer"}), now=1_000)
AS_ADMIN = Context(actor="admin-ann", roles=frozenset({"admin"}), now=2_000)
AS_SUPER_ADMIN = Context(actor="root-rita", roles=frozenset({"super_admin"}), now=3_000)
AS_SYSTEM = Context(roles=SYSTEM_ROLES, now=4_000)
AS_COURIERS = [Context(actor=c, roles=frozenset({"courier"}), now=5_000) for c in COURIERS]
ANYONE = st.sampled_from([AS_CUSTOMER, AS_ADMIN, AS_SUPER_ADMIN, AS_SYSTEM, *AS_COURIERS])


def acted(commands: st.SearchStrategy[Command], *proper: Context) -> st.SearchStrategy[Step]:
    """A command, half the time by whom it takes to go through, else by anyone."""
    return st.tuples(commands, st.one_of(st.sampled_from(proper), ANYONE))


def one(command: Command, *proper: Context) -> st.SearchStrategy[Step]:
    return acted(st.just(command), *proper)


def assert_identical(restored: Any, original: Any) -> None:
    """Equal, and of the same types all the way down: a status decoded as a plain string would
    compare equal to its enum member, yet fail the `is` checks of the rules."""
    assert type(restored) is type(original), (restored, original)
    if is_dataclass(original):
        for f in fields(original):
            assert_identical(getattr(restored, f.name), getattr(original, f.name))
    elif isinstance(original, tuple | list):
        assert len(restored) == len(original)
        for mine, theirs in zip(restored, original, strict=True):
            assert_identical(mine, theirs)
    elif isinstance(original, dict):
        assert restored.keys() == original.keys()
        for key, value in original.items():
            assert_identical(restored[key], value)
    else:
        assert restored == original


def run(
    rules: AggregateRules, steps: Sequence[Step], snapshot_at: int | None
) -> tuple[State, list[Event]]:
    """Decides and applies each step; before step `snapshot_at`, the state goes through a
    snapshot (encoded, decoded) as if the aggregate were loaded from one."""
    codec = SnapshotCodec(rules)
    state: State = None
    decided: list[Event] = []
    for index, (command, ctx) in enumerate(steps):
        if index == snapshot_at:
            restored = codec.decode(codec.encode(state))
            assert_identical(restored, state)
            assert replay(rules, decided) == state
            state = restored
        try:
            events = rules.decide(state, command, ctx)
        except DomainError:
            continue
        decided.extend(events)
        for event in events:
            state = rules.evolve(state, event)
    return state, decided


def check(rules: AggregateRules, steps: list[Step], split: int) -> None:
    at = split % (len(steps) + 1)
    plain_state, plain_events = run(rules, steps, None)
    state, events = run(rules, steps, at)
    assert events == plain_events  # the same decisions after the restore
    assert state == plain_state
    assert replay(rules, plain_events) == plain_state
    # The snapshot the worker writes (state at the version) plus the tail's replay.
    for version in {0, at % (len(plain_events) + 1), len(plain_events)}:
        codec = SnapshotCodec(rules)
        snapshot = codec.decode(codec.encode(replay(rules, plain_events[:version])))
        tail = plain_events[version:]
        for event in tail:
            snapshot = rules.evolve(snapshot, event)
        assert snapshot == plain_state


user_id = "user-ula"
user_steps = st.lists(
    st.tuples(
        st.one_of(
            st.builds(
                RegisterUser,
                user_id=st.just(user_id),
                email=st.sampled_from(["ula@example.com", "u@example.org"]),
                display_name=st.text(min_size=1, max_size=8),
                password_hash=st.just("$argon2id$fake"),
                roles=st.lists(st.sampled_from(["customer", "courier"]), max_size=2).map(tuple),
            ),
            st.builds(RecordLogin, user_id=st.just(user_id), session_id=st.text(max_size=4)),
            st.builds(
                ChangeDisplayName,
                user_id=st.just(user_id),
                display_name=st.sampled_from(["ula", "Ula", "ü ∂"]),
            ),
            st.builds(
                AssignRole,
                user_id=st.just(user_id),
                role=st.sampled_from(["admin", "courier", "customer", "brand_moderator:b-1"]),
            ),
            st.builds(
                RevokeRole,
                user_id=st.just(user_id),
                role=st.sampled_from(["admin", "courier", "customer", "brand_moderator:b-1"]),
            ),
        ),
        ANYONE,
    ),
    min_size=1,
    max_size=25,
)


@RUNS
@given(steps=user_steps, split=st.integers(min_value=0))
def test_a_user_restored_from_a_snapshot_is_the_replayed_user(
    steps: list[Step], split: int
) -> None:
    check(identity.RULES, steps, split)


cart_steps = st.lists(
    st.tuples(
        st.one_of(
            st.builds(
                AddToCart,
                user_id=st.just(CUSTOMER),
                product_id=st.sampled_from(["prod-tin", "prod-bag"]),
                sku=st.sampled_from(SKUS),
                quantity=st.integers(1, 400),
            ),
            st.builds(RemoveFromCart, user_id=st.just(CUSTOMER), sku=st.sampled_from(SKUS)),
            st.builds(ClearCart, user_id=st.just(CUSTOMER)),
        ),
        st.sampled_from([AS_CUSTOMER, AS_SYSTEM]),
    ),
    min_size=1,
    max_size=30,
)


@RUNS
@given(steps=cart_steps, split=st.integers(min_value=0))
def test_a_cart_restored_from_a_snapshot_is_the_replayed_cart(
    steps: list[Step], split: int
) -> None:
    check(cart.RULES, steps, split)


sku = "BEANS-S"
restock = acted(
    st.builds(
        RestockVariant,
        sku=st.just(sku),
        product_id=st.sampled_from(["prod-tin", "prod-bag"]),
        brand_id=st.just("brand-1"),
        quantity=st.integers(0, 20),
    ),
    AS_ADMIN,
)
reserve = acted(
    st.builds(
        ReserveInventory,
        sku=st.just(sku),
        order_id=st.sampled_from(ORDERS),
        quantity=st.integers(1, 8),
    ),
    AS_SYSTEM,
)
release = acted(
    st.builds(ReleaseInventory, sku=st.just(sku), order_id=st.sampled_from(ORDERS)), AS_SYSTEM
)
commit = acted(
    st.builds(CommitInventory, sku=st.just(sku), order_id=st.sampled_from(ORDERS)), AS_SYSTEM
)
sku_steps = st.tuples(
    restock, st.lists(st.one_of(restock, reserve, reserve, release, commit), max_size=30)
).map(lambda both: [both[0], *both[1]])


@RUNS
@given(steps=sku_steps, split=st.integers(min_value=0))
def test_a_sku_restored_from_a_snapshot_is_the_replayed_sku(steps: list[Step], split: int) -> None:
    check(inventory.RULES, steps, split)


order_id = "o-1"
order_lines = st.lists(
    st.builds(
        OrderLineInput,
        product_id=st.just("prod-tin"),
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 5),
        unit_price=st.builds(MoneyInput, amount=st.integers(1, 999), currency=st.just("EUR")),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line.sku,
).map(tuple)
placement = st.tuples(
    st.builds(
        PlaceOrder,
        order_id=st.just(order_id),
        customer_id=st.just(CUSTOMER),
        lines=order_lines,
        from_cart=st.booleans(),
    ),
    st.just(AS_CUSTOMER),
)


# Weighted so that orders get through picking and delivery, not only placed then closed.
later_order_steps = st.lists(
    st.one_of(
        *(one(RecordReservation(order_id=order_id, sku=s), AS_SYSTEM) for s in SKUS),
        *(one(RecordReservation(order_id=order_id, sku=s), AS_SYSTEM) for s in SKUS),
        one(StartPicking(order_id=order_id), AS_ADMIN),
        one(CompletePicking(order_id=order_id), AS_ADMIN),
        *(one(AssignCourier(order_id=order_id, courier_id=c), AS_ADMIN) for c in COURIERS),
        one(PickUpOrder(order_id=order_id), *AS_COURIERS),
        one(DeliverOrder(order_id=order_id), *AS_COURIERS),
        one(RejectOrder(order_id=order_id, reason="short"), AS_SYSTEM),
        one(ExpireOrder(order_id=order_id), AS_SYSTEM),
        one(CancelOrder(order_id=order_id), AS_CUSTOMER, AS_ADMIN),
        placement,
    ),
    min_size=1,
    max_size=30,
)
order_steps = st.tuples(placement, later_order_steps).map(lambda both: [both[0], *both[1]])


@RUNS
@given(steps=order_steps, split=st.integers(min_value=0))
def test_an_order_restored_from_a_snapshot_is_the_replayed_order(
    steps: list[Step], split: int
) -> None:
    check(order.RULES, steps, split)


def test_every_aggregate_type_has_its_own_fingerprint_and_a_changed_one_with_its_version() -> None:
    prints = {name: SnapshotCodec(rules).fingerprint for name, rules in AGGREGATES.items()}
    assert len(set(prints.values())) == len(prints)
    bumped = replace(identity.RULES, snapshot_version=identity.RULES.snapshot_version + 1)
    assert SnapshotCodec(bumped).fingerprint != prints["user"]
    reshaped = replace(identity.RULES, state_type=cart.Cart)
    assert SnapshotCodec(reshaped).fingerprint != prints["user"]


def any_state(state_type: type) -> st.SearchStrategy[Any]:
    """Any value of the state type; a SKU's reservations are a dict, as `evolve` makes them."""
    if state_type is inventory.Stock:
        return st.builds(
            inventory.Stock, reservations=st.dictionaries(st.text(), st.integers(0, 10**9))
        )
    return st.from_type(state_type)


@settings(max_examples=30, deadline=None, database=None)
@given(data=st.data())
def test_every_state_type_round_trips_through_its_snapshot_exactly(data: st.DataObject) -> None:
    for rules in AGGREGATES.values():
        codec = SnapshotCodec(rules)
        state = data.draw(st.none() | any_state(rules.state_type))
        assert_identical(codec.decode(codec.encode(state)), state)

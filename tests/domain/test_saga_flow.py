"""The saga's whole story in memory: aggregates decide, the reactor reacts, commands flow on.

A stand-in for the worker, not a model of it: one FIFO queue of commands, done marks by command
id, histories as lists. It proves the pure pieces fit: ids route, roles suffice, stock balances.
"""

from collections import deque
from dataclasses import dataclass, field

from domain import reactions
from domain.aggregate import Context, State, replay
from domain.errors import DomainError
from domain.follow_ups import FollowUp
from domain.registry import AGGREGATES, COMMAND_AGGREGATE
from events.aggregate_ids import aggregate_id_of
from events.commands import (
    AddToCart,
    AssignCourier,
    CancelOrder,
    Command,
    CompletePicking,
    DeliverOrder,
    MoneyInput,
    OrderLineInput,
    PickUpOrder,
    PlaceOrder,
    ReserveInventory,
    RestockVariant,
    StartPicking,
)
from events.events import Event
from tests.domain.support import ADMIN, acting


@dataclass(frozen=True)
class Recorded:
    aggregate_id: str
    aggregate_version: int
    command_id: str
    correlation_id: str


@dataclass
class World:
    histories: dict[str, list[Event]] = field(default_factory=dict)
    queue: deque[tuple[Command, Context, str]] = field(default_factory=deque)
    done: set[str] = field(default_factory=set)
    delayed: list[FollowUp] = field(default_factory=list)
    held_back: list[FollowUp] = field(default_factory=list)
    hold: set[tuple[str, str]] = field(default_factory=set)  # (command name, aggregate id)
    rejections: list[str] = field(default_factory=list)
    sent: int = 0

    def send(self, command: Command, ctx: Context) -> None:
        self.sent += 1
        self.queue.append((command, ctx, f"client-{self.sent}"))

    def state(self, aggregate_id: str) -> State:
        rules = AGGREGATES[aggregate_id.partition(":")[0]]
        return replay(rules, self.histories.get(aggregate_id, []))

    def settle(self) -> None:
        while self.queue:
            command, ctx, command_id = self.queue.popleft()
            if command_id not in self.done:
                self.done.add(command_id)
                self._handle(command, ctx, command_id)

    def _handle(self, command: Command, ctx: Context, command_id: str) -> None:
        aggregate_id = aggregate_id_of(command)
        rules = AGGREGATES[COMMAND_AGGREGATE[type(command).__name__]]
        history = self.histories.setdefault(aggregate_id, [])
        try:
            events = rules.decide(replay(rules, history), command, ctx)
        except DomainError as error:
            self.rejections.append(error.code)
            return
        for event in events:
            history.append(event)
            self.react(Recorded(aggregate_id, len(history), command_id, "corr"), event)

    def react(self, cause: Recorded, event: Event) -> None:
        for follow_up in reactions.react(cause, event):
            if follow_up.delay_ms:
                self.delayed.append(follow_up)
            elif (type(follow_up.command).__name__, follow_up.aggregate_id) in self.hold:
                self.held_back.append(follow_up)
            else:
                self.enqueue(follow_up)

    def enqueue(self, follow_up: FollowUp) -> None:
        ctx = Context(roles=follow_up.roles)
        self.queue.append((follow_up.command, ctx, follow_up.command_id))

    def fire_timeouts(self) -> None:
        for follow_up in self.delayed:
            self.enqueue(follow_up)
        self.delayed.clear()
        self.settle()


def stocked(**skus: int) -> World:
    world = World()
    for sku, quantity in skus.items():
        command = RestockVariant(sku=sku, product_id="prod-tin", brand_id="acme", quantity=quantity)
        world.send(command, ADMIN)
    world.settle()
    return world


def place(world: World, order_id: str, customer: str, **lines: int) -> None:
    priced = tuple(
        OrderLineInput(
            product_id="prod-tin",
            sku=sku,
            quantity=quantity,
            unit_price=MoneyInput(amount=100, currency="EUR"),
        )
        for sku, quantity in lines.items()
    )
    command = PlaceOrder(order_id=order_id, customer_id=customer, lines=priced, from_cart=True)
    world.send(command, acting(customer, "customer"))


def test_an_order_whose_lines_are_all_in_stock_is_confirmed_and_its_cart_cleared() -> None:
    world = stocked(S=5, L=5)
    world.send(
        AddToCart(user_id="carol", product_id="prod-tin", sku="S", quantity=2), acting("carol")
    )
    place(world, "o1", "carol", S=2, L=1)
    world.settle()
    assert world.state("order:o1").status == "confirmed"
    assert (world.state("sku:S").available, world.state("sku:L").available) == (3, 4)
    assert world.state("cart:carol").lines == ()
    assert world.rejections == []


def test_an_order_with_a_short_line_is_rejected_and_what_it_reserved_released() -> None:
    world = stocked(S=5, L=0)
    place(world, "o1", "carol", S=2, L=1)
    world.settle()
    rejected = world.state("order:o1")
    assert (rejected.status, rejected.reserved) == ("rejected", frozenset({"S"}))
    assert (world.state("sku:S").available, world.state("sku:L").available) == (5, 0)


def test_twenty_customers_racing_for_five_units_confirm_exactly_five_orders() -> None:
    world = stocked(S=5)
    for n in range(20):
        place(world, f"o{n}", f"customer-{n}", S=1)
    world.settle()
    statuses = [world.state(f"order:o{n}").status for n in range(20)]
    assert statuses.count("confirmed") == 5
    assert statuses.count("rejected") == 15
    assert world.state("sku:S").available == 0


def test_a_reservation_landing_after_its_release_is_handed_back_and_released() -> None:
    world = stocked(S=5, L=0)
    world.hold.add(("ReserveInventory", "sku:S"))  # e.g. retried with backoff
    place(world, "o1", "carol", S=2, L=1)
    world.settle()
    assert world.state("order:o1").status == "rejected"
    for follow_up in world.held_back:
        world.enqueue(follow_up)
    world.settle()
    assert world.state("sku:S").available == 5
    assert world.state("sku:S").reservations == {}


def test_replaying_every_event_reserves_nothing_twice_even_without_done_marks() -> None:
    world = stocked(S=5, L=5)
    place(world, "o1", "carol", S=2, L=1)
    world.settle()
    world.done.clear()  # the command log's marks expired
    for aggregate_id, history in list(world.histories.items()):
        for version, event in enumerate(list(history), start=1):
            world.react(Recorded(aggregate_id, version, "replayed", "corr"), event)
    world.settle()
    assert (world.state("sku:S").available, world.state("sku:L").available) == (3, 4)
    assert world.state("order:o1").status == "confirmed"


def test_an_order_never_confirmed_expires_and_releases_its_lines() -> None:
    world = stocked(S=5, L=5)
    world.hold.add(("ReserveInventory", "sku:L"))  # never arrives
    place(world, "o1", "carol", S=2, L=1)
    world.settle()
    assert world.state("order:o1").status == "placed"
    world.fire_timeouts()
    assert world.state("order:o1").status == "rejected"
    assert world.state("sku:S").available == 5


def test_a_cancelled_order_gives_its_stock_back() -> None:
    world = stocked(S=5)
    place(world, "o1", "carol", S=2)
    world.settle()
    world.send(CancelOrder(order_id="o1"), acting("carol", "customer"))
    world.settle()
    assert world.state("order:o1").status == "cancelled"
    assert world.state("sku:S").available == 5


def test_a_delivered_order_takes_its_units_off_the_shelf() -> None:
    world = stocked(S=5)
    place(world, "o1", "carol", S=2)
    world.settle()
    kurt = acting("kurt", "courier")
    for command, ctx in [
        (StartPicking(order_id="o1"), ADMIN),
        (AssignCourier(order_id="o1", courier_id="kurt"), ADMIN),
        (CompletePicking(order_id="o1"), ADMIN),
        (PickUpOrder(order_id="o1"), kurt),
        (DeliverOrder(order_id="o1"), kurt),
    ]:
        world.send(command, ctx)
    world.settle()
    stock = world.state("sku:S")
    assert world.state("order:o1").status == "delivered"
    assert (stock.on_hand, stock.available, stock.reservations) == (3, 3, {})
    world.fire_timeouts()  # the timeout fires long after: nothing changes
    assert world.state("order:o1").status == "delivered"
    assert world.rejections == []


def test_a_client_cannot_reserve_stock_itself() -> None:
    world = stocked(S=5)
    world.send(ReserveInventory(sku="S", order_id="mine", quantity=5), acting("carol", "customer"))
    world.settle()
    assert world.rejections == ["forbidden"]
    assert world.state("sku:S").available == 5

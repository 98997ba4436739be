"""The order aggregate (`order:<id>`): placement, the reservation saga's state, and fulfilment.

    placed ──last line reserved──▶ confirmed ──StartPicking──▶ picking ──CompletePicking──▶ ready
    ready ──PickUpOrder──▶ out_for_delivery ──DeliverOrder──▶ delivered
    placed ──RejectOrder (a line short) / ExpireOrder (timeout)──▶ rejected
    placed … ready ──CancelOrder (its customer or an admin)──▶ cancelled
    out_for_delivery ──CancelOrder (an admin)──▶ cancelled

The order is the saga's state, so the reactor stays stateless: each `InventoryReserved` comes back
as `RecordReservation`, and the decision that records the last line also confirms the order (so
there is no `ConfirmOrder` command: nobody may confirm an order whose stock is not reserved).
A reservation reaching a closed order (rejected, cancelled, delivered) is handed back
(`OrderReservationReturned`) for the saga to release: with retries, a reservation may land after
the release that was meant for it. `AssignCourier` records any courier id: that the id names a
user with the role `courier` is the handler's check against the user read model.
"""

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from domain import roles
from domain.aggregate import AggregateRules, Claims, Context
from domain.changes import changed
from domain.errors import (
    DuplicateSku,
    Forbidden,
    InvalidTransition,
    MixedCurrencies,
    OrderExists,
    UnknownOrder,
    UnknownOrderLine,
    UnsupportedCommand,
)
from events.commands import (
    AssignCourier,
    CancelOrder,
    Command,
    CompletePicking,
    DeliverOrder,
    ExpireOrder,
    PickUpOrder,
    PlaceOrder,
    RecordReservation,
    RejectOrder,
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
    OrderLineReserved,
    OrderPickedUp,
    OrderPickingStarted,
    OrderPlaced,
    OrderReady,
    OrderRejected,
    OrderReservationReturned,
)

EXPIRED_REASON = "not confirmed in time"


class Status(StrEnum):
    PLACED = "placed"
    CONFIRMED = "confirmed"
    PICKING = "picking"
    READY = "ready"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


CLOSED = frozenset({Status.REJECTED, Status.CANCELLED, Status.DELIVERED})
BEFORE_PICKUP = frozenset({Status.PLACED, Status.CONFIRMED, Status.PICKING, Status.READY})
COURIER_ASSIGNABLE = frozenset({Status.CONFIRMED, Status.PICKING, Status.READY})


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: str
    lines: tuple[OrderLine, ...]
    total: Money
    status: Status = Status.PLACED
    reserved: frozenset[str] = frozenset()  # SKUs whose reservation the order has recorded
    courier_id: str | None = None

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(line.sku for line in self.lines)


def claims(command: Command) -> Claims:
    return {}


def decide(state: Order | None, command: Command, ctx: Context) -> list[Event]:
    match command:
        case PlaceOrder():
            return _place(state, command, ctx)
        case (
            RecordReservation()
            | RejectOrder()
            | ExpireOrder()
            | CancelOrder()
            | StartPicking()
            | CompletePicking()
            | AssignCourier()
            | PickUpOrder()
            | DeliverOrder()
        ):
            if state is None:
                raise UnknownOrder(f"no order {command.order_id}")
            return _decide_on(state, command, ctx)
        case _:
            raise UnsupportedCommand(type(command).__name__)


def _decide_on(order: Order, command: Command, ctx: Context) -> list[Event]:
    order_id, customer_id = order.order_id, order.customer_id
    match command:
        case RecordReservation(sku=sku):
            roles.require_system(ctx, "record reservations")
            return _record_reservation(order, sku)
        case RejectOrder(reason=reason):
            roles.require(roles.is_system(ctx) or roles.is_admin(ctx), "reject orders")
            return _reject(order, reason)
        case ExpireOrder():
            roles.require_system(ctx, "expire orders")
            # The timeout fires whatever happened since; only a still unconfirmed order expires.
            return _reject(order, EXPIRED_REASON) if order.status is Status.PLACED else []
        case CancelOrder(reason=reason):
            _check_cancellable(order, ctx)
            return [
                OrderCancelled(
                    order_id=order_id,
                    customer_id=customer_id,
                    reason=reason,
                    cancelled_by=ctx.actor,
                    skus=order.skus,
                )
            ]
        case StartPicking():
            roles.require_admin(ctx, "start picking")
            _require_status(order, Status.CONFIRMED, "start picking")
            return [OrderPickingStarted(order_id=order_id, customer_id=customer_id)]
        case CompletePicking():
            roles.require_admin(ctx, "complete picking")
            _require_status(order, Status.PICKING, "complete picking")
            return [OrderReady(order_id=order_id, customer_id=customer_id)]
        case AssignCourier(courier_id=courier_id):
            roles.require_admin(ctx, "assign couriers")
            if order.status not in COURIER_ASSIGNABLE:
                raise InvalidTransition(f"cannot assign a courier to a {order.status} order")
            if courier_id == order.courier_id:
                return []
            return [
                CourierAssigned(order_id=order_id, customer_id=customer_id, courier_id=courier_id)
            ]
        case PickUpOrder():
            courier_id = _assigned_courier(order, ctx, "pick up")
            _require_status(order, Status.READY, "pick up")
            return [
                OrderPickedUp(order_id=order_id, customer_id=customer_id, courier_id=courier_id)
            ]
        case DeliverOrder():
            courier_id = _assigned_courier(order, ctx, "deliver")
            _require_status(order, Status.OUT_FOR_DELIVERY, "deliver")
            return [
                OrderDelivered(
                    order_id=order_id,
                    customer_id=customer_id,
                    courier_id=courier_id,
                    skus=order.skus,
                )
            ]
        case _:
            raise UnsupportedCommand(type(command).__name__)


def _place(state: Order | None, command: PlaceOrder, ctx: Context) -> list[Event]:
    roles.require(ctx.actor == command.customer_id, "place an order for someone else")
    if state is not None:
        raise OrderExists(f"order {command.order_id} already exists")
    repeated = [sku for sku, n in Counter(line.sku for line in command.lines).items() if n > 1]
    if repeated:
        raise DuplicateSku(f"SKU {repeated[0]} appears on two lines; merge them")
    currencies = {line.unit_price.currency for line in command.lines}
    if len(currencies) > 1:
        raise MixedCurrencies(f"one order, one currency; got {', '.join(sorted(currencies))}")
    lines = tuple(
        OrderLine(
            product_id=line.product_id,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=Money(amount=line.unit_price.amount, currency=line.unit_price.currency),
        )
        for line in command.lines
    )
    total = sum(line.quantity * line.unit_price.amount for line in lines)
    return [
        OrderPlaced(
            order_id=command.order_id,
            customer_id=command.customer_id,
            lines=lines,
            total=Money(amount=total, currency=currencies.pop()),
            from_cart=command.from_cart,
            placed_at=ctx.now,
        )
    ]


def _record_reservation(order: Order, sku: str) -> list[Event]:
    if sku not in order.skus:
        raise UnknownOrderLine(f"order {order.order_id} has no line for SKU {sku}")
    if order.status in CLOSED:
        return [OrderReservationReturned(order_id=order.order_id, sku=sku)]
    if sku in order.reserved:
        return []
    recorded: list[Event] = [OrderLineReserved(order_id=order.order_id, sku=sku)]
    if order.reserved | {sku} == set(order.skus):
        recorded.append(OrderConfirmed(order_id=order.order_id, customer_id=order.customer_id))
    return recorded


def _reject(order: Order, reason: str) -> list[Event]:
    if order.status in (Status.REJECTED, Status.CANCELLED):
        return []  # already closed: a second short line or a late timeout changes nothing
    _require_status(order, Status.PLACED, "reject")
    return [
        OrderRejected(
            order_id=order.order_id,
            customer_id=order.customer_id,
            reason=reason,
            skus=order.skus,
        )
    ]


def _check_cancellable(order: Order, ctx: Context) -> None:
    is_admin = roles.is_admin(ctx)
    roles.require(is_admin or ctx.actor == order.customer_id, "cancel this order")
    if order.status in CLOSED:
        raise InvalidTransition(f"cannot cancel a {order.status} order")
    if not is_admin and order.status not in BEFORE_PICKUP:
        raise InvalidTransition("a customer may cancel only before the courier picks it up")


def _assigned_courier(order: Order, ctx: Context, what: str) -> str:
    courier_id = order.courier_id
    if courier_id is None or ctx.actor != courier_id or roles.COURIER not in ctx.roles:
        raise Forbidden(f"only the order's assigned courier may {what} it")
    return courier_id


def _require_status(order: Order, status: Status, what: str) -> None:
    if order.status is not status:
        raise InvalidTransition(f"cannot {what} a {order.status} order; it must be {status}")


_STATUS_AFTER: dict[type[Event], Status] = {
    OrderConfirmed: Status.CONFIRMED,
    OrderRejected: Status.REJECTED,
    OrderCancelled: Status.CANCELLED,
    OrderPickingStarted: Status.PICKING,
    OrderReady: Status.READY,
    OrderPickedUp: Status.OUT_FOR_DELIVERY,
    OrderDelivered: Status.DELIVERED,
}


def evolve(state: Order | None, event: Event) -> Order | None:
    match event:
        case OrderPlaced():
            return Order(
                order_id=event.order_id,
                customer_id=event.customer_id,
                lines=event.lines,
                total=event.total,
            )
        case OrderLineReserved() if state is not None:
            return changed(state, reserved=state.reserved | {event.sku})
        case CourierAssigned() if state is not None:
            return changed(state, courier_id=event.courier_id)
        case _ if state is not None and type(event) in _STATUS_AFTER:
            return changed(state, status=_STATUS_AFTER[type(event)])
        case _:
            return state


RULES = AggregateRules(evolve=evolve, decide=decide, claims=claims, state_type=Order)

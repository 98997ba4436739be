"""The inventory of one SKU (`sku:<SKU>`): stock on hand and the orders' reservations against it.

One aggregate per SKU is what makes reservations race safely: every reservation of a SKU is
decided on its one state in turn (the commit's version check sees to it), so however many orders
compete, `available` never drops below zero. On-hand stock counts reserved units too: they stay
on the shelf until the order is delivered and the reservation committed.

A reservation that cannot be met is not an error but the event `InventoryReservationFailed`: the
saga needs the "no" as a fact to reject the order on. Reserving, releasing and committing are
idempotent per order, since the saga may deliver any of them twice.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain import roles
from domain.aggregate import AggregateRules, Claims, Context
from domain.changes import changed
from domain.errors import SkuOfAnotherProduct, StockBelowReserved, UnsupportedCommand
from events.commands import (
    Command,
    CommitInventory,
    ReleaseInventory,
    ReserveInventory,
    RestockVariant,
)
from events.events import (
    Event,
    InventoryCommitted,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
    InventoryRestocked,
)


@dataclass(frozen=True)
class Stock:
    sku: str
    product_id: str | None = None  # bound by the first restock
    brand_id: str | None = None
    on_hand: int = 0
    reservations: Mapping[str, int] = field(default_factory=dict)  # order id -> quantity

    @property
    def reserved(self) -> int:
        return sum(self.reservations.values())

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def claims(command: Command) -> Claims:
    return {}


def decide(state: Stock | None, command: Command, ctx: Context) -> list[Event]:
    match command:
        case RestockVariant():
            return _restock(state or Stock(sku=command.sku), command, ctx)
        case ReserveInventory():
            roles.require_system(ctx, "reserve inventory")
            return _reserve(state or Stock(sku=command.sku), command)
        case ReleaseInventory(sku=sku, order_id=order_id):
            roles.require_system(ctx, "release inventory")
            stock = state or Stock(sku=sku)
            held = stock.reservations.get(order_id)
            if held is None:
                return []
            return [
                InventoryReleased(
                    sku=sku, order_id=order_id, quantity=held, available=stock.available + held
                )
            ]
        case CommitInventory(sku=sku, order_id=order_id):
            roles.require_system(ctx, "commit inventory")
            stock = state or Stock(sku=sku)
            held = stock.reservations.get(order_id)
            if held is None:
                return []
            return [
                InventoryCommitted(
                    sku=sku, order_id=order_id, quantity=held, on_hand=stock.on_hand - held
                )
            ]
        case _:
            raise UnsupportedCommand(type(command).__name__)


def _restock(stock: Stock, command: RestockVariant, ctx: Context) -> list[Event]:
    roles.require_catalog_editor(ctx, command.brand_id, "restock this brand's SKUs")
    # The gateway stamps product and brand from the catalog; the SKU keeps the first ones it saw,
    # so a moderator can never restock another brand's SKU by naming their own brand.
    if stock.product_id is not None and (stock.product_id, stock.brand_id) != (
        command.product_id,
        command.brand_id,
    ):
        raise SkuOfAnotherProduct(f"SKU {command.sku} belongs to product {stock.product_id}")
    if command.quantity < stock.reserved:
        raise StockBelowReserved(
            f"{stock.reserved} units of {command.sku} are reserved; on hand cannot be less"
        )
    if stock.product_id is not None and command.quantity == stock.on_hand:
        return []
    return [
        InventoryRestocked(
            sku=command.sku,
            product_id=command.product_id,
            brand_id=command.brand_id,
            on_hand=command.quantity,
            available=command.quantity - stock.reserved,
        )
    ]


def _reserve(stock: Stock, command: ReserveInventory) -> list[Event]:
    if command.order_id in stock.reservations:
        return []
    if command.quantity > stock.available:
        return [
            InventoryReservationFailed(
                sku=command.sku,
                order_id=command.order_id,
                requested=command.quantity,
                available=stock.available,
            )
        ]
    return [
        InventoryReserved(
            sku=command.sku,
            order_id=command.order_id,
            quantity=command.quantity,
            available=stock.available - command.quantity,
        )
    ]


def evolve(state: Stock | None, event: Event) -> Stock | None:
    match event:
        case InventoryRestocked():
            stock = state or Stock(sku=event.sku)
            return changed(
                stock, product_id=event.product_id, brand_id=event.brand_id, on_hand=event.on_hand
            )
        case InventoryReserved():
            stock = state or Stock(sku=event.sku)
            reservations = {**stock.reservations, event.order_id: event.quantity}
            return changed(stock, reservations=reservations)
        case InventoryReleased() if state is not None:
            return changed(state, reservations=_without(state.reservations, event.order_id))
        case InventoryCommitted() if state is not None:
            return changed(
                state,
                on_hand=state.on_hand - event.quantity,
                reservations=_without(state.reservations, event.order_id),
            )
        case _:
            return state


def _without(reservations: Mapping[str, int], order_id: str) -> dict[str, int]:
    return {order: quantity for order, quantity in reservations.items() if order != order_id}


RULES = AggregateRules(evolve=evolve, decide=decide, claims=claims, state_type=Stock)

"""The cart aggregate (`cart:<user_id>`): what a customer means to order, one line per SKU.

Whether a product is published and sells that SKU is checked by the gateway against the catalog
read model, and again when the order is placed; the cart only holds the customer's intent.
"""

from dataclasses import dataclass

from domain import roles
from domain.aggregate import AggregateRules, Claims, Context
from domain.errors import CartFull, QuantityLimit, UnsupportedCommand
from events.commands import AddToCart, ClearCart, Command, RemoveFromCart
from events.events import CartCleared, CartItemAdded, CartItemRemoved, Event

MAX_LINES = 50  # an order takes at most 50 lines
MAX_LINE_QUANTITY = 1_000  # an order line's bound


@dataclass(frozen=True)
class CartLine:
    product_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Cart:
    user_id: str
    lines: tuple[CartLine, ...] = ()

    def line(self, sku: str) -> CartLine | None:
        return next((line for line in self.lines if line.sku == sku), None)


def claims(command: Command) -> Claims:
    return {}


def decide(state: Cart | None, command: Command, ctx: Context) -> list[Event]:
    match command:
        case AddToCart(user_id=user_id):
            roles.require(ctx.actor == user_id, "change another customer's cart")
            return _add(state or Cart(user_id=user_id), command)
        case RemoveFromCart(user_id=user_id, sku=sku):
            roles.require(ctx.actor == user_id, "change another customer's cart")
            cart = state or Cart(user_id=user_id)
            return [CartItemRemoved(user_id=user_id, sku=sku)] if cart.line(sku) else []
        case ClearCart(user_id=user_id):
            # The saga clears the cart an order was placed from.
            roles.require(ctx.actor == user_id or roles.is_system(ctx), "clear this cart")
            cart = state or Cart(user_id=user_id)
            return [CartCleared(user_id=user_id)] if cart.lines else []
        case _:
            raise UnsupportedCommand(type(command).__name__)


def _add(cart: Cart, command: AddToCart) -> list[Event]:
    line = cart.line(command.sku)
    if line is None and len(cart.lines) >= MAX_LINES:
        raise CartFull(f"a cart holds at most {MAX_LINES} lines")
    quantity = command.quantity + (line.quantity if line else 0)
    if quantity > MAX_LINE_QUANTITY:
        raise QuantityLimit(f"at most {MAX_LINE_QUANTITY} of one SKU per order")
    return [
        CartItemAdded(
            user_id=cart.user_id,
            product_id=command.product_id,
            sku=command.sku,
            quantity=quantity,
        )
    ]


def evolve(state: Cart | None, event: Event) -> Cart | None:
    match event:
        case CartItemAdded():
            cart = state or Cart(user_id=event.user_id)
            added = CartLine(product_id=event.product_id, sku=event.sku, quantity=event.quantity)
            if cart.line(event.sku) is None:
                return Cart(cart.user_id, (*cart.lines, added))
            lines = tuple(added if line.sku == event.sku else line for line in cart.lines)
            return Cart(cart.user_id, lines)
        case CartItemRemoved() if state is not None:
            return Cart(state.user_id, tuple(line for line in state.lines if line.sku != event.sku))
        case CartCleared() if state is not None:
            return Cart(state.user_id)
        case _:
            return state


RULES = AggregateRules(evolve=evolve, decide=decide, claims=claims, state_type=Cart)

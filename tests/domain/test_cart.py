"""Given a customer's cart, when they change it, then cart events or a refusal."""

from domain import cart
from events.commands import AddToCart, ClearCart, RemoveFromCart
from events.events import CartCleared, CartItemAdded, CartItemRemoved
from tests.domain.support import ADMIN, SYSTEM, acting, given, rejection

RULES = cart.RULES
CAROL = "user-carol"
AS_CAROL = acting(CAROL, "customer")
BEANS = CartItemAdded(user_id=CAROL, product_id="prod-tin", sku="BEANS-S", quantity=2)


def add(sku: str = "BEANS-S", quantity: int = 1) -> AddToCart:
    return AddToCart(user_id=CAROL, product_id="prod-tin", sku=sku, quantity=quantity)


def test_a_customer_adds_to_their_cart() -> None:
    assert RULES.decide(given(RULES), add(quantity=2), AS_CAROL) == [BEANS]


def test_adding_a_sku_already_in_the_cart_adds_to_its_line() -> None:
    assert RULES.decide(given(RULES, BEANS), add(quantity=3), AS_CAROL) == [
        CartItemAdded(user_id=CAROL, product_id="prod-tin", sku="BEANS-S", quantity=5)
    ]


def test_nobody_else_changes_a_customers_cart() -> None:
    other = acting("user-dan", "customer")
    assert rejection(RULES, given(RULES), add(), other) == "forbidden"
    assert rejection(RULES, given(RULES), add(), ADMIN) == "forbidden"
    remove = RemoveFromCart(user_id=CAROL, sku="BEANS-S")
    assert rejection(RULES, given(RULES, BEANS), remove, other) == "forbidden"


def test_a_line_holds_at_most_an_orders_line_quantity() -> None:
    assert rejection(RULES, given(RULES, BEANS), add(quantity=999), AS_CAROL) == "quantity_limit"


def test_a_full_cart_takes_no_new_line_but_more_of_one_it_has() -> None:
    state = given(
        RULES,
        *(
            CartItemAdded(user_id=CAROL, product_id="p", sku=f"SKU-{n}", quantity=1)
            for n in range(cart.MAX_LINES)
        ),
    )
    assert rejection(RULES, state, add("NEW-SKU"), AS_CAROL) == "cart_full"
    assert RULES.decide(state, add("SKU-0"), AS_CAROL)[0] == CartItemAdded(
        user_id=CAROL, product_id="prod-tin", sku="SKU-0", quantity=2
    )


def test_removing_a_line_records_it_and_removing_an_absent_one_nothing() -> None:
    remove = RemoveFromCart(user_id=CAROL, sku="BEANS-S")
    assert RULES.decide(given(RULES, BEANS), remove, AS_CAROL) == [
        CartItemRemoved(user_id=CAROL, sku="BEANS-S")
    ]
    assert RULES.decide(given(RULES), remove, AS_CAROL) == []


def test_the_customer_or_the_saga_clears_the_cart() -> None:
    clear = ClearCart(user_id=CAROL)
    assert RULES.decide(given(RULES, BEANS), clear, AS_CAROL) == [CartCleared(user_id=CAROL)]
    assert RULES.decide(given(RULES, BEANS), clear, SYSTEM) == [CartCleared(user_id=CAROL)]
    assert rejection(RULES, given(RULES, BEANS), clear, ADMIN) == "forbidden"


def test_clearing_an_empty_cart_records_nothing() -> None:
    assert RULES.decide(given(RULES), ClearCart(user_id=CAROL), AS_CAROL) == []


def test_the_cart_state_follows_its_events() -> None:
    state = given(
        RULES,
        BEANS,
        CartItemAdded(user_id=CAROL, product_id="prod-jam", sku="JAM", quantity=1),
        CartItemAdded(user_id=CAROL, product_id="prod-tin", sku="BEANS-S", quantity=4),
        CartItemRemoved(user_id=CAROL, sku="JAM"),
    )
    assert state.lines == (cart.CartLine(product_id="prod-tin", sku="BEANS-S", quantity=4),)
    assert given(RULES, BEANS, CartCleared(user_id=CAROL)).lines == ()

"""The commerce contracts: every command routed and handled, inputs bounded, events tolerant."""

import msgspec
import pytest

from domain.aggregate import Context
from domain.errors import DomainError, UnsupportedCommand
from domain.registry import AGGREGATES, COMMAND_AGGREGATE, aggregate_type
from events import requests
from events.aggregate_ids import aggregate_id_of
from events.commands import (
    COMMAND_TYPES,
    AcceptModeratorInvite,
    AddToCart,
    AssignCourier,
    AssignRole,
    CancelOrder,
    ChangeDisplayName,
    ClearCart,
    Command,
    CommitInventory,
    CompletePicking,
    CreateBrand,
    CreateProduct,
    DeleteBrand,
    DeliverOrder,
    ExpireOrder,
    GrantSuperAdmin,
    InviteModerator,
    MarkNotificationRead,
    MoneyInput,
    OrderLineInput,
    PickUpOrder,
    PlaceOrder,
    PublishProduct,
    RecordLogin,
    RecordReservation,
    RegisterUser,
    RejectOrder,
    ReleaseInventory,
    RemoveFromCart,
    ReserveInventory,
    RestockVariant,
    RevokeRole,
    RevokeSuperAdmin,
    StartPicking,
    UnpublishProduct,
    UpdateBrand,
    UpdateProduct,
    VariantInput,
)
from events.events import EVENT_TYPES, OrderPlaced

EUR = MoneyInput(amount=100, currency="EUR")
LINE = OrderLineInput(product_id="p", sku="S", quantity=1, unit_price=EUR)
SAMPLES: list[Command] = [
    RegisterUser(user_id="u", email="u@x.y", display_name="U", password_hash="h"),
    RecordLogin(user_id="u", session_id="s"),
    ChangeDisplayName(user_id="u", display_name="V"),
    AssignRole(user_id="u", role="courier"),
    RevokeRole(user_id="u", role="courier"),
    GrantSuperAdmin(user_id="u"),
    RevokeSuperAdmin(user_id="u"),
    CreateBrand(brand_id="b", name="B"),
    UpdateBrand(brand_id="b", name="C"),
    DeleteBrand(brand_id="b"),
    InviteModerator(brand_id="b", invitee_user_id="u"),
    AcceptModeratorInvite(brand_id="b"),
    CreateProduct(
        product_id="p",
        brand_id="b",
        name="P",
        price=EUR,
        variants=(VariantInput(sku="S", name="s"),),
    ),
    UpdateProduct(product_id="p", name="Q"),
    PublishProduct(product_id="p"),
    UnpublishProduct(product_id="p"),
    RestockVariant(sku="S", product_id="p", brand_id="b", quantity=1),
    ReserveInventory(sku="S", order_id="o", quantity=1),
    ReleaseInventory(sku="S", order_id="o"),
    CommitInventory(sku="S", order_id="o"),
    AddToCart(user_id="u", product_id="p", sku="S", quantity=1),
    RemoveFromCart(user_id="u", sku="S"),
    ClearCart(user_id="u"),
    PlaceOrder(order_id="o", customer_id="u", lines=(LINE,)),
    RecordReservation(order_id="o", sku="S"),
    RejectOrder(order_id="o", reason="r"),
    ExpireOrder(order_id="o"),
    CancelOrder(order_id="o"),
    StartPicking(order_id="o"),
    CompletePicking(order_id="o"),
    AssignCourier(order_id="o", courier_id="k"),
    PickUpOrder(order_id="o"),
    DeliverOrder(order_id="o"),
    MarkNotificationRead(user_id="u", notification_id="n"),
]
EVERYONE = Context(actor="u", roles=frozenset({"super_admin", "system", "brand_moderator:b"}))


def test_the_samples_cover_every_command() -> None:
    assert {type(sample).__name__ for sample in SAMPLES} == set(COMMAND_TYPES)


def test_every_command_has_an_aggregate_type_with_rules() -> None:
    assert set(COMMAND_AGGREGATE) == set(COMMAND_TYPES)
    assert set(COMMAND_AGGREGATE.values()) == set(AGGREGATES)


@pytest.mark.parametrize("command", SAMPLES, ids=lambda c: type(c).__name__)
def test_every_command_routes_to_an_aggregate_that_handles_it(command: Command) -> None:
    name = type(command).__name__
    assert aggregate_type(aggregate_id_of(command)) == COMMAND_AGGREGATE[name]
    rules = AGGREGATES[COMMAND_AGGREGATE[name]]
    try:
        rules.decide(None, command, EVERYONE)
    except UnsupportedCommand:
        pytest.fail(f"{name} is not handled by its aggregate")
    except DomainError:
        pass  # a business "no" on an empty aggregate is fine: the command was understood


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ({"sku": "beans-s"}, "$.sku"),
        ({"sku": "BEANS:S"}, "$.sku"),
        ({"sku": "B" * 49}, "$.sku"),
        ({"quantity": 0}, "$.quantity"),
        ({"quantity": 1001}, "$.quantity"),
        ({"unit_price": {"amount": 0, "currency": "EUR"}}, "$.unit_price.amount"),
        ({"unit_price": {"amount": 100_000_001, "currency": "EUR"}}, "$.unit_price.amount"),
        ({"unit_price": {"amount": 1, "currency": "eur"}}, "$.unit_price.currency"),
        ({"unit_price": {"amount": 1, "currency": "EURO"}}, "$.unit_price.currency"),
        ({"unit_price": {"amount": 1, "currency": "EUR", "fx": 1}}, "unknown field `fx`"),
        ({"discount": 5}, "unknown field `discount`"),
    ],
)
def test_order_line_inputs_are_bounded_and_strict(
    payload: dict[str, object], complaint: str
) -> None:
    line = {
        "product_id": "p",
        "sku": "S",
        "quantity": 1,
        "unit_price": {"amount": 1, "currency": "EUR"},
    }
    with pytest.raises(msgspec.ValidationError) as invalid:
        msgspec.convert({**line, **payload}, OrderLineInput)
    assert complaint in str(invalid.value)


@pytest.mark.parametrize("count", [0, 51])
def test_a_product_has_one_to_fifty_variants(count: int) -> None:
    variants = [{"sku": f"S{n}", "name": "v"} for n in range(count)]
    payload = {
        "brand_id": "b",
        "name": "P",
        "price": {"amount": 1, "currency": "EUR"},
        "variants": variants,
    }
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(payload, requests.CreateProductRequest)


def test_an_order_request_without_lines_is_placed_from_the_cart() -> None:
    assert msgspec.json.decode(b"{}", type=requests.PlaceOrderRequest).lines is None
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"lines": []}', type=requests.PlaceOrderRequest)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"customer_id": "someone"}', type=requests.PlaceOrderRequest)


def test_requests_do_not_let_clients_choose_what_the_gateway_stamps() -> None:
    assert "brand_id" not in requests.CreateBrandRequest.__struct_fields__
    assert "product_id" not in requests.CreateProductRequest.__struct_fields__
    assert {"brand_id", "product_id"}.isdisjoint(requests.RestockVariantRequest.__struct_fields__)
    assert "unit_price" not in requests.OrderLineRequest.__struct_fields__
    assert "user_id" not in requests.AddToCartRequest.__struct_fields__


def test_stored_events_tolerate_fields_they_do_not_know() -> None:
    data = {
        "order_id": "o",
        "customer_id": "u",
        "lines": [
            {
                "product_id": "p",
                "sku": "S",
                "quantity": 1,
                "unit_price": {"amount": 1, "currency": "EUR", "fx": 1},
                "gift": True,
            }
        ],
        "total": {"amount": 1, "currency": "EUR"},
        "coupon": "NEW",
    }
    assert msgspec.convert(data, OrderPlaced).total.amount == 1


def test_every_event_is_registered_under_its_name() -> None:
    assert all(name == cls.__name__ for name, cls in EVENT_TYPES.items())

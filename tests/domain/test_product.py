"""Given a product's history, when a catalog command, then product events or a refusal."""

import pytest

from domain import product
from domain.aggregate import Context
from events.commands import (
    CreateProduct,
    MoneyInput,
    PublishProduct,
    UnpublishProduct,
    UpdateProduct,
    VariantInput,
)
from events.events import (
    Money,
    ProductCreated,
    ProductPublished,
    ProductUnpublished,
    ProductUpdated,
    Variant,
)
from tests.domain.support import ADMIN, SYSTEM, acting, given, rejection

RULES = product.RULES
TIN = "prod-tin"
MODERATOR = acting("user-mo", "brand_moderator:acme")
OTHER_MODERATOR = acting("user-ozzy", "brand_moderator:globex")
CUSTOMER = acting("user-carol", "customer")
CREATED = ProductCreated(
    product_id=TIN,
    brand_id="acme",
    name="Tin of beans",
    description="",
    price=Money(amount=250, currency="EUR"),
    variants=(Variant(sku="BEANS-S", name="Small"), Variant(sku="BEANS-L", name="Large")),
)


def create(*skus: str, brand_id: str = "acme") -> CreateProduct:
    return CreateProduct(
        product_id=TIN,
        brand_id=brand_id,
        name="Tin of beans",
        price=MoneyInput(amount=250, currency="EUR"),
        variants=tuple(
            VariantInput(sku=sku, name=name)
            for sku, name in zip(skus or ("BEANS-S", "BEANS-L"), ("Small", "Large"), strict=True)
        ),
    )


@pytest.mark.parametrize("ctx", [MODERATOR, ADMIN], ids=["the brand's moderator", "admin"])
def test_the_brands_moderator_or_an_admin_creates_a_product(ctx: Context) -> None:
    assert RULES.decide(given(RULES), create(), ctx) == [CREATED]


@pytest.mark.parametrize(
    "ctx", [OTHER_MODERATOR, CUSTOMER, SYSTEM], ids=["other moderator", "customer", "system"]
)
def test_nobody_else_creates_a_product_for_the_brand(ctx: Context) -> None:
    assert rejection(RULES, given(RULES), create(), ctx) == "forbidden"


def test_a_product_id_is_created_once() -> None:
    assert rejection(RULES, given(RULES, CREATED), create(), ADMIN) == "product_exists"


def test_a_sku_may_appear_once_among_the_variants() -> None:
    assert rejection(RULES, given(RULES), create("BEANS-S", "BEANS-S"), ADMIN) == "duplicate_sku"


def test_a_product_claims_every_sku_it_sells() -> None:
    assert RULES.claims(create()) == {"sku:BEANS-S": TIN, "sku:BEANS-L": TIN}


def test_a_sku_sold_by_another_product_is_taken() -> None:
    ctx = acting("admin-ann", "admin", owners={"sku:BEANS-L": "prod-other"})
    assert rejection(RULES, given(RULES), create(), ctx) == "sku_taken"


def test_a_sku_already_claimed_by_this_product_is_not_a_conflict() -> None:
    ctx = acting("admin-ann", "admin", owners={"sku:BEANS-L": TIN})
    assert RULES.decide(given(RULES), create(), ctx) == [CREATED]


@pytest.mark.parametrize("ctx", [MODERATOR, ADMIN], ids=["the brand's moderator", "admin"])
def test_the_brands_moderator_or_an_admin_updates_the_product(ctx: Context) -> None:
    command = UpdateProduct(product_id=TIN, price=MoneyInput(amount=300, currency="EUR"))
    assert RULES.decide(given(RULES, CREATED), command, ctx) == [
        ProductUpdated(
            product_id=TIN,
            name="Tin of beans",
            description="",
            price=Money(amount=300, currency="EUR"),
        )
    ]


def test_the_moderator_check_uses_the_products_recorded_brand() -> None:
    """The command names no brand to lie about: the product's own brand decides."""
    command = UpdateProduct(product_id=TIN, name="Mine now")
    assert rejection(RULES, given(RULES, CREATED), command, OTHER_MODERATOR) == "forbidden"
    assert rejection(RULES, given(RULES, CREATED), command, CUSTOMER) == "forbidden"


def test_an_update_that_changes_nothing_records_nothing() -> None:
    command = UpdateProduct(product_id=TIN, name="Tin of beans")
    assert RULES.decide(given(RULES, CREATED), command, ADMIN) == []


def test_publishing_and_unpublishing_are_idempotent() -> None:
    state = given(RULES, CREATED)
    published = ProductPublished(product_id=TIN, brand_id="acme")
    assert RULES.decide(state, PublishProduct(product_id=TIN), MODERATOR) == [published]
    assert RULES.decide(state, UnpublishProduct(product_id=TIN), MODERATOR) == []
    state = given(RULES, CREATED, published)
    assert RULES.decide(state, PublishProduct(product_id=TIN), MODERATOR) == []
    assert RULES.decide(state, UnpublishProduct(product_id=TIN), MODERATOR) == [
        ProductUnpublished(product_id=TIN, brand_id="acme")
    ]


@pytest.mark.parametrize(
    "command", [PublishProduct(product_id=TIN), UnpublishProduct(product_id=TIN)]
)
def test_only_the_brands_editors_publish(command: PublishProduct | UnpublishProduct) -> None:
    assert rejection(RULES, given(RULES, CREATED), command, OTHER_MODERATOR) == "forbidden"


@pytest.mark.parametrize(
    "command",
    [UpdateProduct(product_id=TIN, name="x"), PublishProduct(product_id=TIN)],
    ids=["update", "publish"],
)
def test_an_unknown_product_is_refused(command: UpdateProduct | PublishProduct) -> None:
    assert rejection(RULES, given(RULES), command, ADMIN) == "unknown_product"


def test_the_state_follows_updates_and_publication() -> None:
    state = given(
        RULES,
        CREATED,
        ProductUpdated(
            product_id=TIN, name="Beans", description="d", price=Money(amount=1, currency="EUR")
        ),
        ProductPublished(product_id=TIN, brand_id="acme"),
    )
    assert (state.name, state.price.amount, state.published) == ("Beans", 1, True)

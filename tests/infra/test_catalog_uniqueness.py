"""Brand names and SKUs are unique across the whole catalog, whatever the ids hash to."""

from redis.asyncio import Redis

from events.commands import CreateBrand, CreateProduct, MoneyInput, UpdateBrand, VariantInput
from infra import keys
from infra.command_log import find_status
from infra.settings import Settings
from tests.infra.commerce_support import send, settle
from worker.commands import CommandConsumer
from worker.deps import Deps

PRICE = MoneyInput(amount=500, currency="EUR")
ADMIN = ("admin",)


def ids_in_different_partitions(kind: str, settings: Settings) -> tuple[str, str]:
    """Two ids whose own hash would put them in different partitions."""
    first = f"{kind}-0"
    for n in range(1, 100):
        other = f"{kind}-{n}"
        if keys.partition_of(f"{kind}:{other}", settings.partitions) != keys.partition_of(
            f"{kind}:{first}", settings.partitions
        ):
            return first, other
    raise AssertionError("no two ids in different partitions")


def product(product_id: str, *skus: str) -> CreateProduct:
    return CreateProduct(
        product_id=product_id,
        brand_id="b-0",
        name=product_id,
        price=PRICE,
        variants=tuple(VariantInput(sku=sku, name=sku) for sku in skus),
    )


async def outcome(redis: Redis, settings: Settings, command_id: str) -> str:
    status = await find_status(redis, settings, command_id)
    assert status is not None
    return status.error.code if status.error else status.status


async def test_catalog_aggregates_share_one_partition(settings: Settings) -> None:
    partitions = {
        keys.partition_of_aggregate(f"{kind}:{n}", settings.partitions)
        for kind in ("brand", "product")
        for n in range(50)
    }
    assert len(partitions) == 1
    spread = {keys.partition_of_aggregate(f"order:{n}", settings.partitions) for n in range(50)}
    assert len(spread) == settings.partitions


async def test_a_sku_is_taken_once_even_by_a_product_second_variant(
    redis: Redis, settings: Settings
) -> None:
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1"))
    await consumer.prepare()
    first_id, second_id = ids_in_different_partitions("product", settings)
    await send(redis, settings, CreateBrand(brand_id="b-0", name="Acme"), "root", *ADMIN)
    first = await send(redis, settings, product(first_id, "A-1", "A-2"), "root", *ADMIN)
    second = await send(redis, settings, product(second_id, "B-1", "A-2"), "root", *ADMIN)
    await settle(consumer)

    assert await outcome(redis, settings, first.command_id) == "succeeded"
    assert await outcome(redis, settings, second.command_id) == "sku_taken"


async def test_a_brand_cannot_be_renamed_to_another_brands_name(
    redis: Redis, settings: Settings
) -> None:
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1"))
    await consumer.prepare()
    first_id, second_id = ids_in_different_partitions("brand", settings)
    await send(redis, settings, CreateBrand(brand_id=first_id, name="Acme"), "root", *ADMIN)
    await send(redis, settings, CreateBrand(brand_id=second_id, name="Zenith"), "root", *ADMIN)
    rename = await send(
        redis, settings, UpdateBrand(brand_id=second_id, name="  ACME "), "root", *ADMIN
    )
    await settle(consumer)

    assert await outcome(redis, settings, rename.command_id) == "brand_name_taken"

"""What the gateway stamps and refuses for commerce commands, and how its queries answer."""

import uuid
from typing import Any

import httpx
import pytest

from infra.embedded_redis import free_port
from tests.e2e.commerce import (
    admin_actor,
    eventually,
    get_json,
    new_actor,
    new_sku,
    recorder,
    send,
    stocked_product,
    succeeded,
)
from tests.e2e.conftest import start_http
from tests.e2e.processes import Stack


def refusal(response: httpx.Response) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("path")


async def test_a_field_the_system_chooses_is_refused_from_a_client(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    customer = await new_actor(web, stack)
    line = {"product_id": "p", "sku": "S", "quantity": 1}
    for command, payload, path in (
        ("PlaceOrder", {"lines": [line], "customer_id": "someone"}, "$.payload.customer_id"),
        ("PlaceOrder", {"lines": [{**line, "unit_price": 1}]}, "$.payload.lines[0].unit_price"),
        ("AddToCart", {**line, "user_id": "someone"}, "$.payload.user_id"),
        ("CancelOrder", {"order_id": "o", "cancelled_by": "x"}, "$.payload.cancelled_by"),
    ):
        response = await send(web, customer, command, payload)
        assert refusal(response) == (422, "invalid_payload", path), (command, response.text)


async def test_an_order_is_priced_from_published_products_only(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        hidden = await stocked_product(web, admin, root, as_admin, stock=2)
        unpublish = {"product_id": hidden.product_id}
        await succeeded(as_admin, await send(admin, root, "UnpublishProduct", unpublish))
        shown = await stocked_product(web, admin, root, as_admin, stock=2)

    async def withdrawn() -> Any:
        response = await web.get(f"/products/{hidden.product_id}")
        return True if response.status_code == 404 else None

    await eventually(withdrawn)
    customer = await new_actor(web, stack)
    good = {"product_id": shown.product_id, "sku": shown.sku, "quantity": 1}
    of_hidden = {**good, "product_id": hidden.product_id, "sku": hidden.sku}
    for lines, path in (
        ([good, {**good, "product_id": "nope"}], "$.payload.lines[1].product_id"),
        ([of_hidden], "$.payload.lines[0].product_id"),
        ([{**good, "sku": new_sku()}], "$.payload.lines[0].sku"),
    ):
        response = await send(web, customer, "PlaceOrder", {"lines": lines})
        assert refusal(response) == (422, "invalid_payload", path), response.text
    empty_cart = await send(web, customer, "PlaceOrder", {})
    assert refusal(empty_cart) == (422, "invalid_payload", "$.payload.lines")
    unknown_sku = await send(web, customer, "AddToCart", {**good, "sku": new_sku()})
    assert refusal(unknown_sku) == (422, "invalid_payload", "$.payload.sku")
    not_a_courier = await send(
        admin, root, "AssignCourier", {"order_id": "o", "courier_id": customer.user_id}
    )
    assert refusal(not_a_courier) == (422, "invalid_payload", "$.payload.courier_id")
    restock = await send(admin, root, "RestockVariant", {"sku": new_sku(), "quantity": 1})
    assert refusal(restock) == (422, "invalid_payload", "$.payload.sku")

    async with recorder(stack, customer) as socket:
        placed = await send(web, customer, "PlaceOrder", {"lines": [{**good, "quantity": 2}]})
        [event] = (await succeeded(socket, placed))["events"]
    assert event["data"]["lines"][0]["unit_price"] == {"amount": 1250, "currency": "EUR"}
    assert event["data"]["total"] == {"amount": 2500, "currency": "EUR"}
    assert event["data"]["customer_id"] == customer.user_id


async def test_a_repeated_command_names_the_same_new_order(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        product = await stocked_product(web, admin, root, as_admin, stock=5)
    customer = await new_actor(web, stack)
    order = {"lines": [{"product_id": product.product_id, "sku": product.sku, "quantity": 1}]}
    keyed = {**customer.auth, "idempotency-key": "one-order"}
    answers = [
        (
            await web.post(
                "/command", json={"command": "PlaceOrder", "payload": order}, headers=keyed
            )
        )
        for _ in range(2)
    ]
    assert answers[0].status_code == answers[1].status_code == 202
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["order_id"]
    command_id = str(uuid.uuid4())
    again = [
        await send(web, customer, "PlaceOrder", order, command_id=command_id) for _ in range(2)
    ]
    assert again[0].json()["order_id"] == again[1].json()["order_id"]
    assert again[0].json()["order_id"] != answers[0].json()["order_id"]


async def test_products_are_listed_newest_first_by_page_and_by_brand(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        older = await stocked_product(web, admin, root, as_admin, stock=1)
        newer = await stocked_product(web, admin, root, as_admin, stock=1)
    first = await get_json(web, "/products?limit=1")
    assert [p["product_id"] for p in first["products"]] == [newer.product_id]
    second = await get_json(web, f"/products?limit=1&after={first['next']}")
    assert [p["product_id"] for p in second["products"]] == [older.product_id]
    of_brand = await get_json(web, f"/products?brand_id={older.brand_id}")
    assert [p["product_id"] for p in of_brand["products"]] == [older.product_id]
    assert of_brand["next"] is None
    brands = await get_json(web, "/brands?limit=2")
    assert [b["brand_id"] for b in brands["brands"]] == [newer.brand_id, older.brand_id]
    detail = await get_json(web, f"/products/{newer.product_id}")
    assert detail["product"]["variants"] == [{"sku": newer.sku, "name": "Blue", "available": 1}]
    assert (await web.get("/products/no-such-product")).status_code == 404


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/products?limit=0", "$.query.limit"),
        ("/products?limit=many", "$.query.limit"),
        ("/products?limit=1&limit=2", "$.query.limit"),
        ("/products?colour=blue", "$.query.colour"),
        ("/products?after=%20drop", "$.query.after"),
        ("/brands?limit=101", "$.query.limit"),
        ("/products?brand_id=%3Cscript%3E", "$.query.brand_id"),
    ],
)
async def test_a_bad_query_parameter_is_an_invalid_query(
    web: httpx.AsyncClient, path: str, parameter: str
) -> None:
    assert refusal(await web.get(path)) == (422, "invalid_query", parameter)


async def test_bad_admin_filters_are_invalid_queries(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    for path, parameter in (
        ("/orders?status=lost", "$.query.status"),
        ("/users?role=No%20Such", "$.query.role"),
        ("/orders?customer_id=", "$.query.customer_id"),
    ):
        response = await admin.get(path, headers=root.auth)
        assert refusal(response) == (422, "invalid_query", parameter), path


async def test_the_rate_limit_covers_the_queries_and_not_the_admin_api(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ports = {"web": free_port(), "admin": free_port()}
    env = {
        **stack.env,
        # Its own database: the limit's counters are shared through Redis, per client IP.
        "REDIS_URL": stack.redis_url.rsplit("/", 1)[0] + "/1",
        "PORT": str(ports["web"]),
        "ADMIN_PORT": str(ports["admin"]),
        "RATE_LIMIT_PER_MINUTE": "3",
    }
    logs = tmp_path_factory.mktemp("rl-queries")
    web = start_http("web-limited-queries", "api.public:create_app", ports["web"], env, logs)
    admin = start_http("admin-unlimited", "api.admin:create_app", ports["admin"], env, logs)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['web']}") as client:
            codes = [(await client.get(path)).status_code for path in ("/products", "/brands")]
            codes += [(await client.get(path)).status_code for path in ("/cart", "/orders")]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['admin']}") as client:
            admin_codes = [(await client.get("/orders")).status_code for _ in range(6)]
    finally:
        assert web.stop() and admin.stop()
    assert codes == [200, 200, 401, 429]
    assert admin_codes == [401] * 6

"""Every role boundary of the commerce APIs, over HTTP and the relay."""

from typing import Any

import httpx

from tests.e2e.commerce import (
    Actor,
    Product,
    Recorder,
    admin_actor,
    courier_of,
    eventually,
    get_json,
    new_actor,
    recorder,
    send,
    stocked_product,
    succeeded,
)
from tests.e2e.processes import Stack


async def placed_order(
    web: httpx.AsyncClient, customer: Actor, socket: Recorder, p: Product
) -> str:
    """An order of one unit of `p`, once the saga confirmed it."""
    line = {"product_id": p.product_id, "sku": p.sku, "quantity": 1}
    response = await send(web, customer, "PlaceOrder", {"lines": [line]})
    await succeeded(socket, response)
    order_id: str = response.json()["order_id"]
    # The saga's outcome reaches the customer's own topic too.
    await socket.expect(
        lambda f: f.get("event") == "OrderConfirmed" and f["data"]["order_id"] == order_id
    )
    return order_id


async def test_a_customer_can_neither_read_nor_follow_nor_command_anothers_order(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        product = await stocked_product(web, admin, root, as_admin, stock=5)
    owner, other = await new_actor(web, stack), await new_actor(web, stack)
    async with recorder(stack, owner) as socket:
        assert (await socket.subscribe(f"user:{owner.user_id}"))["type"] == "subscribed"
        order_id = await placed_order(web, owner, socket, product)
        topic = f"order:{order_id}"
        assert (await socket.subscribe(topic))["type"] == "subscribed"
    await eventually(lambda: get_json(web, f"/orders/{order_id}", owner))

    mine = await web.get(f"/orders/{order_id}", headers=other.auth)
    assert (mine.status_code, mine.json()["error"]["code"]) == (404, "not_found")
    theirs = (await web.get("/orders", headers=other.auth)).json()
    assert theirs == {"ok": True, "orders": [], "next": None}
    async with recorder(stack, other) as socket:
        refused = await socket.subscribe(topic)
        assert refused == {"type": "error", "code": "forbidden", "topic": topic}
        unknown = await socket.subscribe("order:no-such-order")
        assert unknown["code"] == "forbidden"  # whether it exists is not theirs to know
        cancel = await send(web, other, "CancelOrder", {"order_id": order_id})
        outcome = await socket.result_of(cancel)
        assert (outcome["status"], outcome["error"]["code"]) == ("rejected", "forbidden")

    picking = {"order_id": order_id}
    on_admin = await send(admin, other, "StartPicking", picking)
    assert (on_admin.status_code, on_admin.json()["error"]["code"]) == (403, "forbidden")
    on_public = await send(web, other, "StartPicking", picking)
    assert (on_public.status_code, on_public.json()["error"]["code"]) == (400, "unknown_command")
    assert "StartPicking" not in on_public.json()["error"]["known"]
    assert "PlaceOrder" in on_public.json()["error"]["known"]
    async with recorder(stack, owner) as socket:
        assert (await socket.subscribe(topic))["type"] == "subscribed"
        # The same connection signs in as someone else: the order was its owner's to follow.
        await socket.authenticate(other)
        dropped = {"type": "error", "code": "forbidden", "topic": topic}
        assert await socket.expect(lambda f: f == dropped) == dropped
    anonymous = await web.get(f"/orders/{order_id}")
    assert anonymous.status_code == 401
    admin_read = await web.get(f"/orders/{order_id}", headers=root.auth)
    assert admin_read.status_code == 200


async def test_a_courier_sees_only_the_orders_assigned_to_them(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        product = await stocked_product(web, admin, root, as_admin, stock=5)
    customer = await new_actor(web, stack)
    courier = await courier_of(web, admin, stack)
    async with recorder(stack, customer) as socket:
        assert (await socket.subscribe(f"user:{customer.user_id}"))["type"] == "subscribed"
        assigned = await placed_order(web, customer, socket, product)
        other = await placed_order(web, customer, socket, product)
    async with recorder(stack, root) as as_admin:
        response = await send(
            admin, root, "AssignCourier", {"order_id": assigned, "courier_id": courier.user_id}
        )
        await succeeded(as_admin, response)

    async def listed() -> Any:
        body = await get_json(web, "/courier/orders", courier)
        return body if body and body["orders"] else None

    deliveries = await eventually(listed)
    assert [o["order_id"] for o in deliveries["orders"]] == [assigned]
    assert (await web.get(f"/orders/{assigned}", headers=courier.auth)).status_code == 200
    assert (await web.get(f"/orders/{other}", headers=courier.auth)).status_code == 404
    async with recorder(stack, courier) as socket:
        assert (await socket.subscribe(f"order:{assigned}"))["type"] == "subscribed"
        assert (await socket.subscribe(f"order:{other}"))["code"] == "forbidden"
        # Told live of their assignment, on their own topic.
        assert (await socket.subscribe(f"user:{courier.user_id}"))["type"] == "subscribed"
        pick_up = await send(web, courier, "PickUpOrder", {"order_id": other})
        outcome = await socket.result_of(pick_up)
        assert (outcome["status"], outcome["error"]["code"]) == ("rejected", "forbidden")

    not_a_courier = await web.get("/courier/orders", headers=customer.auth)
    assert (not_a_courier.status_code, not_a_courier.json()["error"]["code"]) == (403, "forbidden")
    refused = await send(web, customer, "PickUpOrder", {"order_id": assigned})
    assert refused.status_code == 403
    couriers = await get_json(admin, "/users?role=courier&limit=100", root)
    assert courier.user_id in [u["user_id"] for u in couriers["users"]]
    filtered = await get_json(admin, f"/orders?courier_id={courier.user_id}", root)
    assert [o["order_id"] for o in filtered["orders"]] == [assigned]


async def test_the_admin_api_serves_admins_only(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    customer = await new_actor(web, stack)
    for path in ("/orders", "/users", f"/users/{customer.user_id}", "/orders/some-order"):
        assert (await admin.get(path)).status_code == 401, path
        refused = await admin.get(path, headers=customer.auth)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")

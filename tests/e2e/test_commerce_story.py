"""The marketplace's whole story over HTTP and WebSocket, watched live by the customer.

Catalog, cart, order, the reservation saga, stock races, fulfilment and delivery.
"""

import asyncio
from typing import Any

import httpx

from tests.e2e.commerce import (
    Actor,
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

# The event that moves an order into each status, in the order a delivered order goes through.
STATUS_OF = {
    "OrderPlaced": "placed",
    "OrderConfirmed": "confirmed",
    "OrderPickingStarted": "picking",
    "OrderReady": "ready",
    "OrderPickedUp": "out_for_delivery",
    "OrderDelivered": "delivered",
}
DELIVERED_STORY = ["placed", "confirmed", "picking", "ready", "out_for_delivery", "delivered"]


async def delivered_order(web: httpx.AsyncClient, customer: Actor, order_id: str) -> Any:
    async def delivered() -> Any:
        body = await get_json(web, f"/orders/{order_id}", customer)
        return body["order"] if body and body["order"]["status"] == "delivered" else None

    return await eventually(delivered)


async def available(web: httpx.AsyncClient, product_id: str, units: int) -> None:
    async def shown() -> Any:
        body = await get_json(web, f"/products/{product_id}")
        left = body["product"]["variants"][0]["available"] if body else None
        return body if left == units else None

    await eventually(shown)


async def test_a_customer_orders_from_the_cart_and_watches_it_delivered(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        product = await stocked_product(web, admin, root, as_admin, stock=3, amount=1250)
    customer = await new_actor(web, stack)
    courier = await courier_of(web, admin, stack)

    async with recorder(stack, customer) as socket:
        assert (await socket.subscribe(f"user:{customer.user_id}"))["type"] == "subscribed"
        added = await send(
            web,
            customer,
            "AddToCart",
            {"product_id": product.product_id, "sku": product.sku, "quantity": 2},
        )
        await succeeded(socket, added)
        # A position from before the order, to replay the order's topic from.
        before = await socket.expect(lambda f: f.get("event") == "CartItemAdded")
        cart = await eventually(lambda: get_json(web, "/cart", customer))
        assert [line["sku"] for line in cart["cart"]["lines"]] == [product.sku]

        placed = await send(web, customer, "PlaceOrder", {})
        order_id = placed.json()["order_id"]
        result = await succeeded(socket, placed)
        [event] = result["events"]
        assert event["event"] == "OrderPlaced"
        assert event["data"]["order_id"] == order_id
        assert event["data"]["total"] == {"amount": 2500, "currency": "EUR"}
        topic = f"order:{order_id}"
        subscribed = await socket.subscribe(topic, since=before["position"])
        assert subscribed == {"type": "subscribed", "topic": topic}
        await socket.expect(
            lambda f: f.get("topic") == topic and f.get("event") == "OrderConfirmed"
        )

        async with recorder(stack, root) as as_admin:
            for command, payload in (
                ("StartPicking", {"order_id": order_id}),
                ("CompletePicking", {"order_id": order_id}),
                ("AssignCourier", {"order_id": order_id, "courier_id": courier.user_id}),
            ):
                await succeeded(as_admin, await send(admin, root, command, payload))
        async with recorder(stack, courier) as as_courier:
            assert (await as_courier.subscribe(topic))["type"] == "subscribed"
            for command in ("PickUpOrder", "DeliverOrder"):
                await succeeded(
                    as_courier, await send(web, courier, command, {"order_id": order_id})
                )
            await as_courier.expect(lambda f: f.get("event") == "OrderDelivered")
        await socket.expect(
            lambda f: f.get("topic") == topic and f.get("event") == "OrderDelivered"
        )

    seen = socket.events(topic)
    statuses = [STATUS_OF[f["event"]] for f in seen if f["event"] in STATUS_OF]
    assert statuses == DELIVERED_STORY
    assert len({f["position"] for f in seen}) == len(seen)  # nothing twice
    assert "CourierAssigned" in [f["event"] for f in seen]

    order = await delivered_order(web, customer, order_id)
    assert order["courier_id"] == courier.user_id
    assert [change["status"] for change in order["history"]] == DELIVERED_STORY
    mine = (await web.get("/orders", headers=customer.auth)).json()
    assert [o["order_id"] for o in mine["orders"]] == [order_id]

    async def delivered_note() -> Any:
        body = await get_json(web, "/notifications", customer)
        notes = body["notifications"] if body else []
        return notes if any(n["kind"] == "order_delivered" for n in notes) else None

    notes = await eventually(delivered_note)
    assert {n["kind"] for n in notes} >= {"order_confirmed", "courier_assigned", "order_delivered"}
    async with recorder(stack, customer) as socket:
        read = await send(
            web, customer, "MarkNotificationRead", {"notification_id": notes[0]["notification_id"]}
        )
        await succeeded(socket, read)
    # One unit of the three is left to order.
    await available(web, product.product_id, 1)


async def test_of_twenty_customers_racing_for_the_last_five_units_exactly_five_are_confirmed(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        product = await stocked_product(web, admin, root, as_admin, stock=5)
        assert (await as_admin.subscribe("admin:events"))["type"] == "subscribed"
        customers = await asyncio.gather(*(new_actor(web, stack, "racer") for _ in range(20)))
        line = {"product_id": product.product_id, "sku": product.sku, "quantity": 1}
        responses = await asyncio.gather(
            *(send(web, c, "PlaceOrder", {"lines": [line]}) for c in customers)
        )
        assert [r.status_code for r in responses] == [202] * 20
        order_ids = {r.json()["order_id"] for r in responses}
        outcomes: dict[str, str] = {}

        def decided(frame: dict[str, Any]) -> bool:
            if frame["type"] == "event" and frame["data"].get("order_id") in order_ids:
                if frame["event"] in ("OrderConfirmed", "OrderRejected"):
                    outcomes[frame["data"]["order_id"]] = frame["event"]
            return len(outcomes) == len(order_ids)

        await as_admin.expect(decided, within=30)
    assert sorted(outcomes.values()).count("OrderConfirmed") == 5
    assert sorted(outcomes.values()).count("OrderRejected") == 15
    await available(web, product.product_id, 0)
    winners = {order_id for order_id, outcome in outcomes.items() if outcome == "OrderConfirmed"}

    async def listed_confirmed() -> Any:
        body = await get_json(admin, "/orders?status=confirmed&limit=100", root)
        found = {o["order_id"] for o in body["orders"]} if body else set()
        return found if found >= winners else None

    await eventually(listed_confirmed)

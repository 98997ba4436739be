"""What the commerce tests share: signed-in actors, commands, a relay recorder, the catalog."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from tests.e2e.client import FRAME_TIMEOUT, Listener, listen, login, register, unique_email
from tests.e2e.client import wait_projected as wait_login_projected
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.processes import Stack

PASSWORD = "a long enough password"
PROJECTION_TIMEOUT = 10.0
T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """A signed-in user."""

    user_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def admin_actor(web: httpx.AsyncClient, stack: Stack) -> Actor:
    await wait_login_projected(stack, ADMIN_EMAIL)
    session = await login(web, ADMIN_EMAIL, ADMIN_PASSWORD)
    return Actor(session["user_id"], session["token"])


async def new_actor(web: httpx.AsyncClient, stack: Stack, prefix: str = "customer") -> Actor:
    email = unique_email(prefix)
    assert (await register(web, email, PASSWORD)).status_code == 202
    await wait_login_projected(stack, email)
    session = await login(web, email, PASSWORD)
    return Actor(session["user_id"], session["token"])


async def send(
    client: httpx.AsyncClient,
    actor: Actor | None,
    command: str,
    payload: dict[str, Any],
    **extra: Any,
) -> httpx.Response:
    return await client.post(
        "/command",
        json={"command": command, "payload": payload, **extra},
        headers=actor.auth if actor else {},
    )


async def eventually(probe: Callable[[], Awaitable[T | None]]) -> T:
    """Polls a read model until `probe` finds what it wants: no event tells a client that the
    projector caught up, so this is the one place tests poll (bounded, briefly spaced)."""
    async with asyncio.timeout(PROJECTION_TIMEOUT):
        while True:
            found = await probe()
            if found is not None:
                return found
            await asyncio.sleep(0.02)


class Recorder:
    """A relay connection that keeps every frame, so that waiting for one loses no other."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.frames: list[dict[str, Any]] = []

    async def expect(
        self,
        wanted: Callable[[dict[str, Any]], bool],
        within: float = FRAME_TIMEOUT,
        *,
        start: int = 0,
    ) -> dict[str, Any]:
        """The first frame received (from index `start`), or to come, that `wanted` accepts."""
        for frame in self.frames[start:]:
            if wanted(frame):
                return frame
        async with asyncio.timeout(within):
            while True:
                frame = await self.listener.receive()
                self.frames.append(frame)
                if wanted(frame):
                    return frame

    async def answer(self, frame: dict[str, Any], *types: str) -> dict[str, Any]:
        """Sends a frame and returns the first answer after it of one of these types, about
        the frame's topic (an `auth` answer names none; a subscription dropped by it does)."""
        start = len(self.frames)
        topic = frame.get("topic")
        await self.listener.send(frame)

        def fits(answer: dict[str, Any]) -> bool:
            return answer["type"] in types and answer.get("topic") == topic

        return await self.expect(fits, start=start)

    async def authenticate(self, actor: Actor) -> None:
        answer = await self.answer({"type": "auth", "token": actor.token}, "authenticated", "error")
        assert answer["type"] == "authenticated", answer

    async def subscribe(self, topic: str, since: str | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "topic": topic}
        if since is not None:
            frame["since"] = since
        return await self.answer(frame, "subscribed", "error")

    async def result_of(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 202, response.text
        command_id = response.json()["command_id"]
        return await self.expect(lambda f: f["type"] == "result" and f["command_id"] == command_id)

    def events(self, topic: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "event" and f["topic"] == topic]


@asynccontextmanager
async def recorder(stack: Stack, actor: Actor | None = None) -> AsyncIterator[Recorder]:
    async with listen(stack.relay) as listener:
        recording = Recorder(listener)
        if actor is not None:
            await recording.authenticate(actor)
        yield recording


def new_sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:12].upper()}"


async def succeeded(recording: Recorder, response: httpx.Response) -> dict[str, Any]:
    result = await recording.result_of(response)
    assert result["status"] == "succeeded", result
    return result


@dataclass(frozen=True)
class Product:
    brand_id: str
    product_id: str
    sku: str


async def get_json(client: httpx.AsyncClient, path: str, actor: Actor | None = None) -> Any:
    """The body of a 200 answer, else None (for `eventually`)."""
    response = await client.get(path, headers=actor.auth if actor else {})
    return response.json() if response.status_code == 200 else None


async def stocked_product(
    web: httpx.AsyncClient,
    admin_api: httpx.AsyncClient,
    admin: Actor,
    recording: Recorder,
    *,
    stock: int,
    amount: int = 1250,
) -> Product:
    """A new brand with one published product of one SKU, `stock` units on hand, as shoppers
    see it. `recording` is the admin's authenticated relay connection."""
    name = f"Brand {uuid.uuid4().hex[:8]}"
    response = await send(admin_api, admin, "CreateBrand", {"name": name})
    await succeeded(recording, response)
    brand_id = response.json()["brand_id"]
    await eventually(lambda: get_json(web, f"/brands/{brand_id}"))

    sku = new_sku()
    product = {
        "brand_id": brand_id,
        "name": "Lamp",
        "price": {"amount": amount, "currency": "EUR"},
        "variants": [{"sku": sku, "name": "Blue"}],
    }
    response = await send(admin_api, admin, "CreateProduct", product)
    await succeeded(recording, response)
    product_id = response.json()["product_id"]
    # Restocking reads the SKU's product from the catalog: it must be projected first.
    await eventually(lambda: get_json(web, f"/products/{product_id}", admin))

    for command, payload in (
        ("PublishProduct", {"product_id": product_id}),
        ("RestockVariant", {"sku": sku, "quantity": stock}),
    ):
        await succeeded(recording, await send(admin_api, admin, command, payload))

    async def shown_in_stock() -> Any:
        body = await get_json(web, f"/products/{product_id}")
        return body if body and body["product"]["variants"][0]["available"] == stock else None

    await eventually(shown_in_stock)
    return Product(brand_id, product_id, sku)


async def courier_of(web: httpx.AsyncClient, admin_api: httpx.AsyncClient, stack: Stack) -> Actor:
    """A new user the admin makes a courier, once the role shows in the users' read model."""
    admin = await admin_actor(web, stack)
    courier = await new_actor(web, stack, "courier")
    async with recorder(stack, admin) as watching:
        response = await send(
            admin_api, admin, "AssignRole", {"user_id": courier.user_id, "role": "courier"}
        )
        await succeeded(watching, response)

    async def has_role() -> Any:
        body = await get_json(admin_api, f"/users/{courier.user_id}", admin)
        return body if body and "courier" in body["user"]["roles"] else None

    await eventually(has_role)
    return courier

"""What a client of Sluice does: post commands, sign in, and listen on the relay."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from infra import keys
from tests.e2e.processes import Stack

FRAME_TIMEOUT = 10.0


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


async def register(
    web: httpx.AsyncClient,
    email: str,
    password: str = "a long enough password",
    *,
    reply_to: str | None = None,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "command": "RegisterUser",
        "payload": {"email": email, "password": password},
        **extra,
    }
    if reply_to is not None:
        body["reply_to"] = reply_to
    return await web.post("/command", json=body)


async def login(web: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await web.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class Listener:
    """One WebSocket connection to the relay."""

    def __init__(self, ws: ClientConnection, welcome: dict[str, Any]) -> None:
        self.ws = ws
        self.reply_to: str = welcome["reply_to"]

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def receive(self, within: float = FRAME_TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), within)
        frame: dict[str, Any] = orjson.loads(raw)
        return frame

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Sends a frame and returns the first answer that is not a pushed result or event."""
        await self.send(frame)
        while True:
            answer = await self.receive()
            if answer["type"] not in ("result", "event"):
                return answer

    async def result_of(self, command_id: str) -> dict[str, Any]:
        while True:
            frame = await self.receive()
            if frame["type"] == "result" and frame["command_id"] == command_id:
                return frame

    async def authenticate(self, token: str) -> dict[str, Any]:
        return await self.request({"type": "auth", "token": token})


@asynccontextmanager
async def listen(relay_url: str) -> AsyncIterator[Listener]:
    async with connect(relay_url, max_size=2**20) as ws:
        welcome = orjson.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT))
        assert welcome["type"] == "welcome"
        yield Listener(ws, welcome)


async def wait_projected(stack: Stack, email: str) -> str:
    """Read models follow the log by milliseconds; waits until `email` can log in."""
    client = Redis.from_url(stack.redis_url)
    try:
        async with asyncio.timeout(10):
            while True:
                user_id = await client.get(keys.user_by_email(email))
                if user_id and await client.exists(keys.credentials(user_id.decode())):
                    return str(user_id.decode())
                await asyncio.sleep(0.01)  # no event tells a client the projector caught up
    finally:
        await client.aclose()


async def registered_and_settled(
    web: httpx.AsyncClient, stack: Stack, email: str, password: str = "a long enough password"
) -> None:
    """Registers `email`, awaits the result on the relay, then the user's view."""
    async with listen(stack.relay) as listener:
        response = await register(web, email, password, reply_to=listener.reply_to)
        result = await listener.result_of(response.json()["command_id"])
    assert result["status"] == "succeeded"
    await wait_projected(stack, email)


async def login_when_projected(
    web: httpx.AsyncClient, stack: Stack, email: str, password: str
) -> dict[str, Any]:
    await wait_projected(stack, email)
    return await login(web, email, password)


async def signed_up(stack: Stack, email: str, password: str = "a long enough password") -> str:
    """A new user, registered, settled and projected, logged in: their session token."""
    async with httpx.AsyncClient(base_url=stack.web, timeout=10) as web:
        await registered_and_settled(web, stack, email, password)
        return str((await login(web, email, password))["token"])


async def signed_in(stack: Stack, email: str, password: str) -> str:
    """An existing user's session token, once their view is projected."""
    async with httpx.AsyncClient(base_url=stack.web, timeout=10) as web:
        return str((await login_when_projected(web, stack, email, password))["token"])

"""What a client is told when a route fails: an outage is 503 even where no code translated
it, and only a bug is 500. The Redis errors come from real servers."""

from collections.abc import Awaitable
from typing import Any

import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http import EXCEPTION_HANDLERS
from infra.embedded_redis import free_port


def app_raising(error: Exception) -> Starlette:
    async def fail(request: Request) -> Response:
        raise error

    return Starlette(routes=[Route("/", fail)], exception_handlers=EXCEPTION_HANDLERS)


async def answer(error: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_raising(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/")


async def caught(call: Awaitable[Any]) -> Exception:
    try:
        await call
    except Exception as error:
        return error
    raise AssertionError("no error")


async def test_an_untranslated_outage_is_503_a_bug_is_500(redis: Redis) -> None:
    nowhere = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        unreachable = await caught(nowhere.ping())
    finally:
        await nowhere.aclose()
    await redis.set("ballast", "x")
    used = (await redis.info("memory"))["used_memory"]
    await redis.config_set("maxmemory", str(used // 2))
    try:
        full = await caught(redis.set("k", "v"))
    finally:
        await redis.config_set("maxmemory", "0")

    for error in (unreachable, full):
        response = await answer(error)
        assert response.status_code == 503, (error, response.text)
        assert response.json()["error"]["code"] == "unavailable"
    bug = await answer(ValueError("a bug"))
    assert bug.status_code == 500
    assert bug.json()["error"] == {"code": "internal_error", "message": "unexpected server error"}

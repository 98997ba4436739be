"""What the processes say of the server's durability: read from real redis-servers, each set
up the way an operator might have left it."""

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

from infra import durability
from infra.embedded_redis import free_port
from tests.redis_servers import running


@asynccontextmanager
async def server(
    root: Path, *, appendonly: bool, options: Sequence[str] = ()
) -> AsyncIterator[Redis]:
    settings = {"appendonly": appendonly, "appendfsync": "everysec", "options": options}
    async with running(root, **settings) as started:
        client = Redis.from_url(started.url)
        try:
            yield client
        finally:
            await client.aclose()


async def test_a_server_that_keeps_what_it_acknowledges_has_no_risk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with server(tmp_path, appendonly=True) as redis:
        settings = await durability.server_settings(redis)
        with caplog.at_level(logging.INFO):
            await durability.report(redis, logging.getLogger("test.durability"))

    assert settings is not None
    assert durability.risks(settings) == []
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "appendfsync everysec" in caplog.records[0].getMessage()


async def test_no_append_only_file_and_an_eviction_policy_are_each_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = ("--maxmemory-policy", "allkeys-lru")
    async with server(tmp_path, appendonly=False, options=options) as redis:
        settings = await durability.server_settings(redis)
        with caplog.at_level(logging.INFO):
            await durability.report(redis, logging.getLogger("test.durability"))

    assert settings is not None
    found = durability.risks(settings)
    assert len(found) == 2
    assert "appendonly is off" in found[0]
    assert "maxmemory-policy is allkeys-lru" in found[1]
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]


async def test_a_server_that_refuses_config_is_said_to_be_unchecked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with server(tmp_path, appendonly=True, options=("--rename-command", "CONFIG", "")) as r:
        settings = await durability.server_settings(r)
        with caplog.at_level(logging.INFO):
            await durability.report(r, logging.getLogger("test.durability"))

    assert settings is None
    assert [r.getMessage() for r in caplog.records] == [
        "Redis refused CONFIG GET: its durability settings are unchecked"
    ]


async def test_a_server_not_up_yet_is_left_to_the_rest_of_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with caplog.at_level(logging.INFO):
            await durability.report(nowhere, logging.getLogger("test.durability"))
    finally:
        await nowhere.aclose()

    assert caplog.records == []

"""Shared fixtures: one real redis-server per session on a free port, flushed per test."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from infra.embedded_redis import EmbeddedRedis
from infra.settings import Settings
from tests.redis_servers import own_server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = own_server(Path(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@pytest.fixture
def settings(redis_server: EmbeddedRedis) -> Settings:
    return replace(
        Settings(),
        redis_url=redis_server.url,
        claim_idle_ms=500,
        read_block_ms=200,
    )


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()

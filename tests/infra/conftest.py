"""Fixtures of the integration suite beyond the shared ones: a real arq pool."""

from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio import Redis

from infra.embedded_redis import EmbeddedRedis


@pytest.fixture
async def arq_pool(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[ArqRedis]:
    """arq on the test server, after `redis` flushed it: no job of an earlier test remains."""
    pool = await create_pool(RedisSettings.from_dsn(redis_server.url))
    yield pool
    await pool.aclose()

"""The worker survives a Redis outage in the middle of arq's job start."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import WatchError

from infra.embedded_redis import EmbeddedRedis
from worker.host import SluiceWorker


async def noop(ctx: dict[str, Any]) -> None:
    return None


@pytest.fixture
async def arq_pool(redis_server: EmbeddedRedis) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_server.url))
    yield pool
    await pool.aclose()


class LostWhileWatching:
    """A pipeline whose connection drops as arq starts watching the job's key."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __aenter__(self) -> "LostWhileWatching":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def watch(self, *names: object) -> None:
        raise self.error


@pytest.mark.parametrize("error", [WatchError("lost"), RedisConnectionError("lost")])
async def test_a_connection_lost_while_starting_a_job_gives_its_slot_back(
    arq_pool: ArqRedis, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    worker = SluiceWorker(functions=[noop], redis_pool=arq_pool, max_jobs=3, handle_signals=False)
    monkeypatch.setattr(arq_pool, "pipeline", lambda **_: LostWhileWatching(error))

    for _ in range(5):  # more polls than slots: a leaked slot would stall the worker
        await worker.start_jobs([b"job-1"])

    assert worker.job_counter == 0
    assert not worker.sem.locked()

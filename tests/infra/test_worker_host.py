"""The worker survives a Redis outage or a full Redis in the middle of arq's poll loop."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.cron import cron
from arq.worker import func
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import WatchError

from infra.embedded_redis import EmbeddedRedis
from tests.redis_servers import fill, make_room, own_server
from worker.host import SluiceWorker
from worker.main import arq_redis_settings


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


async def test_a_full_server_costs_arq_s_loop_turns_not_the_process(tmp_path: Path) -> None:
    """Full under `noeviction`, Redis refuses arq's writes: taking a job, recording its health,
    queuing its cron jobs. The loop goes on turning, and the job runs once there is room."""
    server = own_server(tmp_path).start()
    pool = await create_pool(RedisSettings.from_dsn(server.url))
    ran = asyncio.Event()

    async def job(ctx: dict[str, Any]) -> None:
        ran.set()

    async def sweep(ctx: dict[str, Any]) -> None:
        return None

    worker = SluiceWorker(
        functions=[func(job, name="job")],
        cron_jobs=[cron(sweep, second=set(range(60)))],  # due at every heartbeat
        redis_pool=pool,
        handle_signals=False,
        health_check_interval=0,  # recorded at every turn: a write every time
    )
    try:
        await pool.enqueue_job("job")
        await fill(pool)
        for _ in range(5):  # each turn meets a refusal; none may end the loop
            await worker._poll_iteration()
        assert not ran.is_set()

        await make_room(pool)
        polling = asyncio.create_task(worker.main())  # arq's own loop from here on
        await asyncio.wait_for(ran.wait(), 10)
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    finally:
        for task in worker.tasks.values():  # what a refused turn left behind
            task.cancel()
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        await pool.aclose()
        server.stop()


async def test_an_outage_longer_than_the_retries_costs_turns_not_the_process(
    tmp_path: Path,
) -> None:
    """Every call of arq's gives up after its connection's retries; its loop polls again, for
    as long as Redis is away, and runs the job once it is back."""
    server = own_server(tmp_path, appendonly=True).start()  # the queued job outlives the stop
    pool = await create_pool(arq_redis_settings(server.url, retries=1))
    ran = asyncio.Event()

    async def job(ctx: dict[str, Any]) -> None:
        ran.set()

    worker = SluiceWorker(functions=[func(job, name="job")], redis_pool=pool, handle_signals=False)
    try:
        await pool.enqueue_job("job")
        server.stop()
        for _ in range(3):  # each turn's retries run out; none may end the loop
            await worker._poll_iteration()
        assert not ran.is_set()

        server.start()
        polling = asyncio.create_task(worker.main())
        await asyncio.wait_for(ran.wait(), 10)
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    finally:
        for task in worker.tasks.values():
            task.cancel()
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        await pool.aclose()
        server.stop()


async def test_a_stop_during_an_outage_still_runs_the_shutdown_hook(tmp_path: Path) -> None:
    server = own_server(tmp_path).start()
    pool = await create_pool(arq_redis_settings(server.url, retries=1))
    stopped: list[dict[str, Any]] = []

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        stopped.append(ctx)

    worker = SluiceWorker(
        functions=[noop], redis_pool=pool, handle_signals=False, on_shutdown=on_shutdown
    )
    try:
        server.stop()
        await worker.close()  # arq's delete of its health key fails first
        assert len(stopped) == 1
    finally:
        await pool.aclose()
        server.stop()

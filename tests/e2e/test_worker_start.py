"""A worker started while Redis refuses writes waits for it, then consumes: it does not exit."""

from pathlib import Path

from redis.asyncio import Redis

from infra.child_process import Process
from tests.e2e.processes import base_env, worker
from tests.redis_servers import fill, make_room, running

WAIT_SECONDS = 30.0


async def test_a_worker_started_on_a_full_redis_waits_then_consumes(tmp_path: Path) -> None:
    async with running(tmp_path) as server:
        redis = Redis.from_url(server.url)
        process: Process | None = None
        try:
            await fill(redis)
            env = base_env(server.url, SLUICE_WORKER_METRICS_PORT="0")
            process = Process("worker-full", worker(), env, tmp_path)
            process.wait_for("Redis unavailable", WAIT_SECONDS)  # waiting, not exited

            await make_room(redis)
            process.wait_for("consuming", WAIT_SECONDS)
        finally:
            stopped = process.stop() if process is not None else True
            await redis.aclose()
    assert stopped

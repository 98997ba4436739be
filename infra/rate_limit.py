"""Fixed-window counters in Redis, shared by every instance of a process."""

import time
from typing import Any

from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.group_read import GroupReader


def _window(window_seconds: int) -> tuple[int, float]:
    now = time.time()
    return int(now // window_seconds), now


def _retry_after(window: int, window_seconds: int, now: float) -> int:
    return max(1, int((window + 1) * window_seconds - now) + 1)


async def hit(
    redis: "Redis",
    scope: str,
    limit: int,
    window_seconds: int,
    reader: GroupReader | None = None,
) -> int | None:
    """Counts one hit; returns the seconds to wait when it went over `limit`, else None. With
    a `reader`, the count shares a pipeline with concurrent callers' lookups."""
    window, now = _window(window_seconds)
    key = keys.rate_limit(scope, window)

    def queue(pipe: Any) -> None:
        pipe.incr(key)
        pipe.expire(key, window_seconds + 1)

    if reader is not None:
        count, _ = await reader.read(queue)
    else:
        async with translated():
            async with redis.pipeline(transaction=False) as pipe:
                queue(pipe)
                count, _ = await pipe.execute()
    return None if count <= limit else _retry_after(window, window_seconds, now)


async def peek(redis: "Redis", scope: str, limit: int, window_seconds: int) -> int | None:
    """Like `hit` without counting: the seconds to wait if `limit` hits were already counted."""
    window, now = _window(window_seconds)
    async with translated():
        count = int(await redis.get(keys.rate_limit(scope, window)) or 0)
    return None if count < limit else _retry_after(window, window_seconds, now)

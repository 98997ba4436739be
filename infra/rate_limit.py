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


class Hit:
    """One hit on a counter, read beside other commands (an `Along`)."""

    size = 2  # commands queued

    def __init__(self, scope: str, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.window, self.now = _window(window_seconds)
        self.key = keys.rate_limit(scope, self.window)
        self.count: int | None = None

    def queue(self, pipe: Any) -> None:
        pipe.incr(self.key)
        pipe.expire(self.key, self.window_seconds + 1)

    def take(self, replies: list[Any]) -> None:
        self.count = int(replies[0])

    @property
    def retry_after(self) -> int | None:
        """The seconds to wait when the hit went over the limit, else None."""
        assert self.count is not None, "read the hit first"
        if self.count <= self.limit:
            return None
        return _retry_after(self.window, self.window_seconds, self.now)


async def hit(
    redis: "Redis",
    scope: str,
    limit: int,
    window_seconds: int,
    reader: GroupReader | None = None,
) -> int | None:
    """Counts one hit; returns the seconds to wait when it went over `limit`, else None. With
    a `reader`, the count shares a pipeline with concurrent callers' lookups."""
    counted = Hit(scope, limit, window_seconds)
    if reader is not None:
        counted.take(await reader.read(counted.queue))
    else:
        async with translated():
            async with redis.pipeline(transaction=False) as pipe:
                counted.queue(pipe)
                counted.take(await pipe.execute())
    return counted.retry_after


async def peek(redis: "Redis", scope: str, limit: int, window_seconds: int) -> int | None:
    """Like `hit` without counting: the seconds to wait if `limit` hits were already counted."""
    window, now = _window(window_seconds)
    async with translated():
        count = int(await redis.get(keys.rate_limit(scope, window)) or 0)
    return None if count < limit else _retry_after(window, window_seconds, now)

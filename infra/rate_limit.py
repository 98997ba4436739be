"""Fixed-window counters in Redis, shared by every instance of a process.

Two ways to count. `hit` and `Hit` count each hit in Redis before deciding on it: exact, and
a write on the caller's path (the login throttles, a few hits a minute). `SharedCounts` decides
on the count Redis holds plus this process's hits not written yet, and writes the hits behind
the requests, in batches: the per-IP limit in front of every public route, where a write per
request would cost every request, reads included, a disk flush under `appendfsync always`.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.group_read import GroupReader

log = logging.getLogger("sluice.api")

# How long hits wait to be written with the others, and how long a count read serves without
# another read. Across processes a count is short by at most twice this much of the other
# processes' hits (plus a round trip); within one it is exact.
WRITE_EVERY_SECONDS = 0.1
# Scopes whose hits may wait unwritten while Redis is away; beyond it they are dropped: a
# limit then counts short, never long.
MAX_UNWRITTEN_SCOPES = 100_000


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


class SharedCounts:
    """Hits of many scopes, counted in Redis in batches written behind the requests.

    A hit reads its window's count in the request's own round trip (a read: no fsync, shared
    with the request's session lookup) and is decided on that count plus the hits this process
    has not written yet, itself included. For `write_every` seconds after such a read, the
    scope's hits need none (`known_hit`): they are decided on the count decided last plus one,
    and a request whose caller is kept too (`infra.session_cache`) reads nothing at all.

    Every hit's increment joins the others': every `write_every` seconds at most, one pipeline
    of INCRBY and EXPIRE, which no request waits for. With `appendfsync always`, the gateway's
    counts then cost Redis one fsync per interval instead of one per request.
    """

    def __init__(
        self,
        redis: "Redis",
        *,
        write_every: float = WRITE_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._write_every = write_every
        self._clock = clock
        self._known: dict[str, tuple[int, float]] = {}  # key -> (count decided last, read at)
        self._unwritten: dict[str, tuple[int, int]] = {}  # key -> (hits, ttl seconds)
        self._in_flight: dict[str, tuple[int, int]] = {}  # sent, not yet answered
        self._failing = False
        self.writing: asyncio.Task[None] | None = None  # the writer while hits wait: for tests

    def hit(self, scope: str, limit: int, window_seconds: int) -> "SharedHit":
        return SharedHit(self, scope, limit, window_seconds)

    def known_hit(self, scope: str, limit: int, window_seconds: int) -> "SharedHit | None":
        """A hit decided without a read, on a count read less than `write_every` ago and this
        process's hits since; None when the count is to be read (`hit`)."""
        counted = SharedHit(self, scope, limit, window_seconds)
        known = self._known.get(counted.key)
        if known is None or self._clock() - known[1] >= self._write_every:
            return None
        counted.count = known[0] + 1
        self._known[counted.key] = (counted.count, known[1])
        self.count(counted.key, window_seconds + 1)
        return counted

    def learn(self, key: str, count: int) -> None:
        """The count a hit was decided on after a read: later hits may go without one."""
        if key not in self._known and len(self._known) >= MAX_UNWRITTEN_SCOPES:
            self._known.clear()  # many scopes at once: past windows' among them
        self._known[key] = (count, self._clock())

    def unwritten(self, key: str) -> int:
        """This process's hits on `key` that Redis may not count yet."""
        return self._unwritten.get(key, (0, 0))[0] + self._in_flight.get(key, (0, 0))[0]

    def count(self, key: str, ttl: int) -> None:
        self._add(key, 1, ttl)
        if self.writing is None or self.writing.done():
            self.writing = asyncio.create_task(self._write_behind(), name="sluice-rate-counts")

    def _add(self, key: str, hits: int, ttl: int) -> None:
        if key not in self._unwritten and len(self._unwritten) >= MAX_UNWRITTEN_SCOPES:
            return  # Redis has been away a while: these hits go uncounted
        waiting, _ = self._unwritten.get(key, (0, ttl))
        self._unwritten[key] = (waiting + hits, ttl)

    async def _write_behind(self) -> None:
        while self._unwritten:
            await asyncio.sleep(self._write_every)  # the interval's hits, written together
            await self.write()

    async def write(self) -> None:
        """Writes the hits waiting, in one pipeline. Should Redis not take them, they wait for
        the next write."""
        if not self._unwritten:
            return
        self._in_flight, self._unwritten = self._unwritten, {}
        try:
            async with translated():
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, (hits, ttl) in self._in_flight.items():
                        pipe.incrby(key, hits)
                        pipe.expire(key, ttl)
                    await pipe.execute()
        except Exception as error:
            for key, (hits, ttl) in self._in_flight.items():
                self._add(key, hits, ttl)
            if not self._failing:
                log.warning("rate limit counts not written, kept for the next write: %s", error)
            self._failing = True
        else:
            if self._failing:
                log.info("rate limit counts written again")
            self._failing = False
        finally:
            self._in_flight = {}

    async def close(self) -> None:
        """Writes what waits, once; a stopping process does not wait for Redis to come back."""
        if self.writing is not None:
            self.writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writing
        with contextlib.suppress(Exception):
            await self.write()


class SharedHit(Hit):
    """A hit of `SharedCounts`, read beside other commands (an `Along`): queues a read only."""

    size = 1

    def __init__(self, counts: SharedCounts, scope: str, limit: int, window_seconds: int) -> None:
        super().__init__(scope, limit, window_seconds)
        self._counts = counts

    def queue(self, pipe: Any) -> None:
        pipe.get(self.key)

    def take(self, replies: list[Any]) -> None:
        self.count = int(replies[0] or 0) + self._counts.unwritten(self.key) + 1
        self._counts.count(self.key, self.window_seconds + 1)
        self._counts.learn(self.key, self.count)

"""Group read: the lookups of concurrent requests share one pipeline, one round trip.

Every authenticated request reads its session and its user. One by one, each read pays
redis-py's whole per-pipeline cost (a pooled connection, packing, a reply loop); under load
most of a request's time went there. Here each caller queues its commands and awaits its own
replies, and one flusher sends what is queued as one pipeline, then the next: as with group
commit, no timer, a call waits at most for the flush in flight.
"""

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

from infra.errors import Unavailable, own_copy, translate, translated
from infra.group_commit import FLUSH_TIMEOUT_SECONDS

Queue = Callable[[Any], None]  # queues a caller's commands on a pipeline


class Along(Protocol):
    """Commands that ride in another lookup's read (e.g. a request's own check beside its
    session): `queue` puts them on the pipeline after the lookup's, `take` gets their replies."""

    def queue(self, pipe: Any) -> None: ...

    def take(self, replies: list[Any]) -> None: ...


@dataclass(frozen=True)
class _Waiter:
    queue: Queue
    future: "asyncio.Future[list[Any]]"


class GroupReader:
    def __init__(self, redis: "Redis", *, max_batch: int = 256) -> None:
        self._redis = redis
        self._max_batch = max_batch
        self._waiting: deque[_Waiter] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self.flushes = 0  # pipelines sent: for tests

    async def read(self, queue: Queue) -> list[Any]:
        """The replies to the commands `queue` puts on the pipeline, in order. A reply that is
        an error raises it (translated: an outage is `Unavailable`)."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiter(queue, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._drain(), name="sluice-group-read")
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch: list[_Waiter] = []
            while self._waiting and len(batch) < self._max_batch:
                waiter = self._waiting.popleft()
                if not waiter.future.done():  # its caller was cancelled before we sent it
                    batch.append(waiter)
            if batch:
                await self._flush(batch)

    async def _flush(self, batch: list[_Waiter]) -> None:
        """Resolves every waiter of the batch, whatever happens: none is left hanging."""
        try:
            replies, bounds = await self._send(batch)
        except asyncio.CancelledError:
            self._fail(batch, Unavailable("the process is stopping"))
            raise
        except Exception as error:
            self._fail(batch, error)
            return
        for waiter, (start, end) in zip(batch, bounds, strict=True):
            if waiter.future.done():
                continue
            own = replies[start:end]
            failed = next((r for r in own if isinstance(r, Exception)), None)
            if failed is None:
                waiter.future.set_result(own)
            else:
                waiter.future.set_exception(translate(failed))

    async def _send(self, batch: list[_Waiter]) -> tuple[list[Any], list[tuple[int, int]]]:
        self.flushes += 1
        bounds: list[tuple[int, int]] = []
        # Bounded as a whole, so that the client needs no timeout per reply.
        async with translated(), asyncio.timeout(FLUSH_TIMEOUT_SECONDS):
            async with self._redis.pipeline(transaction=False) as pipe:
                for waiter in batch:
                    start = len(pipe)
                    waiter.queue(pipe)
                    bounds.append((start, len(pipe)))
                replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies, bounds

    @staticmethod
    def _fail(batch: list[_Waiter], error: Exception) -> None:
        for waiter in batch:
            if not waiter.future.done():
                waiter.future.set_exception(own_copy(error))

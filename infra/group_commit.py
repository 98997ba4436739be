"""Group commit: concurrent command appends share one round trip, one fsync, and one script call
per partition."""

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from events.envelope import Envelope
from infra.command_log import SubmitCall, queue_submits, queue_taken_marks, submit_calls
from infra.errors import Unavailable, is_no_script, own_copy, translate, translated
from infra.scripts import SUBMIT
from infra.settings import Settings

FLUSH_TIMEOUT_SECONDS = 5.0  # a Redis that does not answer by then: the callers get 503


@dataclass(frozen=True)
class _Waiter:
    envelope: Envelope
    future: "asyncio.Future[bool]"
    client_named: bool  # its client chose its id: marked taken in the other partitions


class GroupCommitter:
    """Queues `submit` calls; one flusher sends all queued appends as one pipeline, then the next.

    No timer: a call waits for at most the flush in flight and its own (up to `max_batch`
    appends per flush). With `appendfsync always` Redis fsyncs once per batch of commands it
    reads together, so a batch costs about one fsync instead of one per command. A flush makes
    one SUBMIT call per partition, each appending (or finding known) every command of that
    partition on its own: a script call costs Redis several times what one append does. A
    command whose client chose its id has that id marked taken in every other partition, in
    the same round trip (`command_log.queue_taken_marks`).
    """

    def __init__(self, redis: "Redis", settings: Settings, *, max_batch: int = 512) -> None:
        self._redis = redis
        self._settings = settings
        self._max_batch = max_batch
        self._queue: deque[_Waiter] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self.flushes = 0  # pipelines sent, NOSCRIPT resends included: for tests and metrics

    async def submit(self, envelope: Envelope, *, client_named: bool = False) -> bool:
        """Like `command_log.submit`: True when appended, False when the id was known.
        `client_named`: the command's id was chosen by its client, not made new by Sluice.

        Returns only after Redis acknowledged the append; raises `Unavailable` if it could not.
        """
        if self._closed:
            raise Unavailable("the gateway is stopping")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiter(envelope, future, client_named))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._drain(), name="sluice-group-commit")
        # A cancelled caller cancels only its own future: the flusher skips or ignores it.
        return await future

    async def close(self) -> None:
        """Refuses new calls and waits until every queued one has its answer."""
        self._closed = True
        if self._flusher is not None:
            await self._flusher

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._take()
                if batch:
                    await self._flush(batch)
        except asyncio.CancelledError:
            # Only a loop shutting down cancels the flusher: answer whoever still waits.
            self._fail_all(list(self._queue), Unavailable("the gateway is stopping"))
            self._queue.clear()
            raise

    def _take(self) -> list[_Waiter]:
        batch: list[_Waiter] = []
        while self._queue and len(batch) < self._max_batch:
            waiter = self._queue.popleft()
            if not waiter.future.done():  # its caller was cancelled before we sent it
                batch.append(waiter)
        return batch

    async def _flush(self, batch: list[_Waiter]) -> None:
        """Resolves every waiter of the batch, whatever happens: none is left hanging."""
        try:
            results = await self._send(batch)
        except asyncio.CancelledError:
            self._fail_all(batch, Unavailable("the gateway is stopping"))
            raise
        except Exception as error:
            self._fail_all(batch, error)
            return
        for waiter, result in zip(batch, results, strict=True):
            if waiter.future.done():
                continue
            if isinstance(result, Exception):
                waiter.future.set_exception(translate(result))
            else:
                waiter.future.set_result(bool(result))

    async def _send(self, batch: list[_Waiter]) -> list[Any]:
        """Each waiter's answer (1 or 0) or the error of its partition's call; the calls
        Redis did not know the script of are sent once again."""
        # An id asked for twice in one flush is sent once, by its first caller, whatever
        # partition the second would go to: the second answer is the first's, as a repeat's.
        first: dict[str, int] = {}
        for i, waiter in enumerate(batch):
            first.setdefault(waiter.envelope.command_id, i)
        unique = [batch[i] for i in first.values()]
        calls = submit_calls(self._settings, [waiter.envelope for waiter in unique])
        marked = [waiter.envelope for waiter in unique if waiter.client_named]
        async with translated():
            replies = await self._pipeline(calls, marked)
            missing = [i for i, reply in enumerate(replies) if is_no_script(reply)]
            if missing:
                # A restarted Redis lost its script cache. Those calls ran nothing, so
                # resending them alone is safe; the others must not run twice (their answer
                # would turn to "already known").
                await SUBMIT.ensure_loaded(self._redis)
                again = await self._pipeline([calls[i] for i in missing], [])
                for i, reply in zip(missing, again, strict=True):
                    replies[i] = reply
        by_id: dict[str, Any] = {}
        for call, reply in zip(calls, replies, strict=True):
            # A call that failed fails each of its appends; one that ran answers each.
            own = [reply] * len(call.indexes) if isinstance(reply, Exception) else reply
            for i, answer in zip(call.indexes, own, strict=True):
                by_id[unique[i].envelope.command_id] = answer
        results: list[Any] = []
        for i, waiter in enumerate(batch):
            command_id = waiter.envelope.command_id
            answer = by_id[command_id]
            repeat = first[command_id] != i and not isinstance(answer, Exception)
            results.append(0 if repeat else answer)
        return results

    async def _pipeline(self, calls: list[SubmitCall], marked: list[Envelope]) -> list[Any]:
        """The calls' replies. The marks of `marked`'s ids follow them, their replies unread:
        a mark that failed only leaves a client's reuse of an id undetected, and one set beside
        an append that failed only keeps the id from another aggregate (a retry of the same
        command goes to the same partition, which holds no mark)."""
        self.flushes += 1
        # Not a transaction: MULTI would add nothing (each call is atomic on its own) and one
        # failing call must not take the others down with it. Bounded as a whole, so that the
        # client needs no timeout per reply (see `infra.redis.connect`).
        async with asyncio.timeout(FLUSH_TIMEOUT_SECONDS):
            async with self._redis.pipeline(transaction=False) as pipe:
                queue_submits(pipe, calls)
                for envelope in marked:
                    queue_taken_marks(pipe, self._settings, envelope)
                results: list[Any] = await pipe.execute(raise_on_error=False)
        return results[: len(calls)]

    @staticmethod
    def _fail_all(waiters: list[_Waiter], error: Exception) -> None:
        for waiter in waiters:
            if not waiter.future.done():
                waiter.future.set_exception(own_copy(error))

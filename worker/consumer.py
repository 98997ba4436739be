"""The stream loop every consumer group shares: read in batches, reclaim, hand over, repeat."""

import abc
import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from redis.backoff import ExponentialBackoff

from infra import logs, scripts
from infra.errors import is_no_group, is_unavailable
from infra.group_read import Along
from infra.streams import Entry, autoclaim, ensure_group, flatten_read
from worker.deps import Deps
from worker.owed_acks import Acks, OwedAcks, acks_of, queue_acks

log = logging.getLogger("sluice.worker")

# Beyond the blocking read itself: a batch of hundreds of commands settles in milliseconds.
ITERATION_TIMEOUT_SECONDS = 30.0
# Between failed iterations (Redis away): from 0.5 s, doubling up to 4 s, so that a long outage
# logs a line every few seconds per group rather than several a second, and a short one is over
# soon after it ends.
BACKOFF = ExponentialBackoff(cap=4.0, base=0.5)

Batch = list[tuple[int, Entry]]  # (partition, (entry id, fields))


@dataclass(frozen=True)
class Drained:
    """What `StreamConsumer.drain` read: entries, in how many batches."""

    entries: int
    batches: int


class StreamConsumer(abc.ABC):
    """Reads one stream per partition in a consumer group and hands each batch to `handle`.

    A subclass settles (acknowledges) what it handles; whatever it leaves pending is reclaimed
    by some consumer of the group once it has been idle for `claim_idle_ms`. A subclass may
    hold a batch back, settling it while it prepares the next one (`holding`, `flush`).
    """

    def __init__(self, deps: Deps, streams: dict[int, str], group: str) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.redis = deps.redis
        self.streams = streams  # partition -> its stream, for the partitions this one reads
        self._partition_of = {stream: partition for partition, stream in streams.items()}
        self.group = group
        self.stopping = asyncio.Event()
        self.owed = OwedAcks(deps.settings.ack_linger_ms / 1000)

    @abc.abstractmethod
    async def handle(self, batch: Batch) -> None: ...

    async def handle_reclaimed(self, batch: Batch) -> None:
        """Entries taken over from another consumer; by default handled like any others."""
        await self.handle(batch)

    @property
    def holding(self) -> bool:
        """Whether a batch handed over is not settled yet (see `flush`)."""
        return False

    async def flush(self) -> None:
        """Settles whatever batch `handle` held back; by default there is none."""
        return

    def along_read(self) -> Along | None:
        """Commands to run right after each read, in its round trip; by default none."""
        return None

    async def prepare(self) -> None:
        for stream in self.streams.values():
            await ensure_group(self.redis, stream, self.group)
        await scripts.load_all(self.redis)

    def stop(self) -> None:
        self.stopping.set()

    async def acknowledge(self, batch: Batch) -> None:
        """Acknowledges every entry of the batch, one XACK per partition, in one round trip."""
        await self._send_acks(acks_of(batch))

    def acknowledge_with_next_read(self, batch: Batch) -> None:
        """Owes the batch's acknowledgements to a later read's round trip, within the linger
        (`worker.owed_acks`); whatever returns from the loop has paid them (`settle_owed`)."""
        self.owed.owe(acks_of(batch))

    async def settle_owed(self) -> None:
        """Sends the acknowledgements owed now, when no read comes next."""
        if self.owed:
            await self._send_acks(self.owed.take())

    async def _send_acks(self, acks: Acks) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            queue_acks(pipe, self.streams, self.group, acks)
            await pipe.execute()

    async def run(self) -> None:
        """Consumes until `stop()`; the batch in hand is always finished first.

        Every record logged while consuming carries the group and consumer name: set once for
        this task, not per batch or per command (the hot path logs nothing when all is well).
        """
        with logs.context(group=self.group, consumer=self.deps.consumer):
            await self._consume()

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        prepared = settled_own = False
        failures = 0
        while not self.stopping.is_set():
            try:
                # Under the same guard as every read: a Redis away at start is waited for.
                if not prepared:
                    await self.prepare()
                    prepared = True
                if not settled_own:
                    await self._settle_own_pending()
                    settled_own = True
                if loop.time() >= next_sweep:
                    async with asyncio.timeout(self.iteration_timeout):
                        await self.reclaim()
                    next_sweep = loop.time() + self.settings.claim_idle_ms / 2000
                async with asyncio.timeout(self.iteration_timeout):
                    await self._read_next(block=True)
                failures = 0
            except Exception as error:
                if is_no_group(error):
                    log.warning("%s: consumer group missing; creating it again", self.group)
                    prepared = False
                    continue
                if is_unavailable(error):  # an outage, not a bug: one line, no traceback
                    reason = f"{type(error).__name__}: {error}" if str(error) else repr(error)
                    log.warning("%s: Redis unavailable (%s); retrying", self.group, reason)
                else:
                    log.exception("%s: consumer iteration failed; retrying", self.group)
                with contextlib.suppress(TimeoutError):  # a stop cuts the wait short
                    await asyncio.wait_for(self.stopping.wait(), BACKOFF.compute(failures))
                failures += 1
        try:  # stopped: the batch held back is settled too (a cancellation leaves it pending)
            async with asyncio.timeout(self.iteration_timeout):
                await self.flush()
                await self.settle_owed()
        except Exception:
            log.exception("%s: could not settle the batch in hand; left pending", self.group)

    @property
    def iteration_timeout(self) -> float:
        """How long one read and its batch may take before the loop gives up on them.

        The worker's client has no per-reply timeout (on a hot pipeline it costs more CPU than
        the replies' parsing): a Redis that stops answering is noticed here instead, the batch
        left pending for a retry or another worker.
        """
        return self.settings.read_block_ms / 1000 + ITERATION_TIMEOUT_SECONDS

    async def _settle_own_pending(self) -> None:
        """Entries delivered to this consumer name before a restart come first, once each:
        all settled on return."""
        after = dict.fromkeys(self.streams.values(), "0")
        while not self.stopping.is_set():
            async with asyncio.timeout(self.iteration_timeout):
                batch = await self._read(after, block=False)
                if not batch:
                    break
                for partition, (entry_id, _) in batch:
                    after[self.streams[partition]] = entry_id
                await self.handle(batch)
        async with asyncio.timeout(self.iteration_timeout):
            await self.flush()
            await self.settle_owed()

    async def drain(self) -> Drained:
        """Reads and settles new entries until a read finds none, without blocking; the batches
        go through `handle` as in `run`, one held back while the next is prepared."""
        entries = batches = 0
        while read := await self._read_next(block=False):
            entries += read
            batches += 1
        await self.settle_owed()
        return Drained(entries, batches)

    async def _read_next(self, *, block: bool) -> int:
        """One turn of the loop: new entries handed over, or, when there are none, the batch
        held back settled. The read never blocks while a batch is held back: it would wait
        for as long as the stream stays quiet."""
        start = dict.fromkeys(self.streams.values(), ">")
        batch = await self._read(start, block=block and not self.holding)
        if batch:
            await self.handle(batch)
            if self._drained(batch):
                # Nothing was waiting behind it: settled now, not after one more read. Under
                # light load each batch is answered a round trip sooner; full batches overlap.
                await self.flush()
        else:
            await self.flush()
        return len(batch)

    def _drained(self, batch: Batch) -> bool:
        """Whether the read left every stream empty (it took less than it could from each)."""
        taken = Counter(partition for partition, _ in batch)
        return max(taken.values()) < self.settings.read_count

    async def _read_once(self, start: str, *, block: bool = True) -> int:
        """One batch read, handled and settled: nothing is held back on return."""
        batch = await self._read(dict.fromkeys(self.streams.values(), start), block=block)
        if batch:
            await self.handle(batch)
        await self.flush()
        await self.settle_owed()
        return len(batch)

    async def _read(self, start: dict[Any, Any], *, block: bool) -> Batch:
        """One XREADGROUP; the acknowledgements owed go ahead of it (unless a blocking read
        may still go without them: then it blocks no longer than they may wait),
        `along_read` after it."""
        block_ms = self.settings.read_block_ms if block else None
        lingering = self.owed.wait_ms() if block_ms is not None else 0
        if lingering:
            block_ms = min(self.settings.read_block_ms, lingering)
        with_acks = bool(self.owed) and not lingering
        along = self.along_read()
        if not with_acks and along is None:
            reply = await self.redis.xreadgroup(
                self.group,
                self.deps.consumer,
                start,
                count=self.settings.read_count,
                block=block_ms,
            )
        else:
            reply = await self._read_in_pipeline(start, block_ms, along, with_acks=with_acks)
        return [
            (self._partition_of[stream], entry)
            for stream, entries in flatten_read(reply)
            for entry in entries
        ]

    async def _read_in_pipeline(
        self, start: dict[Any, Any], block_ms: int | None, along: Along | None, *, with_acks: bool
    ) -> Any:
        owed = self.owed.take() if with_acks else {}
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                acks = queue_acks(pipe, self.streams, self.group, owed)
                pipe.xreadgroup(
                    self.group,
                    self.deps.consumer,
                    start,
                    count=self.settings.read_count,
                    block=block_ms,
                )
                if along is not None:
                    along.queue(pipe)
                replies: list[Any] = await pipe.execute(raise_on_error=False)
        except BaseException:
            self.owed.owe(owed)  # maybe not sent: again with the next read (XACK is idempotent)
            raise
        failed = [reply for reply in replies[:acks] if isinstance(reply, Exception)]
        if failed:  # their entries stay pending, and are delivered again
            log.warning("%s: %d acknowledgements failed: %s", self.group, len(failed), failed[0])
        reply = replies[acks]
        if isinstance(reply, Exception):
            raise reply
        if along is not None:
            along.take(replies[acks + 1 :])
        return reply

    async def reclaim(self) -> int:
        """Takes over what dead consumers left pending longer than the idle time."""
        claimed: Batch = []
        for partition, stream in self.streams.items():
            entries = await autoclaim(
                self.redis,
                stream,
                self.group,
                self.deps.consumer,
                self.settings.claim_idle_ms,
                self.settings.read_count,
            )
            claimed.extend((partition, entry) for entry in entries)
        if claimed:
            # Also run by arq's cron, outside `run()`: the context is set here as well.
            with logs.context(group=self.group, consumer=self.deps.consumer):
                log.info("%s: reclaimed %d pending entries", self.group, len(claimed))
                await self.handle_reclaimed(claimed)
        return len(claimed)

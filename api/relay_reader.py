"""The relay's one Redis reader: tails every partition's results and events, and revocations.

Plain XREAD, no consumer group: every relay instance sees every entry. It starts where the
streams end at start-up and never crashes: Redis outages are retried with backoff.
"""

import asyncio
import logging
from enum import Enum
from typing import Any

from redis.asyncio import Redis
from redis.backoff import EqualJitterBackoff

from api.relay_entries import (
    Fields,
    decode_event_entry,
    decode_result_entry,
    revoked_token_hash,
)
from api.relay_hub import Hub
from api.relay_positions import ZERO, format_id, parse_id
from infra import keys
from infra.errors import Unavailable, translated
from infra.redis import connect
from infra.settings import Settings
from infra.streams import flatten_read

log = logging.getLogger("sluice.relay")

# Between failed reads: from 0.1 s, doubling up to 5 s, each wait drawn from its upper half.
RETRY = EqualJitterBackoff(cap=5.0, base=0.1)


class Kind(Enum):
    # Declaration order is processing order within a batch: a logout takes effect before any
    # frame read alongside it is routed.
    REVOCATIONS = 0
    RESULTS = 1
    EVENTS = 2


class Reader:
    """Owns its Redis client (a blocking read needs a longer socket timeout) and its task."""

    def __init__(self, settings: Settings, hub: Hub) -> None:
        self._hub = hub
        self._count = settings.read_count
        # Entries routed between two chances for the writers to drain: at most this many frames
        # join a queue in between, so only a client that reads nothing fills its queue. Waking
        # every writer for every entry cost more than the frames' own writes.
        self._drain_every = max(1, settings.ws_send_queue // 8)
        self._block_ms = settings.read_block_ms
        self._redis: Redis = connect(settings, socket_timeout=settings.read_block_ms / 1000 + 5)
        self._streams: dict[str, tuple[Kind, int]] = {keys.revocations(): (Kind.REVOCATIONS, 0)}
        for p in range(settings.partitions):
            self._streams[keys.results(p)] = (Kind.RESULTS, p)
            self._streams[keys.events(p)] = (Kind.EVENTS, p)
        self._last_ids: dict[str, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Learns where the streams end before the app serves, so a client that connects
        right after start-up misses nothing; if Redis is down, the task keeps trying."""
        try:
            await self._find_ends()
        except Unavailable as error:
            log.warning("relay: Redis unavailable at start-up (%s); will retry", error)
        self._task = asyncio.create_task(self._run(), name="relay-reader")

    async def stop(self) -> None:
        # redis-py sometimes swallows a cancellation that lands mid-command (the call simply
        # returns), so the loop also checks this flag: it then ends within one BLOCK period.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._redis.aclose()

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            delay = RETRY.compute(failures)
            try:
                if self._last_ids is None:
                    await self._find_ends()
                await self._read_once()
                failures = 0
            except Unavailable as error:
                log.warning("relay: Redis unavailable (%s); retrying in %.1fs", error, delay)
            except Exception:
                log.exception("relay reader failed; retrying in %.1fs", delay)
            else:
                continue
            await asyncio.sleep(delay)
            failures += 1

    async def _find_ends(self) -> None:
        async with translated():
            async with self._redis.pipeline(transaction=False) as pipe:
                for stream in self._streams:
                    pipe.xrevrange(stream, count=1)
                replies: list[Any] = await pipe.execute()
        last_ids: dict[str, str] = {}
        cursor = [ZERO] * self._hub.partitions
        for (stream, (kind, p)), reply in zip(self._streams.items(), replies, strict=True):
            last = parse_id(reply[0][0]) if reply else ZERO
            last_ids[stream] = format_id(last)
            if kind is Kind.EVENTS:
                cursor[p] = last
        self._hub.start_at(tuple(cursor))
        self._last_ids = last_ids

    async def _read_once(self) -> None:
        assert self._last_ids is not None
        async with translated():
            streams: dict[Any, Any] = dict(self._last_ids)  # redis-py's key type is invariant
            reply = await self._redis.xread(streams, count=self._count, block=self._block_ms)
        batch = sorted(flatten_read(reply), key=lambda item: self._streams[item[0]][0].value)
        routed = 0
        for stream, entries in batch:
            kind, partition = self._streams[stream]
            for entry_id, fields in entries:
                self._last_ids[stream] = entry_id
                self._route(kind, partition, entry_id, fields or {})
                routed += 1
                if routed % self._drain_every == 0:
                    # Let the writers drain, so a burst is not mistaken for a slow client
                    # filling its queue: each woken writer sends all it holds in one go.
                    await asyncio.sleep(0)

    def _route(self, kind: Kind, partition: int, entry_id: str, fields: Fields) -> None:
        if kind is Kind.REVOCATIONS:
            token_hash = revoked_token_hash(fields)
            if token_hash is not None:
                self._hub.revoke(token_hash)
        elif kind is Kind.RESULTS:
            outcome = decode_result_entry(fields)
            if outcome is not None:
                self._hub.deliver_result(outcome)
        else:
            stream_id = parse_id(entry_id)
            item = decode_event_entry(partition, stream_id, fields)
            if item is None:
                self._hub.advance(partition, stream_id)
            else:
                self._hub.publish(item)

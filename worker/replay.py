"""Replaying the partition logs into one projection's copy, from a position up to the tails.

The logs are never trimmed, so a copy replayed from the start holds every event. Writes are
guarded by version or are facts keyed by their source (`worker.projectors`), so an entry the
copy has seen already, or one the live projector applies at the same time, changes nothing.
"""

import logging
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from events.codec import decode_event, record_decoder
from infra import keys
from infra.settings import Settings
from infra.streams import parse_id
from worker.projectors import Projection

log = logging.getLogger("sluice.worker.replay")

CHUNK = 1000
START = "0-0"


class Progress(Protocol):
    """Told how far a replay got: `start` with the expected count, then each chunk applied."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...


class Silent:
    def start(self, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


async def total_events(redis: "Redis", settings: Settings) -> int:
    """How many entries the partition logs hold: what a replay from the start reads."""
    async with redis.pipeline(transaction=False) as pipe:
        for partition in range(settings.partitions):
            pipe.xlen(keys.events(partition))
        lengths: list[int] = await pipe.execute()
    return sum(lengths)


async def tails(redis: "Redis", settings: Settings) -> dict[int, str]:
    """The id of the newest entry of each partition log (0-0 for an empty one)."""
    async with redis.pipeline(transaction=False) as pipe:
        for partition in range(settings.partitions):
            pipe.xrevrange(keys.events(partition), count=1)
        newest = await pipe.execute()
    return {
        partition: entries[0][0].decode() if entries else START
        for partition, entries in enumerate(newest)
    }


@dataclass
class Replay:
    """One projection's copy under `root`, and how far along each partition log it is."""

    redis: "Redis"
    settings: Settings
    projection: Projection
    root: str
    progress: Progress = field(default_factory=Silent)
    chunk: int = CHUNK
    lock: str | None = None  # a lock key whose lease each chunk renews
    lock_seconds: int = 60
    positions: dict[int, str] = field(default_factory=dict)
    applied: int = 0
    undecodable: int = 0

    async def catch_up(self) -> int:
        """Applies every entry past the positions up to the tails as they are now; returns how
        many. Entries appended meanwhile wait for the next call (the load never outruns it)."""
        before = self.applied
        until = await tails(self.redis, self.settings)
        for partition, tail in until.items():
            while parse_id(self.positions.get(partition, START)) < parse_id(tail):
                after = self.positions.get(partition, START)
                entries = await self.redis.xrange(
                    keys.events(partition), min=f"({after}", max=tail, count=self.chunk
                )
                if not entries:
                    break
                await self._apply(partition, entries)
                self.positions[partition] = entries[-1][0].decode()
        return self.applied - before

    async def _apply(self, partition: int, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            with keys.read_models_in(self.root):
                for entry_id, fields in entries:
                    try:
                        record = record_decoder.decode(fields[b"e"])
                        event = decode_event(record)
                    except Exception as error:
                        self.undecodable += 1
                        log.warning(
                            "skipping unreadable event %s on partition %d: %s",
                            entry_id.decode(),
                            partition,
                            error,
                        )
                        continue
                    self.projection.apply(pipe, record, event)
            if self.lock is not None:
                pipe.expire(self.lock, self.lock_seconds)
            await pipe.execute()
        self.applied += len(entries)
        self.progress.advance(len(entries))


class Lease:
    """A lock key held for the length of a rebuild or a check, renewed by each chunk."""

    def __init__(self, redis: "Redis", key: str, seconds: int = 60) -> None:
        self.redis = redis
        self.key = key
        self.seconds = seconds
        self.token = uuid.uuid4().hex

    async def take(self) -> bool:
        taken = await self.redis.set(self.key, self.token, nx=True, ex=self.seconds)
        return bool(taken)

    async def release(self) -> None:
        # Only our own: past its lease another run may hold it. GET then DEL can race with such
        # a run only if this one stalled longer than the lease, which the renewals rule out.
        held = await self.redis.get(self.key)
        if held is not None and held.decode() == self.token:
            await self.redis.delete(self.key)

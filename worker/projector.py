"""The projector: applies the partition logs to the read models, idempotently.

Its position is the `projector` group's acknowledged id on each partition log. Every field is
written only by a newer aggregate version than the one that last wrote it, or is a fact keyed
by its source event (`infra/views.py`), so applying an event twice, late, or out of order (two
workers share a partition log) changes nothing.

At start it compares each projection's code version with the one that built the live copy
(`sluice projections list`) and warns of those needing `sluice projections rebuild`.
"""

import asyncio
import logging
from typing import Any

from events.codec import decode_event, record_decoder
from infra import keys, projections, scripts
from infra.errors import is_no_script
from infra.group_read import Along
from infra.streams import Entry
from worker.consumer import Batch, StreamConsumer
from worker.deps import Deps
from worker.projectors import PROJECTIONS, project
from worker.replay import total_events

log = logging.getLogger("sluice.worker.projector")

FENCE_POLL_SECONDS = 0.005


class Projector(StreamConsumer):
    def __init__(self, deps: Deps) -> None:
        partitions = range(deps.settings.partitions)
        super().__init__(deps, {p: keys.events(p) for p in partitions}, keys.PROJECTOR_GROUP)
        self.fence = FenceSeen()

    async def prepare(self) -> None:
        await super().prepare()
        await self.check_versions()

    async def check_versions(self) -> list[str]:
        """Warns of each projection whose live copy another code version built; returns them.

        On an empty store the copies this projector is about to build are recorded as its own.
        """
        found = await projections.recorded(self.redis)
        fresh = await total_events(self.redis, self.settings) == 0
        stale: list[str] = []
        for projection in PROJECTIONS:
            live = found.get(projection.name)
            if live is None and fresh:
                await projections.record_if_unknown(self.redis, projection.name, projection.version)
            elif live is None or live.version != projection.version:
                stale.append(projection.name)
                log.warning(
                    "projection %s: the live read models were built by version %s, this code "
                    "writes version %d; run `sluice projections rebuild %s`",
                    projection.name,
                    "(unrecorded)" if live is None else live.version,
                    projection.version,
                    projection.name,
                )
        return stale

    async def handle(self, batch: Batch) -> None:
        """A batch the loop read: the fence was looked at in the read's round trip, and the
        acknowledgement goes with the next read's."""
        await self._write_when_unfenced(batch, fence_seen_down=self.fence.seen_down())
        self.acknowledge_with_next_read(batch)

    async def handle_reclaimed(self, batch: Batch) -> None:
        await self.apply(batch)  # taken over beside the loop (arq's cron): no read of its own

    def along_read(self) -> Along:
        return self.fence

    async def apply(self, batch: list[tuple[int, Entry]]) -> None:
        """Writes the batch's read models, then acknowledges it: never the other way round."""
        await self._write_when_unfenced(batch, fence_seen_down=False)
        await self.acknowledge(batch)

    async def _write_when_unfenced(
        self, batch: list[tuple[int, Entry]], *, fence_seen_down: bool
    ) -> None:
        if not fence_seen_down:
            await self._hold_while_fenced()
        try:
            await self._write(batch)
        except Exception as error:
            if not is_no_script(error):
                raise  # left pending, reclaimed after the idle time
            await scripts.load_all(self.redis)  # the server restarted and forgot them
            await self._write(batch)

    async def _hold_while_fenced(self) -> None:
        """A rebuild switching its copy in asks for a moment without live writes, so that the
        copy it renames onto the live names is not older than them (`worker.rebuild`). Its
        fence expires by itself within seconds: a rebuild that died holds nothing for long."""
        # Another process's key: polled, there is nothing in this one to await.
        while await self.redis.exists(keys.projection_fence()):  # noqa: ASYNC110
            await asyncio.sleep(FENCE_POLL_SECONDS)

    async def _write(self, batch: list[tuple[int, Entry]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition, (entry_id, fields) in batch:
                if fields is None:
                    continue
                try:
                    record = record_decoder.decode(fields[b"e"])
                    event = decode_event(record)
                except Exception:
                    log.exception(
                        "skipping unreadable event %s on partition %d", entry_id, partition
                    )
                    continue
                project(pipe, record, event)
            await pipe.execute()


class FenceSeen:
    """Whether the rebuild fence was down, looked at right after each read, in the read's round
    trip: as fresh as a look of its own would be when the batch arrives, and one round trip
    fewer per batch. The switch does not rely on it: it WATCHes every key it touches."""

    def __init__(self) -> None:
        self._down = False

    def queue(self, pipe: Any) -> None:
        self._down = False
        pipe.exists(keys.projection_fence())

    def take(self, replies: list[Any]) -> None:
        self._down = replies[0] == 0

    def seen_down(self) -> bool:
        """Whether the last read saw the fence down; once: a later batch looks again."""
        down, self._down = self._down, False
        return down

"""The projector: applies the partition logs to the read models, idempotently.

Its position is the `projector` group's acknowledged id on each partition log; every write is
guarded by the aggregate version it reflects, so applying an event twice, or late, changes nothing.
"""

import asyncio
import logging
from typing import Any

from events.codec import decode_event, record_decoder
from events.events import Event, UserPasswordSet, UserRegistered
from infra import keys, read_models, scripts
from infra.errors import is_no_group, is_no_script
from infra.streams import Entry, autoclaim, ensure_group, flatten_read
from worker.deps import Deps

log = logging.getLogger("sluice.worker.projector")


def project(pipe: Any, event: Event, version: int) -> None:
    """Queues the read-model writes of one event."""
    match event:
        case UserRegistered():
            view = read_models.UserView(
                user_id=event.user_id,
                email=event.email,
                display_name=event.display_name,
                roles=event.roles,
            )
            read_models.queue_user(pipe, view, version)
        case UserPasswordSet():
            read_models.queue_credentials(pipe, event.user_id, event.password_hash, version)
        case _:
            pass


class Projector:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.redis = deps.redis
        self.streams = [keys.events(p) for p in range(self.settings.partitions)]
        self.stopping = asyncio.Event()

    async def prepare(self) -> None:
        for stream in self.streams:
            await ensure_group(self.redis, stream, keys.PROJECTOR_GROUP)
        await scripts.load_all(self.redis)

    async def run(self) -> None:
        await self.prepare()
        await self._read_once("0", block=False)
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while not self.stopping.is_set():
            try:
                if loop.time() >= next_sweep:
                    await self.reclaim()
                    next_sweep = loop.time() + self.settings.claim_idle_ms / 2000
                await self._read_once(">")
            except Exception as error:
                if is_no_group(error):
                    log.warning("consumer group missing; creating it again")
                    await self.prepare()
                    continue
                log.exception("projector iteration failed; retrying")
                await asyncio.sleep(0.5)  # back off from a failing Redis

    def stop(self) -> None:
        self.stopping.set()

    async def _read_once(self, start: str, *, block: bool = True) -> int:
        reply = await self.redis.xreadgroup(
            keys.PROJECTOR_GROUP,
            self.deps.consumer,
            dict.fromkeys(self.streams, start),
            count=self.settings.read_count,
            block=self.settings.read_block_ms if block else None,
        )
        batch = [
            (self.streams.index(stream), entry)
            for stream, entries in flatten_read(reply)
            for entry in entries
        ]
        if batch:
            await self.apply(batch)
        return len(batch)

    async def reclaim(self) -> None:
        for partition, stream in enumerate(self.streams):
            entries = await autoclaim(
                self.redis,
                stream,
                keys.PROJECTOR_GROUP,
                self.deps.consumer,
                self.settings.claim_idle_ms,
                self.settings.read_count,
            )
            if entries:
                await self.apply([(partition, entry) for entry in entries])

    async def apply(self, batch: list[tuple[int, Entry]]) -> None:
        """Writes the batch's read models, then acknowledges it: never the other way round."""
        try:
            await self._write(batch)
        except Exception as error:
            if not is_no_script(error):
                raise  # left pending, reclaimed after the idle time
            await scripts.load_all(self.redis)  # the server restarted and forgot them
            await self._write(batch)
        acks: dict[int, list[str]] = {}
        for partition, (entry_id, _) in batch:
            acks.setdefault(partition, []).append(entry_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition, ids in acks.items():
                pipe.xack(self.streams[partition], keys.PROJECTOR_GROUP, *ids)
            await pipe.execute()

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
                project(pipe, event, record.aggregate_version)
            await pipe.execute()

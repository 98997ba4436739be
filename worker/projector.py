"""The projector: applies the partition logs to the read models, idempotently.

Its position is the `projector` group's acknowledged id on each partition log; every write is
guarded by the aggregate version it reflects, so applying an event twice, or late, changes nothing.
"""

import logging
from typing import Any

from events.codec import decode_event, record_decoder
from events.events import DisplayNameChanged, Event, UserPasswordSet, UserRegistered
from infra import keys, read_models, scripts
from infra.errors import is_no_script
from infra.streams import Entry
from worker.consumer import Batch, StreamConsumer
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
        case DisplayNameChanged():
            read_models.queue_display_name(pipe, event.user_id, event.display_name, version)
        case UserPasswordSet():
            read_models.queue_credentials(pipe, event.user_id, event.password_hash, version)
        case _:
            pass


class Projector(StreamConsumer):
    def __init__(self, deps: Deps) -> None:
        partitions = range(deps.settings.partitions)
        super().__init__(deps, [keys.events(p) for p in partitions], keys.PROJECTOR_GROUP)

    async def handle(self, batch: Batch) -> None:
        await self.apply(batch)

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

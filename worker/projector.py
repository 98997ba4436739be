"""The projector: applies the partition logs to the read models, idempotently.

Its position is the `projector` group's acknowledged id on each partition log. Every field is
written only by a newer aggregate version than the one that last wrote it, or is a fact keyed
by its source event (`infra/views.py`), so applying an event twice, late, or out of order (two
workers share a partition log) changes nothing.
"""

import logging

from events.codec import decode_event, record_decoder
from infra import keys, scripts
from infra.errors import is_no_script
from infra.streams import Entry
from worker.consumer import Batch, StreamConsumer
from worker.deps import Deps
from worker.projectors import project

log = logging.getLogger("sluice.worker.projector")


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
        await self.acknowledge(batch)

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

"""Another writer at work: an event appended to an aggregate's history behind a worker's back."""

import msgspec

from events.codec import encoder, event_name
from events.envelope import EventRecord
from events.events import Event
from infra import keys
from worker.aggregates import Key, Loaded
from worker.commands import CommandConsumer
from worker.deps import Deps
from worker.triage import Work

SOMEONE_ELSE = "someone-elses-command"


def intruding(event: Event, aggregate_id: str, version: int) -> EventRecord:
    """The record another worker's command would have appended at `version`."""
    return EventRecord(
        event=event_name(event),
        version=type(event).version,
        data=msgspec.Raw(encoder.encode(event)),
        aggregate_id=aggregate_id,
        aggregate_version=version,
        command_id=SOMEONE_ELSE,
        correlation_id=SOMEONE_ELSE,
        causation_id=None,
        actor=None,
        occurred_at=1,
    )


async def intrude(consumer: CommandConsumer, record: EventRecord) -> None:
    partition = keys.partition_of_aggregate(record.aggregate_id, consumer.settings.partitions)
    await consumer.redis.rpush(keys.history(partition, record.aggregate_id), encoder.encode(record))


class InterferingConsumer(CommandConsumer):
    """Another writer appends to the aggregate after the first load, before the commit."""

    def __init__(self, deps: Deps, intruder: EventRecord) -> None:
        super().__init__(deps)
        self.intruder = intruder
        self.loads = 0

    async def _load(
        self, work: list[Work], on_top_of: dict[Key, Loaded] | None = None
    ) -> dict[Key, Loaded]:
        loaded = await super()._load(work, on_top_of)
        self.loads += 1
        if self.loads == 1:
            await intrude(self, self.intruder)
        return loaded

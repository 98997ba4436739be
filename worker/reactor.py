"""The reactor: turns events into follow-up commands (the order saga, role hand-offs).

Its own consumer group (`reactor`) reads every partition log; `domain.reactions.react` decides
what each event calls for. A batch's follow-ups are appended in one pipeline (delayed ones
scheduled as arq jobs) and only then are its entries acknowledged. A crash in between
redelivers the entries; the same events give the same command ids, which the command log
appends once: no double effects.
"""

import logging

from domain.follow_ups import FollowUp
from domain.reactions import react
from events.codec import decode_event, record_decoder
from events.envelope import Envelope, EventRecord
from infra import keys, scripts
from infra.command_log import envelope_for, queue_submits, submit_calls
from infra.errors import is_no_script
from infra.settings import Settings
from worker import delayed
from worker.consumer import Batch, StreamConsumer
from worker.deps import Deps

log = logging.getLogger("sluice.worker.reactor")


def envelope_of(settings: Settings, follow_up: FollowUp) -> Envelope:
    """The follow-up as the system's command, in the story (correlation) of its cause."""
    return envelope_for(
        settings=settings,
        command=follow_up.command,
        aggregate_id=follow_up.aggregate_id,
        command_id=follow_up.command_id,
        causation_id=follow_up.causation_id,
        correlation_id=follow_up.correlation_id,
        actor=None,
        actor_roles=tuple(sorted(follow_up.roles)),
    )


class Reactor(StreamConsumer):
    def __init__(self, deps: Deps) -> None:
        if deps.arq is None:
            raise ValueError("the reactor schedules order timeouts with arq: Deps.arq is required")
        partitions = range(deps.settings.partitions)
        super().__init__(deps, {p: keys.events(p) for p in partitions}, keys.REACTOR_GROUP)
        self.arq = deps.arq

    async def handle(self, batch: Batch) -> None:
        now: list[Envelope] = []
        later: list[tuple[Envelope, int]] = []
        for record, follow_up in self._follow_ups(batch):
            envelope = envelope_of(self.settings, follow_up)
            if follow_up.delay_ms > 0:
                later.append((envelope, record.occurred_at + follow_up.delay_ms))
            else:
                now.append(envelope)
        await self._submit(now)
        await delayed.schedule(self.arq, later)
        self.acknowledge_with_next_read(batch)  # after the follow-ups, never before

    async def handle_reclaimed(self, batch: Batch) -> None:
        await self.handle(batch)
        await self.settle_owed()  # taken over beside the loop (arq's cron): no read of its own

    def _follow_ups(self, batch: Batch) -> list[tuple[EventRecord, FollowUp]]:
        found: list[tuple[EventRecord, FollowUp]] = []
        timeout = self.settings.order_confirmation_timeout_ms
        for partition, (entry_id, fields) in batch:
            if fields is None:
                continue  # deleted while pending: nothing to react to
            try:
                record = record_decoder.decode(fields[b"e"])
                event = decode_event(record)
            except Exception:
                log.exception("skipping unreadable event %s on partition %d", entry_id, partition)
                continue
            found += [(record, f) for f in react(record, event, confirmation_timeout_ms=timeout)]
        return found

    async def _submit(self, envelopes: list[Envelope]) -> None:
        if not envelopes:
            return
        try:
            await self._pipeline(envelopes)
        except Exception as error:
            if not is_no_script(error):
                raise  # left pending, redelivered: the appends that got through dedup then
            await scripts.load_all(self.redis)  # the server restarted and forgot them
            await self._pipeline(envelopes)

    async def _pipeline(self, envelopes: list[Envelope]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            queue_submits(pipe, submit_calls(self.settings, envelopes))
            await pipe.execute()

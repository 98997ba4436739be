"""The command consumer: read a batch, decide, commit each command atomically.

One XREADGROUP takes up to `read_count` entries from every partition (`worker.triage` turns
them into work, or settles the ones that cannot be). The batch's aggregates and claims load in
one pipeline (`worker.aggregates`: kept states need no load; the others come with their
snapshot, if any, and the history after it, one script call per partition); decisions are pure
and run in memory; the commits go out as one script call per partition, each command in it all
or nothing; then the aggregates due a snapshot (`snapshot_every`) are snapshotted. Version
conflicts and lost claim races reload and decide again; a handler that fails is retried with
backoff (`worker.retries`), then dead-lettered.
"""

import logging
from time import perf_counter
from typing import Any

import msgspec

from domain.aggregate import Context
from domain.errors import DomainError, TransientError
from events.codec import encoder, event_name
from events.envelope import AttemptError, Envelope, ErrorInfo, EventRecord, PublicEvent, Result
from infra import keys, scripts
from infra.command_log import now_ms
from infra.errors import is_no_script
from infra.event_store import (
    Commit,
    parse_outcome,
    queue_commits,
)
from infra.metrics import command_meters
from infra.partition_calls import per_item
from infra.streams import Entry
from worker import faults, triage
from worker.aggregates import AggregateLoader, Key, Loaded
from worker.consumer import Batch, StreamConsumer
from worker.deps import Deps
from worker.retries import Retrier, attempt_error
from worker.triage import Work

log = logging.getLogger("sluice.worker.commands")


class CommandConsumer(StreamConsumer):
    def __init__(self, deps: Deps) -> None:
        partitions = range(deps.settings.partitions)
        super().__init__(deps, [keys.commands(p) for p in partitions], keys.WORKERS_GROUP)
        self.retrier = Retrier(deps.settings, deps.redis, deps.arq)
        self.faults = faults.parse(deps.settings.faults)
        self.aggregates = AggregateLoader(deps.redis, deps.settings)

    async def handle(self, batch: Batch) -> None:
        await self.process(batch)

    async def handle_reclaimed(self, batch: Batch) -> None:
        await self.process(batch, reclaimed=True)

    async def process(self, entries: list[tuple[int, Entry]], *, reclaimed: bool = False) -> None:
        try:
            work = await self._triage(entries)
        except Exception as error:
            if not is_no_script(error):
                raise
            await scripts.load_all(self.redis)  # the server restarted and forgot them
            work = await self._triage(entries)
        failures: list[tuple[Work, AttemptError]] = []
        if reclaimed:
            work = await self._count_deliveries(work, failures)
        for _ in range(self.settings.max_conflict_retries):
            if not work:
                break
            work, failed = await self._attempt(work)
            failures.extend(failed)
        failures.extend(
            (item, attempt_error(item.envelope, "conflict_storm", "kept conflicting"))
            for item in work
        )
        if failures:
            await self.retrier.settle(
                [(w.partition, w.entry_id, w.envelope, error) for w, error in failures]
            )

    async def _count_deliveries(
        self, work: list[Work], failures: list[tuple[Work, AttemptError]]
    ) -> list[Work]:
        """A command that keeps coming back (its workers die on it) stops after a limit."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for item in work:
                status = keys.command_status(item.partition, item.envelope.command_id)
                pipe.hincrby(status, "reclaims", 1)
            counts = await pipe.execute()
        keep: list[Work] = []
        for item, count in zip(work, counts, strict=True):
            if count >= self.settings.max_deliveries:
                message = f"reclaimed {count} times"
                failures.append(
                    (item, attempt_error(item.envelope, "too_many_deliveries", message))
                )
            else:
                keep.append(item)
        return keep

    async def _triage(self, entries: list[tuple[int, Entry]]) -> list[Work]:
        """Decodes the batch; what cannot be settled is acknowledged or dead-lettered now."""
        work: list[Work] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition, (entry_id, fields) in entries:
                item = triage.decode(pipe, self.settings, partition, entry_id, fields)
                if item is not None:
                    work.append(item)
            if len(pipe):
                await pipe.execute()
        return work

    async def _attempt(
        self, work: list[Work]
    ) -> tuple[list[Work], list[tuple[Work, AttemptError]]]:
        """Loads, decides and commits the batch once: the commands that conflicted, to decide
        again now, and those whose handler failed, to retry later."""
        started = perf_counter()
        loaded = await self._load(work)
        load_s = perf_counter() - started
        ready: list[tuple[Work, Commit]] = []
        decide_s: list[float] = []  # per ready command, for the handler latency histogram
        failed: list[tuple[Work, AttemptError]] = []
        for item in work:
            before = perf_counter()
            decided = self._decide(item, loaded)
            if isinstance(decided, Commit):
                ready.append((item, decided))
                decide_s.append(perf_counter() - before)
            else:
                failed.append((item, decided))
        commits = [commit for _, commit in ready]
        before_commit = perf_counter()
        try:
            replies = await self._commit(commits)
        except Exception as error:
            if not is_no_script(error):
                raise
            await scripts.load_all(self.redis)
            replies = await self._commit(commits)
        round_trips_s = load_s + perf_counter() - before_commit
        conflicting: list[Work] = []
        # Aggregates whose state in memory is not their state at its version: one of their
        # decisions did not go in as decided (a conflict, a lost claim, a duplicate).
        unsettled: set[Key] = set()
        for (item, commit), reply, own_s in zip(ready, replies, decide_s, strict=True):
            kind = parse_outcome(reply).kind
            if kind == "ok":
                meters = command_meters(item.envelope.command)
                succeeded = commit.result.status == "succeeded"
                (meters.succeeded if succeeded else meters.rejected).inc()
                meters.handler_seconds.observe(round_trips_s + own_s)
                continue
            unsettled.add((item.partition, item.envelope.aggregate_id))
            if kind in ("conflict", "claimed"):
                conflicting.append(item)
        rules_of = {(w.partition, w.envelope.aggregate_id): w.rules for w in work}
        settled = set(loaded) - unsettled
        self.aggregates.remember(loaded, rules_of, settled)
        await self.aggregates.write_snapshots(loaded, rules_of, settled)
        return conflicting, failed

    async def _load(self, work: list[Work]) -> dict[Key, Loaded]:
        rules_of = {(w.partition, w.envelope.aggregate_id): w.rules for w in work}
        claims = list(
            dict.fromkeys((w.partition, name) for w in work for name in w.rules.claims(w.command))
        )
        return await self.aggregates.load(rules_of, claims)

    def _decide(self, item: Work, loaded: dict[Key, Loaded]) -> Commit | AttemptError:
        env = item.envelope
        current = loaded[(item.partition, env.aggregate_id)]
        if current.unreadable:  # retried: a deployment that can read it may come
            return attempt_error(env, "unreadable_history", current.unreadable)
        try:
            faults.inject(self.faults, env)
            now = now_ms()
            context = Context(
                actor=env.actor,
                roles=frozenset(env.actor_roles),
                owners=current.owners,
                now=now,
            )
            events = item.rules.decide(current.current_state(item.rules), item.command, context)
        except DomainError as error:
            if log.isEnabledFor(logging.DEBUG):  # a business "no" is routine: debug at most
                log.debug("command %s rejected: %s", env.command_id, error.code, extra=_ids(item))
            # Checked against the version too: a rejection is only as good as the state it saw.
            return Commit(
                envelope=env,
                entry_id=item.entry_id,
                result=_result(
                    env, "rejected", now, error=ErrorInfo(code=error.code, message=error.message)
                ),
                expected_version=current.version,
                after_command=current.after,
            )
        except TransientError as error:
            return attempt_error(env, "transient", error)
        except Exception as error:  # a bug: logged, then retried and dead-lettered like the rest
            log.exception("handler failed on command %s", env.command_id, extra=_ids(item))
            return attempt_error(env, "handler_error", error)
        claims = dict(item.rules.claims(item.command)) if events else {}
        occurred = now
        # Each event is encoded once: the same JSON goes into its record and into the result.
        encoded = [msgspec.Raw(encoder.encode(event)) for event in events]
        records = [
            EventRecord(
                event=event_name(event),
                version=type(event).version,
                data=data,
                aggregate_id=env.aggregate_id,
                aggregate_version=current.version + i + 1,
                command_id=env.command_id,
                correlation_id=env.correlation_id,
                causation_id=env.command_id,
                actor=env.actor,
                occurred_at=occurred,
            )
            for i, (event, data) in enumerate(zip(events, encoded, strict=True))
        ]
        public = [
            PublicEvent(event=event_name(e), data=data)
            for e, data in zip(events, encoded, strict=True)
            if not e.private
        ]
        commit = Commit(
            envelope=env,
            entry_id=item.entry_id,
            result=_result(env, "succeeded", now, events=public),
            expected_version=current.version,
            after_command=current.after,
            records=records,
            claims=claims,
        )
        current.advance(env.command_id, events, claims)  # seen by the batch's later commands
        return commit

    async def _commit(self, commits: list[Commit]) -> list[Any]:
        """Each commit's reply, in order: one script call per partition, in one pipeline."""
        if not commits:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            layout = queue_commits(
                pipe,
                commits,
                group=keys.WORKERS_GROUP,
                status_ttl=self.settings.result_ttl_seconds,
                results_maxlen=self.settings.results_maxlen,
            )
            replies: list[Any] = await pipe.execute()
        return per_item(replies, layout, len(commits))


def _result(
    env: Envelope,
    status: str,
    completed_at: int,
    *,
    events: list[PublicEvent] | None = None,
    error: ErrorInfo | None = None,
) -> Result:
    return Result(
        command_id=env.command_id,
        status=status,
        events=events or [],
        error=error,
        actor=env.actor,
        reply_to=env.reply_to,
        aggregate_id=env.aggregate_id,
        completed_at=completed_at,
        attempts=env.attempts + 1,
        errors=list(env.errors),
        submitted_at=env.submitted_at,
    )


def _ids(item: Work) -> dict[str, Any]:
    """A command's log context, built only when something is logged about it."""
    env = item.envelope
    return {
        "command_id": env.command_id,
        "correlation_id": env.correlation_id,
        "partition": item.partition,
    }

"""The command consumer: read a batch, decide, commit each command atomically.

One XREADGROUP takes up to `read_count` entries from every partition (`worker.triage` turns
them into work, or settles the ones that cannot be). The batch's aggregates and claims load in
one pipeline (`worker.aggregates`: kept states need no load; the others come with their
snapshot, if any, and the history after it, one script call per partition); decisions are pure
and run in memory; the commits go out as one script call per partition, each command in it all
or nothing; then the aggregates due a snapshot (`snapshot_every`) are snapshotted. Version
conflicts and lost claim races reload and decide again; a handler that fails is retried with
backoff (`worker.retries`), then dead-lettered.

Batches read in turn are pipelined (`worker.pipelining`): a batch is loaded and decided while
the one before it commits, on top of that one's decisions, and its commits are sent once that
one is wholly settled. Reclaimed batches are settled one at a time. A worker process runs
several such consumers (`command_lanes`), each over its own partitions.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from events.envelope import AttemptError
from infra import keys, scripts
from infra.errors import is_no_script
from infra.event_store import (
    Commit,
    CommitCall,
    commit_calls,
    outcome_kind,
    queue_commit_calls,
)
from infra.metrics import command_meters
from infra.partition_calls import per_item
from infra.streams import Entry
from worker import faults, triage
from worker.aggregates import AggregateLoader, Key, Loaded
from worker.consumer import Batch, StreamConsumer
from worker.decisions import decide
from worker.deps import Deps
from worker.pipelining import Pipeline
from worker.retries import Retrier, attempt_error
from worker.triage import Work


@dataclass
class Attempt:
    """A batch loaded and decided once: its commits ready to send, its handler failures."""

    work: list[Work]
    loaded: dict[Key, Loaded]
    ready: list[tuple[Work, Commit]]
    decide_s: list[float]  # per ready command, for the handler latency histogram
    failed: list[tuple[Work, AttemptError]]
    load_s: float
    # Aggregates decided on top of a batch that did not settle them as decided: nothing decided
    # on them is sent; their commands are decided again on a fresh load (`worker.pipelining`).
    distrusted: set[Key] = field(default_factory=set)
    calls: list[CommitCall] = field(default_factory=list)  # the ready commits, encoded

    def distrust(self, unsettled: set[Key]) -> None:
        self.distrusted |= unsettled & self.loaded.keys()


def command_lanes(deps: Deps) -> list["CommandConsumer"]:
    """The worker's command consumers: `command_lanes` of them (no more than there are
    partitions), each reading every `lanes`-th partition, all keeping their states in one cache.

    One consumer alone leaves its process idle while Redis reads, loads and commits, and Redis
    idle while it decides; two or more take turns, so that both stay busy. Ordering and
    atomicity hold as with one: a partition is read by one lane only, and an aggregate and its
    claims live in one partition.
    """
    lanes = min(deps.settings.command_lanes, deps.settings.partitions)
    aggregates = AggregateLoader(deps.redis, deps.settings)
    return [
        CommandConsumer(deps, range(lane, deps.settings.partitions, lanes), aggregates)
        for lane in range(lanes)
    ]


class CommandConsumer(StreamConsumer):
    def __init__(
        self,
        deps: Deps,
        partitions: Sequence[int] | None = None,
        aggregates: AggregateLoader | None = None,
    ) -> None:
        """Reads `partitions` (by default every one); `aggregates` may be shared by lanes."""
        if partitions is None:
            partitions = range(deps.settings.partitions)
        super().__init__(deps, {p: keys.commands(p) for p in partitions}, keys.WORKERS_GROUP)
        self.retrier = Retrier(deps.settings, deps.redis, deps.arq)
        self.faults = faults.parse(deps.settings.faults)
        self.aggregates = aggregates or AggregateLoader(deps.redis, deps.settings)
        self.pipeline: Pipeline[Attempt] = Pipeline(self._prepare, self._settle)

    @property
    def holding(self) -> bool:
        return self.pipeline.holding

    async def flush(self) -> None:
        await self.pipeline.flush()

    async def handle(self, batch: Batch) -> None:
        await self.process(batch)

    async def handle_reclaimed(self, batch: Batch) -> None:
        await self.process(batch, reclaimed=True)

    async def process(self, entries: list[tuple[int, Entry]], *, reclaimed: bool = False) -> None:
        """Entries read in turn go through the pipeline: decided now, committed while the next
        batch is prepared (or by `flush`). Reclaimed ones, taken over from whoever held them
        (also by arq's cron, beside the loop), are settled before this returns."""
        if not reclaimed:
            await self.pipeline.push(entries)
            return
        work = await self._triage(entries)
        failures: list[tuple[Work, AttemptError]] = []
        work = await self._count_deliveries(work, failures)
        await self._conclude(work, failures, self.settings.max_conflict_retries)

    async def _prepare(self, entries: Batch, on_top_of: Attempt | None) -> Attempt:
        work = await self._triage(entries)
        return await self._decide_all(work, on_top_of.loaded if on_top_of else None)

    async def _settle(self, attempt: Attempt) -> set[Key]:
        """Commits a prepared batch, then decides again what conflicted and settles what failed.
        Returns the aggregates the first attempt did not settle as decided."""
        conflicting, failed, unsettled = await self._commit_attempt(attempt)
        await self._conclude(conflicting, failed, self.settings.max_conflict_retries - 1)
        return unsettled

    async def _conclude(
        self, work: list[Work], failures: list[tuple[Work, AttemptError]], attempts: int
    ) -> None:
        """Up to `attempts` more attempts at `work`; then what still failed is retried later
        or dead-lettered."""
        for _ in range(attempts):
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
        if not work:
            return work
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
        try:
            return await self._triage_once(entries)
        except Exception as error:
            if not is_no_script(error):
                raise
            await scripts.load_all(self.redis)  # the server restarted and forgot them
            return await self._triage_once(entries)

    async def _triage_once(self, entries: list[tuple[int, Entry]]) -> list[Work]:
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
        conflicting, failed, _ = await self._commit_attempt(await self._decide_all(work, None))
        return conflicting, failed

    async def _decide_all(self, work: list[Work], on_top_of: dict[Key, Loaded] | None) -> Attempt:
        """Loads the batch's aggregates (those of `on_top_of` as it decided them), decides
        every command and encodes the commits."""
        started = perf_counter()
        loaded = await self._load(work, on_top_of)
        load_s = perf_counter() - started
        attempt = Attempt(work, loaded, [], [], [], load_s)
        for item in work:
            before = perf_counter()
            decided = decide(item, loaded, self.faults)
            if isinstance(decided, Commit):
                attempt.ready.append((item, decided))
                attempt.decide_s.append(perf_counter() - before)
            else:
                attempt.failed.append((item, decided))
        # Encoded now, while the batch before commits, rather than when this one's turn comes.
        attempt.calls = self._calls([commit for _, commit in attempt.ready])
        return attempt

    async def _commit_attempt(
        self, attempt: Attempt
    ) -> tuple[list[Work], list[tuple[Work, AttemptError]], set[Key]]:
        """Sends the attempt's commits: the commands to decide again, those whose handler
        failed, and the aggregates not settled as decided."""
        distrusted = attempt.distrusted
        ready = [
            (item, commit, own_s)
            for (item, commit), own_s in zip(attempt.ready, attempt.decide_s, strict=True)
            if (item.partition, item.envelope.aggregate_id) not in distrusted
        ]
        failed = [
            (item, error)
            for item, error in attempt.failed
            if (item.partition, item.envelope.aggregate_id) not in distrusted
        ]
        calls = attempt.calls
        if len(ready) < len(attempt.ready):  # some were distrusted: the calls go without them
            calls = self._calls([commit for _, commit, _ in ready])
        before_commit = perf_counter()
        try:
            replies = await self._commit(calls, len(ready))
        except Exception as error:
            if not is_no_script(error):
                raise
            await scripts.load_all(self.redis)
            replies = await self._commit(calls, len(ready))
        round_trips_s = attempt.load_s + perf_counter() - before_commit
        conflicted: set[int] = set()  # ids of the commands to decide again
        # Aggregates whose state in memory is not their state at its version: one of their
        # decisions did not go in as decided (a conflict, a lost claim, a duplicate), or was
        # not even sent.
        unsettled = set(distrusted)
        settled_count: dict[tuple[str, bool], int] = {}  # (command, succeeded): counted once
        for (item, commit, own_s), reply in zip(ready, replies, strict=True):
            kind = outcome_kind(reply)
            if kind == "ok":
                env = item.envelope
                outcome = (env.command, commit.result.status == "succeeded")
                settled_count[outcome] = settled_count.get(outcome, 0) + 1
                command_meters(env.command).handler_seconds.observe(round_trips_s + own_s)
                continue
            unsettled.add((item.partition, item.envelope.aggregate_id))
            if kind in ("conflict", "claimed"):
                conflicted.add(id(item))
        for (command, succeeded), count in settled_count.items():
            meters = command_meters(command)
            (meters.succeeded if succeeded else meters.rejected).inc(count)
        # In batch order: the commands of an aggregate are decided again in their order.
        conflicting = [
            item
            for item in attempt.work
            if id(item) in conflicted or (item.partition, item.envelope.aggregate_id) in distrusted
        ]
        loaded = attempt.loaded
        rules_of = {(w.partition, w.envelope.aggregate_id): w.rules for w in attempt.work}
        settled = set(loaded) - unsettled
        self.aggregates.remember(loaded, settled)
        await self.aggregates.write_snapshots(loaded, rules_of, settled)
        return conflicting, failed, unsettled

    async def _load(
        self, work: list[Work], on_top_of: dict[Key, Loaded] | None = None
    ) -> dict[Key, Loaded]:
        rules_of = {(w.partition, w.envelope.aggregate_id): w.rules for w in work}
        claims = list(
            dict.fromkeys((w.partition, name) for w in work for name in w.rules.claims(w.command))
        )
        return await self.aggregates.load(rules_of, claims, on_top_of)

    def _calls(self, commits: list[Commit]) -> list[CommitCall]:
        return commit_calls(
            commits,
            group=keys.WORKERS_GROUP,
            status_ttl=self.settings.result_ttl_seconds,
            results_maxlen=self.settings.results_maxlen,
        )

    async def _commit(self, calls: list[CommitCall], count: int) -> list[Any]:
        """Each of the `count` commits' replies, in order: the calls in one pipeline."""
        if not calls:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            layout = queue_commit_calls(pipe, calls)
            replies: list[Any] = await pipe.execute()
        return per_item(replies, layout, count)

"""A batch's aggregates, loaded in one round trip and snapshotted in one more.

Each aggregate comes back as its snapshot (when one is usable) plus the history after it, or as
its whole history (`snapshot_every` 0); each unique claim as its owner. A history this code
cannot read (an event of an unknown type or of a newer version) fails the commands on that one
aggregate, not the batch: they are retried, then dead-lettered as `unreadable_history`.
"""

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from redis.asyncio import Redis

from domain.aggregate import AggregateRules, State
from events.codec import UnknownEvent
from events.events import Event
from events.upcasting import MissingUpcaster
from infra import scripts, snapshots
from infra.errors import is_no_script
from infra.event_store import queue_claim_owner, queue_history
from infra.partition_calls import per_item
from infra.settings import Settings
from infra.snapshots import Restored, Snapshot, SnapshotUnreadable

log = logging.getLogger("sluice.worker.aggregates")

Key = tuple[int, str]  # (partition, aggregate id)

UNREADABLE = (UnknownEvent, MissingUpcaster, msgspec.DecodeError, msgspec.ValidationError)


@dataclass
class Loaded:
    """An aggregate as this batch sees it: loaded, then moved on by the batch's decisions."""

    state: State
    version: int
    owners: dict[str, str | None] = field(default_factory=dict)
    # Events decided in this batch but not yet evolved into `state`: folded in only when a later
    # command of the batch acts on the same aggregate (most aggregates see one command).
    unapplied: list[Event] = field(default_factory=list)
    base: int = 0  # the version of the snapshot the state was rebuilt from; 0: none
    # The command of this batch whose events the state ends with, if any: a later decision on
    # this state holds only if those events are the ones the history ends with when it commits.
    after: str | None = None
    unreadable: str = ""  # why the history could not be read; empty when it could

    def current_state(self, rules: AggregateRules) -> State:
        for event in self.unapplied:
            self.state = rules.evolve(self.state, event)
        self.unapplied.clear()
        return self.state

    def followed(self, rules: AggregateRules, owners: dict[str, str | None]) -> "Loaded":
        """A copy for the next batch to decide on: this batch's state as decided, with the
        next batch's claim owners. A snapshot due is this batch's to write, not the copy's."""
        state = self.current_state(rules)
        return Loaded(state, self.version, owners, base=self.version, after=self.after)

    def advance(self, command_id: str, events: Sequence[Event], claims: dict[str, str]) -> None:
        """A decision of this batch, seen by the later commands on the same aggregate."""
        if events:
            self.unapplied.extend(events)
            self.version += len(events)
            self.after = command_id
        self.owners.update(claims)


class AggregateLoader:
    """Loads aggregates, and keeps the states of the latest ones it settled (`state_cache`).

    A state kept here may be stale (another worker committed since): a decision on it then
    fails the commit's version check, and the aggregate is loaded afresh. Histories only grow,
    so a history of the expected length holds exactly the events the state was built from.
    """

    def __init__(self, redis: "Redis", settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        # (state, version, events since the state): events decided on an aggregate are folded
        # into its state only when a later command acts on it again, if ever.
        self.kept: OrderedDict[Key, tuple[State, int, tuple[Event, ...]]] = OrderedDict()
        self.reused = 0  # loads the kept states saved: for tests

    @property
    def snapshotting(self) -> bool:
        return self.settings.snapshot_every > 0

    async def load(
        self,
        rules_of: dict[Key, AggregateRules],
        claims: list[Key],
        on_top_of: dict[Key, Loaded] | None = None,
    ) -> dict[Key, Loaded]:
        """Every aggregate of `rules_of`, each sharing its partition's claim owners.

        An aggregate of `on_top_of` (a batch decided, not yet committed) goes on from the state
        that batch left it in: a decision on it commits only if the history ends with that
        batch's events (`Loaded.after`), and only if that batch settled it as decided
        (`worker.pipelining`)."""
        ahead = {
            key: decided
            for key in rules_of
            if on_top_of and (decided := on_top_of.get(key)) is not None and not decided.unreadable
        }
        kept = {key: self.kept[key] for key in rules_of if key in self.kept and key not in ahead}
        aggregates = [key for key in rules_of if key not in kept and key not in ahead]
        replies: list[Any] = []
        if aggregates or claims:
            try:
                replies = await self._fetch(aggregates, claims)
            except Exception as error:
                if not is_no_script(error):
                    raise
                await scripts.load_all(self.redis)  # the server restarted and forgot them
                replies = await self._fetch(aggregates, claims)
        owners: dict[int, dict[str, str | None]] = {}
        for (partition, name), owner in zip(claims, replies[len(aggregates) :], strict=True):
            owners.setdefault(partition, {})[name] = owner.decode() if owner else None
        loaded: dict[Key, Loaded] = {}
        for key, before in ahead.items():
            loaded[key] = before.followed(rules_of[key], owners.setdefault(key[0], {}))
        for key, (state, version, unapplied) in kept.items():
            shared = owners.setdefault(key[0], {})
            loaded[key] = Loaded(state, version, shared, list(unapplied), base=version)
        self.reused += len(kept)
        bad_snapshots: list[Key] = []
        for key, raw in zip(aggregates, replies[: len(aggregates)], strict=True):
            shared = owners.setdefault(key[0], {})
            try:
                found = self._restore(rules_of[key], key, raw)
            except SnapshotUnreadable as error:
                log.warning("dropping the unreadable snapshot of %s: %s", key[1], error)
                bad_snapshots.append(key)
                continue
            except UNREADABLE as error:
                loaded[key] = _unreadable(key, error, shared)
                continue
            loaded[key] = Loaded(found.state, found.version, shared, base=found.base)
        if bad_snapshots:
            loaded.update(await self._reload_without_snapshots(bad_snapshots, rules_of, owners))
        return loaded

    def _restore(self, rules: AggregateRules, key: Key, raw: Any) -> Restored:
        if self.snapshotting:
            return snapshots.restore(rules, key[1], raw)
        return snapshots.restore_history(rules, raw)

    async def _fetch(self, aggregates: list[Key], claims: list[Key]) -> list[Any]:
        """One round trip: each aggregate's snapshot and history after it, each claim's owner."""
        async with self.redis.pipeline(transaction=False) as pipe:
            if self.snapshotting:
                layout = snapshots.queue_loads(pipe, aggregates)
            else:
                for partition, aggregate_id in aggregates:
                    queue_history(pipe, partition, aggregate_id)
            for partition, name in claims:
                queue_claim_owner(pipe, partition, name)
            replies: list[Any] = await pipe.execute()
        if not self.snapshotting:
            return replies
        calls = len(layout)
        return [*per_item(replies[:calls], layout, len(aggregates)), *replies[calls:]]

    async def _reload_without_snapshots(
        self,
        aggregates: list[Key],
        rules_of: dict[Key, AggregateRules],
        owners: dict[int, dict[str, str | None]],
    ) -> dict[Key, Loaded]:
        """Rare: a snapshot that does not decode is deleted and the whole history replayed."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition, aggregate_id in aggregates:
                snapshots.queue_drop(pipe, partition, aggregate_id)
                queue_history(pipe, partition, aggregate_id)
            replies = await pipe.execute()
        loaded: dict[Key, Loaded] = {}
        for key, history in zip(aggregates, replies[1::2], strict=True):
            shared = owners.setdefault(key[0], {})
            try:
                found = snapshots.restore_history(rules_of[key], history)
            except UNREADABLE as error:
                loaded[key] = _unreadable(key, error, shared)
                continue
            loaded[key] = Loaded(found.state, found.version, shared)
        return loaded

    def remember(self, loaded: dict[Key, Loaded], settled: set[Key]) -> None:
        """Keeps the states of the aggregates settled as decided; forgets the others. What was
        decided on a state is kept beside it, not folded in: most aggregates a batch touches
        are not touched again before they leave the cache."""
        size = self.settings.state_cache_size
        for key, now in loaded.items():
            if key in settled and not now.unreadable and size > 0:
                self.kept[key] = (now.state, now.version, tuple(now.unapplied))
                self.kept.move_to_end(key)
            else:
                self.kept.pop(key, None)
        while len(self.kept) > size:
            self.kept.popitem(last=False)

    async def write_snapshots(
        self,
        loaded: dict[Key, Loaded],
        rules_of: dict[Key, AggregateRules],
        settled: set[Key],
    ) -> None:
        """Snapshots each aggregate whose version crossed a multiple of `snapshot_every` since
        the snapshot it was loaded from, all in one pipeline.

        Only aggregates in `settled` (every commit of the attempt on them went through): then
        the state in memory is the state at its version. Snapshots are a cache, so a failed
        write is logged and left to a later load, which replays a longer tail and writes again.
        """
        every = self.settings.snapshot_every
        if every <= 0:
            return
        due = [
            key
            for key, now in loaded.items()
            if key in settled and now.version // every > now.base // every
        ]
        if not due:
            return
        batch = [
            Snapshot(
                partition=partition,
                aggregate_id=aggregate_id,
                version=loaded[(partition, aggregate_id)].version,
                state=loaded[(partition, aggregate_id)].current_state(
                    rules_of[(partition, aggregate_id)]
                ),
            )
            for partition, aggregate_id in due
        ]
        try:
            await snapshots.write(self.redis, batch)
        except Exception:
            log.warning("could not write %d snapshots", len(batch), exc_info=True)


def _unreadable(key: Key, error: Exception, owners: dict[str, str | None]) -> Loaded:
    reason = f"{type(error).__name__}: {error}"[:500]
    log.error(
        "cannot read the history of %s: %s",
        key[1],
        reason,
        extra={"partition": key[0], "aggregate_id": key[1]},
    )
    return Loaded(state=None, version=-1, owners=owners, unreadable=reason)

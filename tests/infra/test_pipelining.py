"""Pipelined batches on a real redis-server: each batch is decided while the one before commits.

With `read_count=1`, each batch holds one command of a user (a user's commands share a
partition), so consecutive commands on one aggregate land in consecutive batches: the second
is decided on top of the first's decision while that one is still in flight.
"""

import asyncio
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from events.codec import result_decoder
from events.commands import RecordLogin
from events.envelope import Envelope, EventRecord
from events.events import UserLoggedIn
from infra import keys
from infra.command_log import envelope_for, find_status, submit
from infra.event_store import CommitCall, load_history
from infra.identity import registration
from infra.settings import Settings
from tests.infra.interference_support import intrude, intruding
from worker.aggregates import Key, Loaded
from worker.commands import Attempt, CommandConsumer
from worker.consumer import Batch
from worker.deps import Deps
from worker.triage import Work

HASH = "$argon2id$v=19$fake-hash-never-shown"


class Watched(CommandConsumer):
    """Records every commit sent (command id, expected version) and every fresh fetch."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self.sent: list[tuple[str, int]] = []
        self.fetched: list[Key] = []
        self.retries = 0
        fetch = self.aggregates._fetch

        async def counted(aggregates: list[Key], claims: list[Key]) -> list[Any]:
            self.fetched += aggregates
            return await fetch(aggregates, claims)

        self.aggregates._fetch = counted  # type: ignore[method-assign]

    async def _commit(self, calls: list[CommitCall], count: int) -> list[Any]:
        self.sent += [sent for call in calls for sent in _commits_of(call)]
        return await super()._commit(calls, count)

    async def _attempt(self, work: list[Work]) -> tuple[list[Work], list[Any]]:
        self.retries += 1
        return await super()._attempt(work)


def _commits_of(call: CommitCall) -> list[tuple[str, int]]:
    """(command id, expected version) of each commit of a call, read back from its arguments."""
    args, found, at = call.args, [], 4
    for _ in range(int(args[3])):
        result = result_decoder.decode(args[at + 3])
        found.append((result.command_id, int(args[at + 1])))
        at += 7 + int(args[at + 5]) + int(args[at + 6])
    return found


async def registered(redis: Redis, settings: Settings) -> Envelope:
    command, aggregate_id = registration(
        email="alice@example.com", password_hash=HASH, display_name=None, partitions=4
    )
    envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    assert await submit(redis, settings, envelope)
    first = CommandConsumer(Deps(settings=settings, redis=redis, consumer="first"))
    await first.prepare()
    assert (await first.drain()).entries == 1
    return envelope


async def logins(redis: Redis, settings: Settings, user: Envelope, count: int) -> list[Envelope]:
    sent = []
    for i in range(count):
        envelope = envelope_for(
            settings=settings,
            command=RecordLogin(user_id=user.aggregate_id.removeprefix("user:"), session_id=f"{i}"),
            aggregate_id=user.aggregate_id,
        )
        assert await submit(redis, settings, envelope)
        sent.append(envelope)
    return sent


async def consumer_of(
    redis: Redis, settings: Settings, kind: type[CommandConsumer] = CommandConsumer
) -> Any:
    consumer = kind(Deps(settings=replace(settings, read_count=1), redis=redis, consumer="c1"))
    await consumer.prepare()
    return consumer


async def history_of(redis: Redis, user: Envelope) -> list[tuple[int, str]]:
    history = await load_history(redis, user.partition, user.aggregate_id)
    return [(r.aggregate_version, r.command_id) for r in history]


async def statuses(redis: Redis, settings: Settings, envelopes: list[Envelope]) -> list[str]:
    found = [await find_status(redis, settings, env.command_id) for env in envelopes]
    return [status.status if status else "unknown" for status in found]


async def pending_count(redis: Redis, settings: Settings) -> int:
    summaries = [
        await redis.xpending(keys.commands(p), keys.WORKERS_GROUP)
        for p in range(settings.partitions)
    ]
    return sum(summary["pending"] for summary in summaries)


async def results_count(redis: Redis, user: Envelope) -> int:
    return int(await redis.xlen(keys.results(user.partition)))


async def test_a_batch_decided_on_the_one_still_committing_commits_without_conflicts(
    redis: Redis, settings: Settings
) -> None:
    user = await registered(redis, settings)
    sent = await logins(redis, settings, user, 3)
    consumer: Watched = await consumer_of(redis, settings, Watched)

    drained = await consumer.drain()

    assert (drained.entries, drained.batches) == (3, 3)
    # Loaded once: the later batches went on from the decisions of the batch before.
    assert consumer.fetched == [(user.partition, user.aggregate_id)]
    assert consumer.sent == [
        (env.command_id, version) for env, version in zip(sent, [2, 3, 4], strict=True)
    ]
    assert consumer.retries == 0
    assert await history_of(redis, user) == [
        (1, user.command_id),
        (2, user.command_id),
        *[(version, env.command_id) for version, env in zip([3, 4, 5], sent, strict=True)],
    ]
    assert await statuses(redis, settings, sent) == ["succeeded"] * 3
    assert await pending_count(redis, settings) == 0


class Intruded(Watched):
    """Another writer appends to the user's history just after the first load."""

    intruder: EventRecord | None = None

    async def _load(
        self, work: list[Work], on_top_of: dict[Key, Loaded] | None = None
    ) -> dict[Key, Loaded]:
        loaded = await super()._load(work, on_top_of)
        if self.intruder is not None:
            record, self.intruder = self.intruder, None
            await intrude(self, record)
        return loaded


def intruder(user: Envelope) -> EventRecord:
    login = UserLoggedIn(user_id=user.aggregate_id.removeprefix("user:"), session_id="x")
    return intruding(login, user.aggregate_id, 3)


async def test_a_decision_on_a_state_the_batch_before_did_not_settle_is_made_again_not_sent(
    redis: Redis, settings: Settings
) -> None:
    """The first login conflicts (another writer appended) and is decided again; the second,
    decided on top of the first's failed decision, is never sent as decided: it is decided
    again on a fresh state, after the first's second attempt."""
    user = await registered(redis, settings)
    first, second = await logins(redis, settings, user, 2)
    consumer: Intruded = await consumer_of(redis, settings, Intruded)
    consumer.intruder = intruder(user)

    assert (await consumer.drain()).entries == 2

    assert consumer.sent == [
        (first.command_id, 2),  # conflicts: the intruder is version 3
        (first.command_id, 3),
        (second.command_id, 4),  # never (second, 3): the state it was decided on never was
    ]
    assert await history_of(redis, user) == [
        (1, user.command_id),
        (2, user.command_id),
        (3, "someone-elses-command"),
        (4, first.command_id),
        (5, second.command_id),
    ]
    assert await statuses(redis, settings, [first, second]) == ["succeeded"] * 2
    assert await results_count(redis, user) == 3
    assert await pending_count(redis, settings) == 0


async def test_each_aggregate_keeps_the_order_of_its_commands_across_pipelined_batches(
    redis: Redis, settings: Settings
) -> None:
    users = []
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        command, aggregate_id = registration(
            email=email, password_hash=HASH, display_name=None, partitions=4
        )
        env = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
        assert await submit(redis, settings, env)
        users.append(env)
    sent: dict[str, list[str]] = {user.aggregate_id: [] for user in users}
    for _ in range(6):  # interleaved: a, b, c, a, b, c...
        for user in users:
            [login] = await logins(redis, settings, user, 1)
            sent[user.aggregate_id].append(login.command_id)
    consumer = CommandConsumer(
        Deps(settings=replace(settings, read_count=2), redis=redis, consumer="c1")
    )
    await consumer.prepare()

    drained = await consumer.drain()

    assert drained.entries == 3 + sum(len(ids) for ids in sent.values())
    assert drained.batches > 1
    for user in users:
        history = await history_of(redis, user)
        assert [command_id for _, command_id in history[2:]] == sent[user.aggregate_id]
        assert [version for version, _ in history] == list(range(1, len(history) + 1))
    assert await pending_count(redis, settings) == 0


class StoppedOnTheSecondBatch(CommandConsumer):
    """Told to stop while it prepares its second batch, the first one still committing."""

    prepared = 0

    async def _prepare(self, entries: Batch, on_top_of: Attempt | None) -> Attempt:
        self.prepared += 1
        if self.prepared == 2:
            assert on_top_of is not None  # the first batch is held, its commit not yet sent
            self.stop()
        return await super()._prepare(entries, on_top_of)


async def test_a_stop_mid_pipeline_settles_both_batches_in_hand_and_reads_no_more(
    redis: Redis, settings: Settings
) -> None:
    user = await registered(redis, settings)
    sent = await logins(redis, settings, user, 4)
    consumer = await consumer_of(redis, settings, StoppedOnTheSecondBatch)

    await asyncio.wait_for(consumer.run(), timeout=5)

    assert await statuses(redis, settings, sent) == ["succeeded"] * 2 + ["accepted"] * 2
    assert [command_id for _, command_id in (await history_of(redis, user))[2:]] == [
        env.command_id for env in sent[:2]
    ]
    assert await results_count(redis, user) == 3
    assert await pending_count(redis, settings) == 0


class LosesTheFirstCommitReply(CommandConsumer):
    """The first commit goes in, then its connection fails before the replies are read."""

    failed = False

    async def _commit(self, calls: list[CommitCall], count: int) -> list[Any]:
        replies = await super()._commit(calls, count)
        if not self.failed:
            self.failed = True
            raise ConnectionError("connection lost before the replies were read")
        return replies


class FailsToLoadTheSecondBatch(CommandConsumer):
    """Loading the second batch fails while the first one commits."""

    loads = 0

    async def _load(
        self, work: list[Work], on_top_of: dict[Key, Loaded] | None = None
    ) -> dict[Key, Loaded]:
        self.loads += 1
        if self.loads == 2:
            raise ConnectionError("connection lost while loading")
        return await super()._load(work, on_top_of)


async def test_a_failure_in_either_batch_in_hand_loses_nothing_and_doubles_nothing(
    redis: Redis, settings: Settings
) -> None:
    """Whichever batch fails, the first one's commit goes in once and the second one is left
    pending, never sent: reclaimed, it is settled once."""
    quick = replace(settings, claim_idle_ms=0)  # what is left pending is reclaimable at once
    for kind in (LosesTheFirstCommitReply, FailsToLoadTheSecondBatch):
        await redis.flushall()
        user = await registered(redis, quick)
        first, second = await logins(redis, quick, user, 2)
        consumer = await consumer_of(redis, quick, kind)

        try:
            await consumer.drain()
        except ConnectionError:
            pass
        else:
            raise AssertionError(f"{kind.__name__}: the failure did not surface")

        assert await statuses(redis, quick, [first, second]) == ["succeeded", "accepted"]
        assert not consumer.holding
        assert await consumer.reclaim() == 1  # the second login, left pending
        assert await statuses(redis, quick, [first, second]) == ["succeeded"] * 2
        assert await history_of(redis, user) == [
            (1, user.command_id),
            (2, user.command_id),
            (3, first.command_id),
            (4, second.command_id),
        ]
        assert await results_count(redis, user) == 3
        assert await pending_count(redis, quick) == 0


class HangsAfterTheFirstCommit(CommandConsumer):
    """The first commit goes in, then its replies never come: only a timeout ends the wait."""

    hung = False

    async def _commit(self, calls: list[CommitCall], count: int) -> list[Any]:
        replies = await super()._commit(calls, count)
        if not self.hung:
            self.hung = True
            await asyncio.Event().wait()
        return replies


async def test_a_timeout_while_a_commit_is_in_flight_cancels_both_batches_and_loses_nothing(
    redis: Redis, settings: Settings
) -> None:
    quick = replace(settings, claim_idle_ms=0)  # what is left pending is reclaimable at once
    user = await registered(redis, quick)
    first, second = await logins(redis, quick, user, 2)
    consumer = await consumer_of(redis, quick, HangsAfterTheFirstCommit)

    try:
        async with asyncio.timeout(0.5):  # as the loop's iteration timeout would
            await consumer.drain()
    except TimeoutError:
        pass
    else:
        raise AssertionError("the hung commit did not time out")

    assert not consumer.holding
    assert await statuses(redis, quick, [first, second]) == ["succeeded", "accepted"]
    assert await consumer.reclaim() == 1  # the second login, left pending
    assert await statuses(redis, quick, [first, second]) == ["succeeded"] * 2
    assert [command_id for _, command_id in (await history_of(redis, user))[2:]] == [
        first.command_id,
        second.command_id,
    ]
    assert await results_count(redis, user) == 3
    assert await pending_count(redis, quick) == 0


async def test_a_batch_that_emptied_the_streams_is_settled_at_once_a_full_one_is_held(
    redis: Redis, settings: Settings
) -> None:
    user = await registered(redis, settings)
    [only] = await logins(redis, settings, user, 1)
    roomy = CommandConsumer(
        Deps(settings=replace(settings, read_count=2), redis=redis, consumer="c2")
    )
    await roomy.prepare()

    assert await roomy._read_next(block=False) == 1  # it took less than it could: all there was
    assert not roomy.holding
    assert await statuses(redis, settings, [only]) == ["succeeded"]

    later = await logins(redis, settings, user, 2)
    full = await consumer_of(redis, settings)  # read_count 1: every batch is full
    assert await full._read_next(block=False) == 1
    assert full.holding  # committed while the next batch is prepared, or by the next read
    assert await statuses(redis, settings, later) == ["accepted", "accepted"]
    assert await full._read_next(block=False) == 1
    assert await full._read_next(block=False) == 0
    assert not full.holding
    assert await statuses(redis, settings, later) == ["succeeded", "succeeded"]

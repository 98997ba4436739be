"""The worker keeps the states it settled: no load for an aggregate it just decided on, and a
kept state that went stale (another worker committed) costs a conflict and a fresh load, never
a decision on a state that is not the history's."""

from dataclasses import replace

from redis.asyncio import Redis

from domain import identity
from events.codec import encoder
from events.commands import ChangeDisplayName, Command, RecordLogin
from infra.command_log import envelope_for, find_status, submit
from infra.event_store import load_history
from infra.settings import Settings
from infra.snapshots import restore_history
from tests.infra.test_command_consumer import drain, register
from worker.aggregates import Loaded
from worker.commands import CommandConsumer
from worker.deps import Deps


def consumer_of(redis: Redis, settings: Settings, name: str) -> CommandConsumer:
    return CommandConsumer(Deps(settings=settings, redis=redis, consumer=name))


async def submitted(
    redis: Redis, settings: Settings, command: Command, aggregate_id: str, actor: str | None = None
) -> str:
    envelope = envelope_for(
        settings=settings, command=command, aggregate_id=aggregate_id, actor=actor
    )
    assert await submit(redis, settings, envelope)
    return envelope.command_id


async def login(redis: Redis, settings: Settings, user_id: str, aggregate_id: str, n: int) -> str:
    command = RecordLogin(user_id=user_id, session_id=f"s-{n}")
    return await submitted(redis, settings, command, aggregate_id)


async def test_an_aggregate_settled_in_one_batch_is_not_loaded_for_the_next(
    redis: Redis, settings: Settings
) -> None:
    worker = consumer_of(redis, settings, "w1")
    await worker.prepare()
    registered, command = await register(redis, settings)
    await drain(worker)
    assert worker.aggregates.reused == 0

    for n in range(3):
        await login(redis, settings, command.user_id, registered.aggregate_id, n)
        await drain(worker)

    assert worker.aggregates.reused == 3
    history = await load_history(redis, registered.partition, registered.aggregate_id)
    assert [r.aggregate_version for r in history] == [1, 2, 3, 4, 5]
    assert [r.event for r in history[2:]] == ["UserLoggedIn"] * 3


async def rename(redis: Redis, settings: Settings, user_id: str, aggregate_id: str, to: str) -> str:
    command = ChangeDisplayName(user_id=user_id, display_name=to)
    return await submitted(redis, settings, command, aggregate_id, actor=user_id)


async def test_a_kept_state_decides_with_what_was_decided_on_it_since(
    redis: Redis, settings: Settings
) -> None:
    """The events a batch decided are kept beside the state, not folded in: the next command on
    the aggregate decides on both, as on the history."""
    worker = consumer_of(redis, settings, "w1")
    await worker.prepare()
    registered, command = await register(redis, settings)
    await drain(worker)
    key = (registered.partition, registered.aggregate_id)
    state, version, since = worker.aggregates.kept[key]
    assert (state, version, [type(e).__name__ for e in since]) == (
        None,
        2,
        ["UserRegistered", "UserPasswordSet"],
    )

    first = await rename(redis, settings, command.user_id, registered.aggregate_id, "Ada L")
    await drain(worker)
    again = await rename(redis, settings, command.user_id, registered.aggregate_id, "Ada L")
    await drain(worker)  # the same name as the kept rename: nothing to change

    assert worker.aggregates.reused == 2
    history = await load_history(redis, registered.partition, registered.aggregate_id)
    assert [(r.event, r.command_id) for r in history[2:]] == [("DisplayNameChanged", first)]
    found = await find_status(redis, settings, again)
    assert found is not None and (found.status, found.events) == ("succeeded", [])
    state, version, since = worker.aggregates.kept[key]
    kept = Loaded(state, version, unapplied=list(since)).current_state(identity.RULES)
    assert kept == restore_history(identity.RULES, [encoder.encode(r) for r in history]).state


async def test_a_stale_kept_state_conflicts_and_the_command_is_decided_on_the_fresh_one(
    redis: Redis, settings: Settings
) -> None:
    first, second = consumer_of(redis, settings, "w1"), consumer_of(redis, settings, "w2")
    await first.prepare()
    registered, command = await register(redis, settings)
    await drain(first)  # `first` keeps the user at version 2

    mine = await login(redis, settings, command.user_id, registered.aggregate_id, 1)
    await drain(second)  # another worker moves the user on to version 3
    theirs = await login(redis, settings, command.user_id, registered.aggregate_id, 2)
    await drain(first)  # decided on the kept version 2 first: conflict, then loaded afresh

    history = await load_history(redis, registered.partition, registered.aggregate_id)
    assert [(r.aggregate_version, r.command_id) for r in history[2:]] == [(3, mine), (4, theirs)]
    assert first.aggregates.reused == 1  # it did decide on the kept state first
    found = await find_status(redis, settings, theirs)
    assert found is not None and (found.status, found.attempts) == ("succeeded", 1)


async def test_with_no_cache_every_batch_loads(redis: Redis, settings: Settings) -> None:
    worker = consumer_of(redis, replace(settings, state_cache_size=0), "w1")
    await worker.prepare()
    registered, command = await register(redis, settings)
    await drain(worker)
    await login(redis, settings, command.user_id, registered.aggregate_id, 1)
    await drain(worker)
    assert worker.aggregates.reused == 0
    assert worker.aggregates.kept == {}

"""The command consumer in-process against a real redis-server: delivery, retries, poison, stop.

Real server only: consumer groups, pending entries, idle times and XAUTOCLAIM are what is under
test here, and those are Redis behaviours fakeredis only imitates.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import msgspec
import pytest
from redis.asyncio import Redis

from domain import identity
from domain.aggregate import Context
from domain.registry import AGGREGATES
from events.codec import encoder, envelope_decoder, record_decoder, result_decoder
from events.commands import Command, RecordLogin, RegisterUser
from events.envelope import Envelope, ErrorInfo, EventRecord, PublicEvent, Result
from events.events import Event, UserLoggedIn
from infra import keys
from infra.command_log import CommandStatus, envelope_for, find_status, submit
from infra.event_store import load_history
from infra.identity import registration
from infra.settings import Settings
from infra.streams import Entry
from tests.infra.interference_support import InterferingConsumer, intruding
from worker.commands import CommandConsumer
from worker.deps import Deps

HASH = "$argon2id$v=19$fake-hash-never-shown"


@pytest.fixture
async def consumer(settings: Settings, redis: Redis) -> CommandConsumer:
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1"))
    await consumer.prepare()
    return consumer


@pytest.fixture
async def other_client(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def register(
    redis: Redis, settings: Settings, email: str = "alice@example.com"
) -> tuple[Envelope, RegisterUser]:
    command, aggregate_id = registration(
        email=email, password_hash=HASH, display_name=None, partitions=settings.partitions
    )
    envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    assert await submit(redis, settings, envelope)
    return envelope, command


async def status(redis: Redis, settings: Settings, envelope: Envelope) -> CommandStatus:
    found = await find_status(redis, settings, envelope.command_id)
    assert found is not None
    return found


async def results(redis: Redis, partition: int) -> list[Result]:
    return [
        result_decoder.decode(fields[b"r"])
        for _, fields in await redis.xrange(keys.results(partition))
    ]


async def partition_log(redis: Redis, partition: int) -> list[EventRecord]:
    return [
        record_decoder.decode(fields[b"e"])
        for _, fields in await redis.xrange(keys.events(partition))
    ]


async def pending_count(redis: Redis, settings: Settings) -> int:
    total = 0
    for partition in range(settings.partitions):
        summary = await redis.xpending(keys.commands(partition), keys.WORKERS_GROUP)
        total += summary["pending"]
    return total


async def drain(consumer: CommandConsumer) -> None:
    while await consumer._read_once(">", block=False):
        pass


async def wait_until_idle(redis: Redis, stream: str, entry_id: bytes, idle_ms: int) -> None:
    """Polls XPENDING until the entry has been idle for `idle_ms`: no event tells us so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while loop.time() < deadline:
        [row] = await redis.xpending_range(
            stream, keys.WORKERS_GROUP, min=entry_id, max=entry_id, count=1
        )
        if row["time_since_delivered"] >= idle_ms:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{entry_id!r} never became idle for {idle_ms} ms")


async def test_a_registration_succeeds_with_only_its_public_event_in_the_result(
    redis: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    env, command = await register(redis, settings)

    assert await consumer._read_once(">", block=False) == 1

    found = await status(redis, settings, env)
    assert found.status == "succeeded"
    assert found.events == [
        PublicEvent(
            event="UserRegistered",
            data={
                "user_id": command.user_id,
                "email": "alice@example.com",
                "given_name": "alice",
                "family_name": None,
                "roles": ["customer"],
            },
        )
    ]
    [result] = await results(redis, env.partition)
    assert [e.event for e in result.events] == ["UserRegistered"]
    for _, fields in await redis.xrange(keys.results(env.partition)):
        assert b"UserPasswordSet" not in fields[b"r"]
        assert HASH.encode() not in fields[b"r"]
    history = await load_history(redis, env.partition, env.aggregate_id)
    assert [(r.event, r.aggregate_version) for r in history] == [
        ("UserRegistered", 1),
        ("UserPasswordSet", 2),
    ]
    assert await partition_log(redis, env.partition) == history
    assert await pending_count(redis, settings) == 0


async def test_concurrent_registrations_of_one_email_leave_exactly_one_user(
    redis: Redis, other_client: Redis, settings: Settings
) -> None:
    small_batches = replace(settings, read_count=5)
    envelopes = [(await register(redis, settings, "Same@Example.com"))[0] for _ in range(20)]
    first = CommandConsumer(Deps(settings=small_batches, redis=redis, consumer="c1"))
    second = CommandConsumer(Deps(settings=small_batches, redis=other_client, consumer="c2"))
    await first.prepare()
    await second.prepare()

    await asyncio.gather(drain(first), drain(second))

    statuses = [await status(redis, settings, env) for env in envelopes]
    succeeded = [env for env, s in zip(envelopes, statuses, strict=True) if s.status == "succeeded"]
    assert len(succeeded) == 1
    rejected = [s for s in statuses if s.status != "succeeded"]
    assert [(s.status, s.error and s.error.code) for s in rejected] == [
        ("rejected", "email_taken")
    ] * 19
    [winner] = succeeded
    partition = winner.partition
    assert {env.partition for env in envelopes} == {partition}
    owner = await redis.get(keys.claim(partition, "email:same@example.com"))
    assert owner == winner.aggregate_id.removeprefix("user:").encode()
    assert [r.aggregate_id for r in await partition_log(redis, partition)] == [
        winner.aggregate_id
    ] * 2
    for env in envelopes:
        if env is not winner:
            assert await load_history(redis, partition, env.aggregate_id) == []
    assert len(await results(redis, partition)) == 20
    assert await pending_count(redis, settings) == 0


async def test_a_version_conflict_is_decided_again_on_the_new_history_without_duplicates(
    redis: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    registered, command = await register(redis, settings)
    await consumer._read_once(">", block=False)
    login = envelope_for(
        settings=settings,
        command=RecordLogin(user_id=command.user_id, session_id="s-mine"),
        aggregate_id=registered.aggregate_id,
    )
    assert await submit(redis, settings, login)
    intruder = intruding(
        UserLoggedIn(user_id=command.user_id, session_id="s-x"), registered.aggregate_id, 3
    )
    interfering = InterferingConsumer(Deps(settings=settings, redis=redis, consumer="c1"), intruder)

    assert await interfering._read_once(">", block=False) == 1

    assert interfering.loads == 2
    assert (await status(redis, settings, login)).status == "succeeded"
    history = await load_history(redis, login.partition, login.aggregate_id)
    assert [(r.event, r.aggregate_version, r.command_id) for r in history] == [
        ("UserRegistered", 1, registered.command_id),
        ("UserPasswordSet", 2, registered.command_id),
        ("UserLoggedIn", 3, "someone-elses-command"),
        ("UserLoggedIn", 4, login.command_id),
    ]
    mine = [
        r for r in await partition_log(redis, login.partition) if r.command_id == login.command_id
    ]
    assert [(r.event, r.aggregate_version) for r in mine] == [("UserLoggedIn", 4)]
    assert len(await results(redis, login.partition)) == 2
    assert await pending_count(redis, settings) == 0


async def test_a_decision_built_on_an_earlier_one_of_its_batch_falls_with_it(
    redis: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    """Two logins in one batch: the second is decided on the state the first leaves. When
    another writer appends one event in the meantime, the first conflicts, and the second
    (whose expected version now matches by count alone) must not commit on a state that never
    was: both are decided again, in order, after the intruder."""
    registered, command = await register(redis, settings)
    await consumer._read_once(">", block=False)
    logins = [
        envelope_for(
            settings=settings,
            command=RecordLogin(user_id=command.user_id, session_id=f"s-{i}"),
            aggregate_id=registered.aggregate_id,
        )
        for i in range(2)
    ]
    for login in logins:
        assert await submit(redis, settings, login)
    intruder = intruding(
        UserLoggedIn(user_id=command.user_id, session_id="s-x"), registered.aggregate_id, 3
    )
    interfering = InterferingConsumer(Deps(settings=settings, redis=redis, consumer="c1"), intruder)

    assert await interfering._read_once(">", block=False) == 2

    history = await load_history(redis, registered.partition, registered.aggregate_id)
    assert [(r.aggregate_version, r.command_id) for r in history] == [
        (1, registered.command_id),
        (2, registered.command_id),
        (3, "someone-elses-command"),
        (4, logins[0].command_id),
        (5, logins[1].command_id),
    ]
    for login in logins:
        assert (await status(redis, settings, login)).status == "succeeded"
    assert await pending_count(redis, settings) == 0


async def test_a_done_command_delivered_again_is_acknowledged_without_new_events(
    redis: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    env, _ = await register(redis, settings)
    await consumer._read_once(">", block=False)
    first = await status(redis, settings, env)
    stream = keys.commands(env.partition)
    await redis.xadd(stream, {"e": encoder.encode(env)})  # same command id, a new entry

    assert await consumer._read_once(">", block=False) == 1

    assert await status(redis, settings, env) == first
    assert len(await load_history(redis, env.partition, env.aggregate_id)) == 2
    assert len(await partition_log(redis, env.partition)) == 2
    assert len(await results(redis, env.partition)) == 1
    assert await pending_count(redis, settings) == 0


async def test_a_command_left_pending_by_a_dead_consumer_is_settled_by_another_after_idle_time(
    redis: Redis, settings: Settings
) -> None:
    env, _ = await register(redis, settings)
    live = CommandConsumer(Deps(settings=settings, redis=redis, consumer="live"))
    await live.prepare()
    stream = keys.commands(env.partition)
    reply = await redis.xreadgroup(keys.WORKERS_GROUP, "dead", {stream: ">"}, count=10)
    [[_, [(entry_id, _)]]] = reply  # "dead" read it and then died

    assert await live.reclaim() == 0  # not idle long enough yet: "dead" may still be working
    [row] = await redis.xpending_range(stream, keys.WORKERS_GROUP, min="-", max="+", count=10)
    assert row["consumer"] == b"dead"
    await wait_until_idle(redis, stream, entry_id, settings.claim_idle_ms)

    assert await live.reclaim() == 1

    found = await status(redis, settings, env)
    assert found.status == "succeeded"
    assert len(await load_history(redis, env.partition, env.aggregate_id)) == 2
    assert await pending_count(redis, settings) == 0


async def test_an_entry_deleted_while_pending_is_acknowledged_and_the_rest_reclaimed(
    redis: Redis, settings: Settings
) -> None:
    quick = replace(settings, claim_idle_ms=1)
    env, command = await register(redis, settings, "alice@example.com")
    stream = keys.commands(env.partition)
    trimmed = await redis.xadd(stream, {"e": b"soon gone"})
    later = envelope_for(
        settings=settings,
        command=RecordLogin(user_id=command.user_id, session_id="s"),
        aggregate_id=env.aggregate_id,
    )
    assert await submit(redis, settings, later)
    live = CommandConsumer(Deps(settings=quick, redis=redis, consumer="live"))
    await live.prepare()
    await redis.xreadgroup(keys.WORKERS_GROUP, "dead", {stream: ">"}, count=10)
    await redis.xdel(stream, trimmed)  # e.g. trimmed by MAXLEN while still pending
    last = (await redis.xrange(stream))[-1][0]
    await wait_until_idle(redis, stream, last, quick.claim_idle_ms)

    # Redis 7 drops a deleted entry from the PEL itself; 6.2 hands it over to be acknowledged.
    assert await live.reclaim() in (2, 3)

    assert (await status(redis, settings, env)).status == "succeeded"
    login = await status(redis, settings, later)
    assert (login.status, login.error and login.error.code) == ("succeeded", None)
    assert await redis.xlen(keys.dead_letters(env.partition)) == 0
    assert await pending_count(redis, settings) == 0


async def test_an_undecodable_entry_is_dead_lettered_and_the_stream_keeps_flowing(
    redis: Redis, settings: Settings
) -> None:
    one_at_a_time = CommandConsumer(
        Deps(settings=replace(settings, read_count=1), redis=redis, consumer="c1")
    )
    await one_at_a_time.prepare()
    command, aggregate_id = registration(
        email="alice@example.com",
        password_hash=HASH,
        display_name=None,
        partitions=settings.partitions,
    )
    env = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    stream = keys.commands(env.partition)
    no_envelope = await redis.xadd(stream, {"junk": "1"})
    not_json = await redis.xadd(stream, {"e": "{not json"})
    assert await submit(redis, settings, env)

    await drain(one_at_a_time)

    dead = await redis.xrange(keys.dead_letters(env.partition))
    assert [fields[b"source"] for _, fields in dead] == [no_envelope, not_json]
    for _, fields in dead:
        error = msgspec.json.decode(fields[b"error"], type=ErrorInfo)
        assert error.code == "poison_message"
    [result] = await results(redis, env.partition)  # an entry with no readable id: no result
    assert (result.command_id, result.status) == (env.command_id, "succeeded")
    assert (await status(redis, settings, env)).status == "succeeded"
    assert await pending_count(redis, settings) == 0


async def test_a_history_this_code_cannot_read_fails_only_the_commands_on_it(
    redis: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    """An event written by newer code (v9) in one user's history: the command on that user
    fails with `unreadable_history` (dead-lettered here, where no arq retries it); another
    user's command of the same batch succeeds, and nothing is left pending."""
    stuck, stuck_command = await register(redis, settings, "stuck@example.com")
    await consumer._read_once(">", block=False)
    from_the_future = EventRecord(
        event="UserLoggedIn",
        version=9,
        data=msgspec.Raw(b'{"user_id":"x","session_id":"y","device":"z"}'),
        aggregate_id=stuck.aggregate_id,
        aggregate_version=3,
        command_id="newer-code",
        correlation_id="newer-code",
        causation_id=None,
        actor=None,
        occurred_at=1,
    )
    await redis.rpush(
        keys.history(stuck.partition, stuck.aggregate_id), encoder.encode(from_the_future)
    )
    login = envelope_for(
        settings=settings,
        command=RecordLogin(user_id=stuck_command.user_id, session_id="s-1"),
        aggregate_id=stuck.aggregate_id,
    )
    assert await submit(redis, settings, login)
    fine, _ = await register(redis, settings, "fine@example.com")

    await drain(consumer)

    failed = await status(redis, settings, login)
    assert failed.status == "failed"
    assert [e.code for e in failed.errors] == ["unreadable_history"]
    assert "v9" in failed.errors[0].message
    assert (await status(redis, settings, fine)).status == "succeeded"
    assert await pending_count(redis, settings) == 0


async def test_a_broken_envelope_with_a_readable_id_gets_a_failed_result(
    redis: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    stream = keys.commands(0)
    broken = msgspec.json.encode({"command_id": "cmd-broken", "actor": "u1", "command": "Nope"})
    entry_id = await redis.xadd(stream, {"e": broken})

    await consumer._read_once(">", block=False)

    [(_, dead)] = await redis.xrange(keys.dead_letters(0))
    assert (dead[b"source"], dead[b"entry"]) == (entry_id, broken)
    [result] = await results(redis, 0)
    assert (result.command_id, result.status, result.actor) == ("cmd-broken", "failed", "u1")
    assert result.error is not None and result.error.code == "poison_message"
    assert (await find_status(redis, settings, "cmd-broken")) is not None
    assert await pending_count(redis, settings) == 0


async def test_commands_and_poison_still_settle_after_the_server_forgot_the_scripts(
    redis: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    env, _ = await register(redis, settings)
    poison = await redis.xadd(keys.commands(env.partition), {"e": "{not json"})
    await redis.script_flush()  # what a restarted (or failed-over) server does to its cache

    assert await consumer._read_once(">", block=False) == 2

    assert (await status(redis, settings, env)).status == "succeeded"
    [(_, dead)] = await redis.xrange(keys.dead_letters(env.partition))
    assert dead[b"source"] == poison
    assert await pending_count(redis, settings) == 0


async def test_a_handler_exception_dead_letters_only_that_command(
    redis: Redis, settings: Settings, consumer: CommandConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def decide(state: identity.User | None, command: Command, ctx: Context) -> list[Event]:
        if isinstance(command, RegisterUser) and command.email == "bob@example.com":
            raise RuntimeError("boom")
        return identity.decide(state, command, ctx)

    monkeypatch.setitem(AGGREGATES, "user", replace(identity.RULES, decide=decide))
    alice, _ = await register(redis, settings, "alice@example.com")
    bob, _ = await register(redis, settings, "bob@example.com")
    carol, _ = await register(redis, settings, "carol@example.com")

    assert await consumer._read_once(">", block=False) == 3

    failed = await status(redis, settings, bob)
    assert failed.status == "failed"
    assert failed.error == ErrorInfo(code="handler_error", message="RuntimeError: boom")
    [(_, dead)] = await redis.xrange(keys.dead_letters(bob.partition))
    assert envelope_decoder.decode(dead[b"entry"]).command_id == bob.command_id
    assert await load_history(redis, bob.partition, bob.aggregate_id) == []
    assert await redis.exists(keys.claim(bob.partition, "email:bob@example.com")) == 0
    for env in (alice, carol):
        assert (await status(redis, settings, env)).status == "succeeded"
        assert len(await load_history(redis, env.partition, env.aggregate_id)) == 2
    assert await pending_count(redis, settings) == 0


async def test_a_running_consumer_settles_new_commands_and_returns_when_stopped(
    redis: Redis, other_client: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    task = asyncio.create_task(consumer.run())
    try:
        env, _ = await register(redis, settings)
        reply = await other_client.xread({keys.results(env.partition): "0-0"}, block=5000)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=5)

    [[_, [(_, fields)]]] = reply
    assert result_decoder.decode(fields[b"r"]).command_id == env.command_id
    assert (await status(redis, settings, env)).status == "succeeded"


class StoppedMidBatch(CommandConsumer):
    """Receives its stop signal just as a batch starts; a command arrives right after it."""

    late: Envelope | None = None

    async def process(self, entries: list[tuple[int, Entry]], *, reclaimed: bool = False) -> None:
        self.stop()
        if self.late is None:
            self.late, _ = await register(self.redis, self.settings, "late@example.com")
        await super().process(entries, reclaimed=reclaimed)


async def test_a_stop_during_a_batch_returns_only_after_the_whole_batch_is_settled(
    redis: Redis, settings: Settings
) -> None:
    envelopes = [(await register(redis, settings, f"user{i}@example.com"))[0] for i in range(5)]
    consumer = StoppedMidBatch(Deps(settings=settings, redis=redis, consumer="c1"))

    await asyncio.wait_for(consumer.run(), timeout=5)

    for env in envelopes:
        assert (await status(redis, settings, env)).status == "succeeded"
    assert consumer.late is not None
    assert (await status(redis, settings, consumer.late)).status == "accepted"  # never read
    assert await pending_count(redis, settings) == 0

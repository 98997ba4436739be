"""The Lua submit, commit and dead-letter scripts against Redis itself: all or nothing.

Every test runs on a real redis-server and on fakeredis (with Lua); where they differ, the real
server is right.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import fakeredis
import msgspec
import pytest
from redis.asyncio import Redis

from events.codec import encoder, envelope_decoder, record_decoder, result_decoder
from events.commands import ChangeDisplayName, RegisterUser
from events.envelope import Envelope, ErrorInfo, EventRecord, PublicEvent, Result
from events.events import DisplayNameChanged, Event, UserPasswordSet, UserRegistered
from events.names import split_display_name
from infra import keys, scripts
from infra.command_log import envelope_for, submit
from infra.dead_letters import queue_dead_letter
from infra.event_store import (
    Commit,
    load_history,
    parse_outcome,
    queue_commit,
    queue_commits,
)
from infra.identity import registration
from infra.partition_calls import per_item
from infra.settings import Settings
from infra.streams import ensure_group, flatten_read

HASH = "$argon2id$v=19$fake-hash"
OWNER = "c1"


@pytest.fixture
async def fake_redis() -> AsyncIterator[Redis]:
    client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(version=(6, 2)))
    yield client
    await client.aclose()


@pytest.fixture(params=["real", "fake"])
def store(request: pytest.FixtureRequest) -> Redis:
    """The same client API over a real redis-server (flushed) or a fresh fakeredis server."""
    client: Redis = request.getfixturevalue("redis" if request.param == "real" else "fake_redis")
    return client


@dataclass(frozen=True)
class Pending:
    """A RegisterUser submitted and read by consumer `c1`, not yet acknowledged."""

    envelope: Envelope
    command: RegisterUser
    entry_id: str

    @property
    def partition(self) -> int:
        return self.envelope.partition

    @property
    def claim(self) -> str:
        return f"email:{self.command.email}"


async def pending_registration(
    store: Redis, settings: Settings, email: str = "alice@example.com"
) -> Pending:
    await scripts.load_all(store)
    command, aggregate_id = registration(
        email=email, password_hash=HASH, display_name=None, partitions=settings.partitions
    )
    envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    stream = keys.commands(envelope.partition)
    await ensure_group(store, stream, keys.WORKERS_GROUP)
    assert await submit(store, settings, envelope)
    return Pending(envelope, command, await read_one(store, stream))


async def read_one(store: Redis, stream: str) -> str:
    reply = await store.xreadgroup(keys.WORKERS_GROUP, OWNER, {stream: ">"}, count=1)
    [(_, [(entry_id, _)])] = flatten_read(reply)
    return entry_id


async def deliver_again(store: Redis, pending: Pending) -> str:
    """The same envelope appended and read once more, as a redelivery would bring it."""
    stream = keys.commands(pending.partition)
    await store.xadd(stream, {"e": encoder.encode(pending.envelope)})
    return await read_one(store, stream)


def records(env: Envelope, *events: Event, after: int = 0) -> list[EventRecord]:
    return [
        EventRecord(
            event=type(event).__name__,
            version=type(event).version,
            data=msgspec.Raw(encoder.encode(event)),
            aggregate_id=env.aggregate_id,
            aggregate_version=after + i + 1,
            command_id=env.command_id,
            correlation_id=env.correlation_id,
            causation_id=env.command_id,
            actor=env.actor,
            occurred_at=1,
        )
        for i, event in enumerate(events)
    ]


def registered(pending: Pending) -> UserRegistered:
    c = pending.command
    given_name, family_name = split_display_name(c.display_name)
    return UserRegistered(
        user_id=c.user_id,
        email=c.email,
        given_name=given_name,
        family_name=family_name,
        roles=c.roles,
    )


def success(pending: Pending, entry_id: str | None = None, expected: int = 0) -> Commit:
    """What a worker commits for a first registration: both events, one public, and the claim."""
    env = pending.envelope
    event = registered(pending)
    return Commit(
        envelope=env,
        entry_id=entry_id or pending.entry_id,
        result=Result(
            command_id=env.command_id,
            status="succeeded",
            events=[
                PublicEvent(event="UserRegistered", data=msgspec.json.decode(encoder.encode(event)))
            ],
            aggregate_id=env.aggregate_id,
            completed_at=2,
            attempts=1,
        ),
        expected_version=expected,
        records=records(
            env, event, UserPasswordSet(user_id=pending.command.user_id, password_hash=HASH)
        ),
        claims={pending.claim: pending.command.user_id},
    )


def rejection(pending: Pending, entry_id: str | None = None) -> Commit:
    env = pending.envelope
    return Commit(
        envelope=env,
        entry_id=entry_id or pending.entry_id,
        result=Result(
            command_id=env.command_id,
            status="rejected",
            error=ErrorInfo(code="email_taken", message="taken"),
            completed_at=2,
            attempts=1,
        ),
        expected_version=0,
    )


async def settle(store: Redis, settings: Settings, commit: Commit) -> list[Any]:
    async with store.pipeline(transaction=False) as pipe:
        queue_commit(
            pipe,
            commit,
            group=keys.WORKERS_GROUP,
            status_ttl=settings.result_ttl_seconds,
            results_maxlen=settings.results_maxlen,
        )
        [[reply]] = await pipe.execute()  # a batch of one
    reply_list: list[Any] = reply
    return reply_list


async def dead_letter(
    store: Redis, settings: Settings, pending: Pending, entry_id: str, command_id: str | None
) -> None:
    async with store.pipeline(transaction=False) as pipe:
        queue_dead_letter(
            pipe,
            partition=pending.partition,
            entry_id=entry_id,
            raw_entry=encoder.encode(pending.envelope),
            error=ErrorInfo(code="handler_error", message="RuntimeError: boom"),
            command_id=command_id,
            group=keys.WORKERS_GROUP,
            status_ttl=settings.result_ttl_seconds,
            results_maxlen=settings.results_maxlen,
        )
        await pipe.execute()


async def state(store: Redis, pending: Pending) -> dict[str, Any]:
    """Every key a commit may write, as it stands."""
    p = pending.partition
    return {
        "history": await store.lrange(keys.history(p, pending.envelope.aggregate_id), 0, -1),
        "events": await store.xrange(keys.events(p)),
        "results": await store.xrange(keys.results(p)),
        "dead": await store.xrange(keys.dead_letters(p)),
        "status": await store.hgetall(keys.command_status(p, pending.envelope.command_id)),
        "claim": await store.get(keys.claim(p, pending.claim)),
        "pending": await pending_ids(store, pending),
    }


async def pending_ids(store: Redis, pending: Pending) -> list[bytes]:
    rows = await store.xpending_range(
        keys.commands(pending.partition), keys.WORKERS_GROUP, min="-", max="+", count=100
    )
    return [row["message_id"] for row in rows]


async def status_of(store: Redis, pending: Pending) -> bytes | None:
    status: bytes | None = await store.hget(
        keys.command_status(pending.partition, pending.envelope.command_id), "status"
    )
    return status


async def results_in(store: Redis, pending: Pending) -> list[Result]:
    return [
        result_decoder.decode(fields[b"r"])
        for _, fields in await store.xrange(keys.results(pending.partition))
    ]


async def test_a_command_is_appended_once_per_command_id(store: Redis, settings: Settings) -> None:
    command, aggregate_id = registration(
        email="alice@example.com",
        password_hash=HASH,
        display_name=None,
        partitions=settings.partitions,
    )
    envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    stream = keys.commands(envelope.partition)

    assert await submit(store, settings, envelope) is True
    assert await submit(store, settings, envelope) is False

    entries = await store.xrange(stream)
    assert len(entries) == 1
    assert envelope_decoder.decode(entries[0][1][b"e"]) == envelope
    status_key = keys.command_status(envelope.partition, envelope.command_id)
    assert await store.hgetall(status_key) == {
        b"status": b"accepted",
        b"command": b"RegisterUser",
        b"submitted_at": str(envelope.submitted_at).encode(),
        b"actor": b"",
        b"aggregate_id": aggregate_id.encode(),
        b"correlation_id": envelope.command_id.encode(),
        b"causation_id": b"",
    }
    assert 0 < await store.ttl(status_key) <= settings.result_ttl_seconds

    other = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    assert await submit(store, settings, other) is True
    assert await store.xlen(stream) == 2


async def test_a_commit_appends_the_events_records_the_result_claims_and_acknowledges(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)
    commit = success(pending)

    reply = await settle(store, settings, commit)

    outcome = parse_outcome(reply)
    assert outcome.kind == "ok"
    p, env = pending.partition, pending.envelope
    log = await store.xrange(keys.events(p))
    assert outcome.event_ids == tuple(entry_id.decode() for entry_id, _ in log)
    assert [record_decoder.decode(fields[b"e"]) for _, fields in log] == list(commit.records)
    assert await load_history(store, p, env.aggregate_id) == list(commit.records)
    assert await results_in(store, pending) == [commit.result]
    status_key = keys.command_status(p, env.command_id)
    status = await store.hgetall(status_key)
    assert status[b"status"] == b"succeeded"
    assert result_decoder.decode(status[b"result"]) == commit.result
    assert status[b"command"] == b"RegisterUser"  # what submit recorded stays
    assert 0 < await store.ttl(status_key) <= settings.result_ttl_seconds
    assert await store.get(keys.claim(p, pending.claim)) == pending.command.user_id.encode()
    assert await pending_ids(store, pending) == []


async def test_a_commit_with_a_wrong_expected_version_writes_nothing(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)
    env = pending.envelope
    history_key = keys.history(pending.partition, env.aggregate_id)
    [foreign] = records(env, registered(pending))
    await store.rpush(history_key, encoder.encode(foreign))  # someone else got there first
    before = await state(store, pending)

    reply = await settle(store, settings, success(pending, expected=0))

    assert reply == [b"conflict", 1]
    assert parse_outcome(reply).kind == "conflict"
    assert await state(store, pending) == before
    assert await load_history(store, pending.partition, env.aggregate_id) == [foreign]
    assert await store.exists(keys.events(pending.partition)) == 0
    assert await store.exists(keys.results(pending.partition)) == 0
    assert await status_of(store, pending) == b"accepted"
    assert await store.exists(keys.claim(pending.partition, pending.claim)) == 0
    assert await pending_ids(store, pending) == [pending.entry_id.encode()]


async def test_a_done_command_committed_again_is_a_duplicate_that_writes_no_events(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)
    assert parse_outcome(await settle(store, settings, success(pending))).kind == "ok"
    again = await deliver_again(store, pending)
    before = await state(store, pending)
    assert before["pending"] == [again.encode()]

    # Even decided from the stale version it first saw, the done mark answers first.
    reply = await settle(store, settings, success(pending, entry_id=again, expected=0))

    assert parse_outcome(reply).kind == "duplicate"
    after = await state(store, pending)
    assert after["pending"] == []
    assert {**after, "pending": None} == {**before, "pending": None}
    assert len(after["history"]) == 2
    assert len(after["events"]) == 2
    assert len(after["results"]) == 1
    assert after["status"][b"status"] == b"succeeded"


async def test_a_claim_owned_by_someone_else_writes_nothing(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)
    await store.set(keys.claim(pending.partition, pending.claim), "user-bob")
    before = await state(store, pending)

    reply = await settle(store, settings, success(pending))

    assert reply == [b"claimed", 1, b"user-bob"]
    assert parse_outcome(reply).kind == "claimed"
    assert await state(store, pending) == before
    assert before["history"] == before["events"] == before["results"] == []
    assert await status_of(store, pending) == b"accepted"
    assert await pending_ids(store, pending) == [pending.entry_id.encode()]


async def test_a_claim_already_held_by_the_same_owner_lets_the_commit_through(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)
    await store.set(keys.claim(pending.partition, pending.claim), pending.command.user_id)

    reply = await settle(store, settings, success(pending))

    assert parse_outcome(reply).kind == "ok"
    assert (
        len(
            await store.lrange(
                keys.history(pending.partition, pending.envelope.aggregate_id), 0, -1
            )
        )
        == 2
    )


async def test_a_rejection_records_a_result_and_acknowledges_without_events(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)
    commit = rejection(pending)

    reply = await settle(store, settings, commit)

    assert reply == [b"ok"]
    after = await state(store, pending)
    assert after["history"] == after["events"] == []
    assert after["claim"] is None
    assert await results_in(store, pending) == [commit.result]
    assert after["status"][b"status"] == b"rejected"
    assert result_decoder.decode(after["status"][b"result"]) == commit.result
    assert after["pending"] == []


async def test_dead_lettering_moves_the_entry_aside_with_a_failed_result_and_acknowledges(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)
    env = pending.envelope

    await dead_letter(store, settings, pending, pending.entry_id, env.command_id)

    after = await state(store, pending)
    [(_, dead)] = after["dead"]
    assert dead[b"source"] == pending.entry_id.encode()
    assert envelope_decoder.decode(dead[b"entry"]) == env
    assert msgspec.json.decode(dead[b"error"], type=ErrorInfo) == ErrorInfo(
        code="handler_error", message="RuntimeError: boom"
    )
    [result] = await results_in(store, pending)
    assert (result.command_id, result.status, result.error) == (
        env.command_id,
        "failed",
        ErrorInfo(code="handler_error", message="RuntimeError: boom"),
    )
    assert after["status"][b"status"] == b"failed"
    assert result_decoder.decode(after["status"][b"result"]) == result
    assert after["history"] == after["events"] == []
    assert after["pending"] == []


async def test_dead_lettering_an_entry_without_a_readable_id_records_no_result(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)

    await dead_letter(store, settings, pending, pending.entry_id, command_id=None)

    after = await state(store, pending)
    assert len(after["dead"]) == 1
    assert after["results"] == []
    assert await store.exists(keys.command_status(pending.partition, "-")) == 0
    assert after["status"][b"status"] == b"accepted"  # nobody could tell which command it was
    assert after["pending"] == []


async def test_dead_lettering_a_settled_command_keeps_its_final_result(
    store: Redis, settings: Settings
) -> None:
    pending = await pending_registration(store, settings)
    commit = rejection(pending)
    await settle(store, settings, commit)
    again = await deliver_again(store, pending)

    await dead_letter(store, settings, pending, again, pending.envelope.command_id)

    after = await state(store, pending)
    assert len(after["dead"]) == 1
    assert await results_in(store, pending) == [commit.result]
    assert after["status"][b"status"] == b"rejected"
    assert after["pending"] == []


async def test_one_call_settles_a_partitions_batch_and_a_failed_check_stops_only_its_command(
    store: Redis, settings: Settings
) -> None:
    settings = replace(settings, partitions=1)  # the three in one partition: one call
    first, middle, last = [
        await pending_registration(store, settings, f"{name}@example.com")
        for name in ("ann", "bob", "cy")
    ]
    [foreign] = records(middle.envelope, registered(middle))
    await store.rpush(keys.history(0, middle.envelope.aggregate_id), encoder.encode(foreign))
    commits = [success(first), success(middle, expected=0), success(last)]

    async with store.pipeline(transaction=False) as pipe:
        layout = queue_commits(
            pipe,
            commits,
            group=keys.WORKERS_GROUP,
            status_ttl=settings.result_ttl_seconds,
            results_maxlen=settings.results_maxlen,
        )
        replies = await pipe.execute()

    assert layout == [[0, 1, 2]] and len(replies) == 1
    kinds = [parse_outcome(r).kind for r in per_item(replies, layout, 3)]
    assert kinds == ["ok", "conflict", "ok"]
    assert await status_of(store, first) == b"succeeded"
    assert await status_of(store, middle) == b"accepted"
    assert await status_of(store, last) == b"succeeded"
    logged = [record_decoder.decode(f[b"e"]) for _, f in await store.xrange(keys.events(0))]
    assert [r.command_id for r in logged] == [first.envelope.command_id] * 2 + [
        last.envelope.command_id
    ] * 2
    assert await pending_ids(store, middle) == [middle.entry_id.encode()]


async def test_a_decision_on_top_of_a_command_found_done_is_sent_back_to_be_decided_again(
    store: Redis, settings: Settings
) -> None:
    # Another worker settled the registration first, with events of its own deciding. A rename
    # decided in the same batch on top of this worker's registration must not go in on them,
    # though the history ends with that command's events and has the length it expects.
    first = await pending_registration(store, settings)
    assert (await settle(store, settings, success(first)))[0] == b"ok"
    rename = ChangeDisplayName(user_id=first.command.user_id, display_name="Ann")
    env = envelope_for(settings=settings, command=rename, aggregate_id=first.envelope.aggregate_id)
    assert await submit(store, settings, env)
    rename_entry = await read_one(store, keys.commands(env.partition))
    on_top = Commit(
        envelope=env,
        entry_id=rename_entry,
        result=Result(command_id=env.command_id, status="succeeded", completed_at=3, attempts=1),
        expected_version=2,
        after_command=first.envelope.command_id,
        records=records(
            env, DisplayNameChanged(user_id=rename.user_id, display_name="Ann"), after=2
        ),
    )
    redelivered = await deliver_again(store, first)

    async with store.pipeline(transaction=False) as pipe:
        layout = queue_commits(
            pipe,
            [success(first, redelivered), on_top],
            group=keys.WORKERS_GROUP,
            status_ttl=settings.result_ttl_seconds,
            results_maxlen=settings.results_maxlen,
        )
        replies = await pipe.execute()

    kinds = [parse_outcome(r).kind for r in per_item(replies, layout, 2)]
    assert kinds == ["duplicate", "conflict"]
    history = await store.lrange(keys.history(env.partition, env.aggregate_id), 0, -1)
    assert len(history) == 2
    assert await store.hget(keys.command_status(env.partition, env.command_id), "status") == (
        b"accepted"
    )

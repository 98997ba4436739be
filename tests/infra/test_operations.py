"""The operator tools against a real redis-server: dead letters listed, shown, redriven, purged,
and the streams' numbers (Redis 6.2 and 7 alike)."""

import json

import pytest
from redis.asyncio import Redis

from events.codec import encoder, envelope_decoder
from events.envelope import Envelope
from infra import keys, operations
from infra.command_log import find_status
from infra.event_store import load_history
from infra.redaction import REDACTED
from infra.scripts import COUNT_AFTER
from infra.settings import Settings
from infra.streams import ensure_group
from tests.infra.operations_support import (
    HASH,
    dead_lettered,
    drain,
    emails_on,
    failing,
    fixed,
    poison,
    register,
)


async def status_of(redis: Redis, settings: Settings, envelope: Envelope) -> tuple[str, int]:
    found = await find_status(redis, settings, envelope.command_id)
    assert found is not None
    return found.status, found.attempts


async def dead_ids(redis: Redis, settings: Settings) -> list[str]:
    listing = await operations.list_dead_letters(redis, settings, limit=100)
    return [item.id for item in listing.items]


async def test_dead_letters_are_listed_newest_first_with_command_attempts_and_last_error(
    redis: Redis, settings: Settings
) -> None:
    alice, bob = await dead_lettered(redis, settings, "alice@example.com", "bob@example.com")

    listing = await operations.list_dead_letters(redis, settings)

    assert listing.total == 2
    assert [item.command_id for item in listing.items] == [bob.command_id, alice.command_id]
    newest = listing.items[0]
    assert newest.id.startswith(f"{bob.partition}-")
    assert (newest.command, newest.attempts) == ("RegisterUser", 1)
    assert newest.error.code == "transient"
    assert "injected fault" in newest.error.message
    assert newest.at > 0
    limited = await operations.list_dead_letters(redis, settings, limit=1)
    assert ([item.id for item in limited.items], limited.total) == ([newest.id], 2)
    assert await status_of(redis, settings, bob) == ("failed", 1)


async def test_show_gives_the_envelope_and_every_error_but_never_the_password_hash(
    redis: Redis, settings: Settings
) -> None:
    [alice] = await dead_lettered(redis, settings, "alice@example.com")
    [listed] = (await operations.list_dead_letters(redis, settings)).items

    by_id = await operations.show_dead_letter(redis, settings, listed.id)
    by_command_id = await operations.show_dead_letter(redis, settings, alice.command_id)

    assert by_id == by_command_id
    assert (by_id.status, by_id.redrivable, by_id.raw) == ("failed", True, None)
    assert by_id.envelope is not None
    assert by_id.envelope["command_id"] == alice.command_id
    assert by_id.envelope["payload"]["email"] == "alice@example.com"
    assert by_id.envelope["payload"]["password_hash"] == REDACTED
    [error] = by_id.errors
    assert (error.attempt, error.code, error.type) == (1, "transient", "TransientError")
    assert error.at > 0
    assert HASH not in json.dumps(by_id.to_json())
    assert "the-hash-nobody-may-see" not in json.dumps(by_id.to_json())


async def test_a_redriven_command_succeeds_exactly_once_after_the_fix(
    redis: Redis, settings: Settings
) -> None:
    [alice] = await dead_lettered(redis, settings, "alice@example.com")
    [listed] = (await operations.list_dead_letters(redis, settings)).items
    stream = keys.commands(alice.partition)
    before = await redis.xlen(stream)

    done = await operations.redrive(redis, settings, listed.id)

    assert (done.outcome, done.status, done.command_id) == (
        "redriven",
        "accepted",
        alice.command_id,
    )
    assert await dead_ids(redis, settings) == []
    assert await status_of(redis, settings, alice) == ("accepted", 0)
    assert await redis.xlen(stream) == before + 1
    [(entry_id, fields)] = await redis.xrevrange(stream, count=1)
    assert entry_id.decode() == done.entry_id
    again = envelope_decoder.decode(fields[b"e"])
    assert (again.command_id, again.attempts, again.errors) == (alice.command_id, 0, ())

    assert await drain(await fixed(redis, settings)) == 1

    assert await status_of(redis, settings, alice) == ("succeeded", 1)
    history = await load_history(redis, alice.partition, alice.aggregate_id)
    assert [record.event for record in history] == ["UserRegistered", "UserPasswordSet"]
    assert await redis.xlen(keys.events(alice.partition)) == 2
    with pytest.raises(operations.DeadLetterNotFound):
        await operations.redrive(redis, settings, listed.id)


async def test_redriving_a_command_settled_meanwhile_removes_the_letter_and_appends_nothing(
    redis: Redis, settings: Settings
) -> None:
    alice = await register(redis, settings, "alice@example.com")
    await drain(await fixed(redis, settings))
    # A second delivery of the same command (a retry racing its first settlement) hits the bug:
    # dead-lettered, while the command keeps its `succeeded` status.
    stream = keys.commands(alice.partition)
    await redis.xadd(stream, {"e": encoder.encode(alice)})
    await drain(await failing(redis, settings))
    assert await status_of(redis, settings, alice) == ("succeeded", 1)
    length = await redis.xlen(stream)

    done = await operations.redrive(redis, settings, alice.command_id)

    assert (done.outcome, done.status) == ("already_settled", "succeeded")
    assert await redis.xlen(stream) == length
    assert await dead_ids(redis, settings) == []
    assert len(await load_history(redis, alice.partition, alice.aggregate_id)) == 2


async def test_redrive_all_puts_every_command_back_and_leaves_poison_in_place(
    redis: Redis, settings: Settings
) -> None:
    envelopes = await dead_lettered(redis, settings, "alice@example.com", "bob@example.com")
    await poison(redis, settings, partition=1)
    [poisoned] = [
        item
        for item in (await operations.list_dead_letters(redis, settings)).items
        if item.command is None
    ]

    summary = await operations.redrive_all(redis, settings)

    assert summary.to_json() == {
        "redriven": 2,
        "already_settled": 0,
        "already_queued": 0,
        "not_redrivable": [poisoned.id],
    }
    assert await dead_ids(redis, settings) == [poisoned.id]
    assert await drain(await fixed(redis, settings)) == 2
    for envelope in envelopes:
        assert await status_of(redis, settings, envelope) == ("succeeded", 1)


async def test_redrive_all_does_not_redrive_twice_a_command_that_failed_again(
    redis: Redis, settings: Settings
) -> None:
    [alice] = await dead_lettered(redis, settings, "alice@example.com")
    assert (await operations.redrive_all(redis, settings)).redriven == 1
    await drain(await failing(redis, settings))  # not fixed after all

    [again] = (await operations.list_dead_letters(redis, settings)).items

    assert again.command_id == alice.command_id
    assert await status_of(redis, settings, alice) == ("failed", 1)


async def test_a_poison_entry_cannot_be_redriven_but_can_be_shown_and_purged(
    redis: Redis, settings: Settings
) -> None:
    source = await poison(redis, settings, partition=2)
    [item] = (await operations.list_dead_letters(redis, settings)).items
    assert (item.source, item.command, item.command_id) == (source, None, None)
    assert item.error.code == "poison_message"

    with pytest.raises(operations.NotRedrivable):
        await operations.redrive(redis, settings, item.id)

    detail = await operations.show_dead_letter(redis, settings, item.id)
    assert (detail.redrivable, detail.envelope) == (False, None)
    assert detail.raw is not None and "{not json" in detail.raw
    assert await operations.purge(redis, settings, item.id) == 1
    assert await dead_ids(redis, settings) == []


async def test_a_command_in_another_partitions_dead_letters_is_not_redriven_there(
    redis: Redis, settings: Settings
) -> None:
    alice = await register(redis, settings, "alice@example.com")
    elsewhere = (alice.partition + 1) % settings.partitions
    # Misfiled by hand: redriving it there would append to the wrong partition's history.
    await redis.xadd(
        keys.dead_letters(elsewhere),
        {"command_id": alice.command_id, "entry": encoder.encode(alice), "attempts": 1},
    )

    with pytest.raises(operations.NotRedrivable, match=f"partition {alice.partition}, not"):
        await operations.redrive(redis, settings, alice.command_id)

    assert (await operations.redrive_all(redis, settings)).redriven == 0
    assert len(await dead_ids(redis, settings)) == 1


async def test_purge_deletes_every_dead_letter_and_the_commands_stay_failed(
    redis: Redis, settings: Settings
) -> None:
    envelopes = await dead_lettered(
        redis, settings, "a@example.com", "b@example.com", "c@example.com"
    )
    await poison(redis, settings)

    assert await operations.purge(redis, settings) == 4

    assert await dead_ids(redis, settings) == []
    assert await operations.purge(redis, settings) == 0
    for envelope in envelopes:
        assert (await status_of(redis, settings, envelope))[0] == "failed"


@pytest.mark.parametrize(
    "ref", ["0-1-0", "9-1-0", "nope", "8c1c7f4e-6a3e-4a8e-9b1e-0d7c2f9e1a11", ""]
)
async def test_an_unknown_id_is_not_found(redis: Redis, settings: Settings, ref: str) -> None:
    await dead_lettered(redis, settings, "alice@example.com")
    for operation in (operations.show_dead_letter, operations.redrive, operations.purge):
        with pytest.raises(operations.DeadLetterNotFound):
            await operation(redis, settings, ref)
    assert len(await dead_ids(redis, settings)) == 1


async def test_stream_stats_give_lengths_pending_lag_and_dead_letters_per_partition(
    redis: Redis, settings: Settings
) -> None:
    p = 3
    first, second, third, fourth = emails_on(p, 4, settings)
    for partition in range(settings.partitions):
        await ensure_group(redis, keys.events(partition), keys.PROJECTOR_GROUP)
    await dead_lettered(redis, settings, first)
    await register(redis, settings, second)
    await drain(await fixed(redis, settings))
    await register(redis, settings, third)
    await register(redis, settings, fourth)
    # A worker that took one entry and stalled: one pending, one never delivered.
    reply = await redis.xreadgroup(keys.WORKERS_GROUP, "stalled", {keys.commands(p): ">"}, count=1)
    [[_, [(stalled_id, _)]]] = reply

    report = await operations.stream_stats(redis, settings)

    assert report.redis_version
    stats = report.partitions[p]
    assert (stats.partition, stats.commands.length, stats.dead_letters) == (p, 4, 1)
    workers = stats.commands.group(keys.WORKERS_GROUP)
    assert workers is not None
    assert (workers.consumers, workers.pending, workers.lag, workers.lag_capped) == (3, 1, 1, False)
    assert workers.last_delivered_id == stalled_id.decode()
    assert workers.oldest_pending_age_s is not None and 0 <= workers.oldest_pending_age_s < 60
    assert workers.oldest_pending_idle_s is not None and 0 <= workers.oldest_pending_idle_s < 60
    assert stats.events.length == 2  # UserRegistered and UserPasswordSet of the second
    projector = stats.events.group(keys.PROJECTOR_GROUP)
    assert projector is not None
    assert (projector.pending, projector.lag, projector.consumers) == (0, 2, 0)
    assert projector.oldest_pending_age_s is None
    for other in report.partitions:
        if other.partition != p:
            assert (other.commands.length, other.events.length, other.dead_letters) == (0, 0, 0)
            group = other.commands.group(keys.WORKERS_GROUP)
            assert group is not None and (group.pending, group.lag) == (0, 0)
    assert json.loads(json.dumps(report.to_json()))["partitions"][p]["dead_letters"] == 1


async def test_stream_stats_answer_for_a_store_nothing_ran_on(
    redis: Redis, settings: Settings
) -> None:
    report = await operations.stream_stats(redis, settings)

    assert [(p.commands.length, p.commands.groups, p.dead_letters) for p in report.partitions] == [
        (0, [], 0)
    ] * settings.partitions


async def test_the_lag_count_stops_at_its_cap(redis: Redis) -> None:
    ids = [(await redis.xadd("s", {"n": n})).decode() for n in range(5)]

    assert await COUNT_AFTER(redis, ["s"], ["0-0", 100]) == 5
    assert await COUNT_AFTER(redis, ["s"], [ids[0], 100]) == 4
    assert await COUNT_AFTER(redis, ["s"], [ids[0], 3]) == 3
    assert await COUNT_AFTER(redis, ["s"], [ids[-1], 100]) == 0

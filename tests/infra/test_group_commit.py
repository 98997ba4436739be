"""Group commit against a real redis-server: shared pipelines, each call its own answer."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from events.codec import envelope_decoder
from events.commands import RecordLogin
from events.envelope import Envelope
from infra import keys
from infra.command_log import envelope_for
from infra.embedded_redis import EmbeddedRedis
from infra.errors import Unavailable
from infra.group_commit import GroupCommitter
from infra.redis import connect
from infra.settings import Settings
from tests import redis_servers


def login(settings: Settings, n: int) -> Envelope:
    user_id = f"user-{n}"
    return envelope_for(
        settings=settings,
        command=RecordLogin(user_id=user_id, session_id=f"session-{n}"),
        aggregate_id=f"user:{user_id}",
        actor=user_id,
    )


async def answers(*calls: Awaitable[bool]) -> list[bool | BaseException]:
    """Each call's answer or exception, in order; a call left hanging fails the test."""
    async with asyncio.timeout(10):
        return await asyncio.gather(*calls, return_exceptions=True)


async def appended_ids(redis: Redis, settings: Settings) -> list[str]:
    """The command id of every entry in every partition's command stream."""
    return [
        envelope_decoder.decode(fields[b"e"]).command_id
        for partition in range(settings.partitions)
        for _, fields in await redis.xrange(keys.commands(partition))
    ]


class GatedPipeline(Pipeline):
    """A pipeline that waits for its client's gate before it sends anything."""

    def __init__(self, client: "GatedRedis", transaction: bool, shard_hint: str | None) -> None:
        super().__init__(client.connection_pool, client.response_callbacks, transaction, shard_hint)
        self.owner = client

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        self.owner.sending.set()
        await self.owner.gate.wait()
        return await super().execute(raise_on_error)


class GatedRedis(Redis):
    """A real client whose pipelines hold at a gate: a test decides when a flush is in flight."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.sending = asyncio.Event()

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return GatedPipeline(self, transaction, shard_hint)


@pytest.fixture
async def gated(redis: Redis, redis_server: EmbeddedRedis) -> AsyncIterator[GatedRedis]:
    client = GatedRedis.from_url(redis_server.url)  # `redis` flushed the server already
    yield client
    await client.aclose()


async def test_concurrent_submits_share_a_few_pipelines_and_each_is_appended_once(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    envelopes = [login(settings, n) for n in range(200)]
    assert await answers(*(committer.submit(e) for e in envelopes)) == [True] * 200
    assert committer.flushes <= 10  # one per call would be 200
    appended = await appended_ids(redis, settings)
    assert sorted(appended) == sorted(e.command_id for e in envelopes)


async def test_a_flush_makes_one_script_call_per_partition(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    envelopes = [login(settings, n) for n in range(40)]
    assert len({e.partition for e in envelopes}) == settings.partitions
    await redis.config_resetstat()
    assert await answers(*(committer.submit(e) for e in envelopes)) == [True] * 40
    assert committer.flushes == 1
    stats = await redis.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == settings.partitions
    assert stats["cmdstat_xadd"]["calls"] == 40


async def test_a_known_command_among_new_ones_of_its_partition_leaves_them_appended(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    envelopes = [login(settings, n) for n in range(40)]
    known = envelopes[7]
    assert await answers(committer.submit(known)) == [True]
    got = await answers(*(committer.submit(e) for e in envelopes))
    assert got == [e is not known for e in envelopes]
    assert sorted(await appended_ids(redis, settings)) == sorted(e.command_id for e in envelopes)


async def test_a_flush_takes_at_most_max_batch_calls(redis: Redis, settings: Settings) -> None:
    committer = GroupCommitter(redis, settings, max_batch=50)
    envelopes = [login(settings, n) for n in range(200)]
    assert await answers(*(committer.submit(e) for e in envelopes)) == [True] * 200
    assert committer.flushes == 4
    assert len(await appended_ids(redis, settings)) == 200


async def test_calls_made_while_a_flush_is_in_flight_all_go_in_the_next_one(
    gated: GatedRedis, settings: Settings
) -> None:
    committer = GroupCommitter(gated, settings)
    first = asyncio.create_task(committer.submit(login(settings, 0)))
    await gated.sending.wait()
    later = [asyncio.create_task(committer.submit(login(settings, n))) for n in range(1, 21)]
    gated.gate.set()
    assert await answers(first, *later) == [True] * 21
    assert committer.flushes == 2
    assert len(await appended_ids(gated, settings)) == 21


async def test_the_same_command_twice_in_one_batch_is_appended_once_and_answered_in_order(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    envelope = login(settings, 1)
    other = login(settings, 2)
    got = await answers(
        committer.submit(envelope), committer.submit(other), committer.submit(envelope)
    )
    assert committer.flushes == 1
    # As if one after the other: the first call appended it, the second found it known.
    assert got == [True, True, False]
    assert sorted(await appended_ids(redis, settings)) == sorted(
        [envelope.command_id, other.command_id]
    )
    assert await answers(committer.submit(envelope)) == [False]


def elsewhere(settings: Settings, envelope: Envelope) -> Envelope:
    """The same command id on a command of another aggregate, in another partition."""
    n = 0
    while True:
        other = login(settings, 1000 + n)
        if other.partition != envelope.partition:
            return msgspec.structs.replace(other, command_id=envelope.command_id)
        n += 1


async def test_an_id_its_client_chose_is_marked_taken_in_every_other_partition(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    named, unnamed = login(settings, 1), login(settings, 2)
    got = await answers(committer.submit(named, client_named=True), committer.submit(unnamed))
    assert got == [True, True]
    for partition in range(settings.partitions):
        mark = keys.taken_id(partition, named.command_id)
        if partition == named.partition:
            assert await redis.exists(mark) == 0
        else:
            assert await redis.get(mark) == str(named.partition).encode()
            assert 0 < await redis.ttl(mark) <= settings.result_ttl_seconds
        assert await redis.exists(keys.taken_id(partition, unnamed.command_id)) == 0


async def test_a_command_of_another_partition_sent_with_a_taken_id_is_not_appended(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    first = login(settings, 1)
    assert await answers(committer.submit(first, client_named=True)) == [True]
    reused = elsewhere(settings, first)
    assert await answers(committer.submit(reused, client_named=True)) == [False]
    assert await appended_ids(redis, settings) == [first.command_id]
    # Its marks did not overwrite the first command's.
    mark = keys.taken_id(reused.partition, first.command_id)
    assert await redis.get(mark) == str(first.partition).encode()


async def test_one_id_sent_for_two_partitions_in_one_flush_is_appended_once(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    first = login(settings, 1)
    reused = elsewhere(settings, first)
    got = await answers(
        committer.submit(first, client_named=True), committer.submit(reused, client_named=True)
    )
    assert committer.flushes == 1
    assert got == [True, False]
    assert await appended_ids(redis, settings) == [first.command_id]


async def test_a_repeat_in_the_flush_of_a_failed_append_fails_with_it(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    first = login(settings, 1)
    await redis.set(keys.commands(first.partition), "not a stream")  # XADD answers WRONGTYPE
    got = await answers(
        committer.submit(first, client_named=True),
        committer.submit(elsewhere(settings, first), client_named=True),
    )
    assert all(isinstance(answer, Exception) and "WRONGTYPE" in str(answer) for answer in got)


async def test_after_the_script_cache_is_lost_the_batch_is_resent_once_and_appended_once(
    redis: Redis, settings: Settings
) -> None:
    await redis.script_flush()
    committer = GroupCommitter(redis, settings)
    envelopes = [login(settings, n) for n in range(10)]
    assert await answers(*(committer.submit(e) for e in envelopes)) == [True] * 10
    assert committer.flushes == 2
    assert sorted(await appended_ids(redis, settings)) == sorted(e.command_id for e in envelopes)


async def test_a_call_that_fails_in_redis_fails_alone(redis: Redis, settings: Settings) -> None:
    committer = GroupCommitter(redis, settings)
    envelopes = [login(settings, n) for n in range(40)]
    broken = envelopes[0].partition
    await redis.set(keys.commands(broken), "not a stream")  # XADD answers WRONGTYPE
    got = await answers(*(committer.submit(e) for e in envelopes))
    assert committer.flushes == 1
    for envelope, answer in zip(envelopes, got, strict=True):
        if envelope.partition == broken:
            assert isinstance(answer, Exception) and "WRONGTYPE" in str(answer)
            assert not isinstance(answer, Unavailable)
        else:
            assert answer is True


async def test_a_cancelled_caller_leaves_the_others_their_answers(
    gated: GatedRedis, settings: Settings
) -> None:
    # One call per flush, so that some calls are in flight while others still queue.
    committer = GroupCommitter(gated, settings, max_batch=1)
    envelopes = [login(settings, n) for n in range(10)]
    tasks = [asyncio.create_task(committer.submit(e)) for e in envelopes]
    await gated.sending.wait()  # the first call is in flight; the other nine queue
    tasks[0].cancel()
    tasks[5].cancel()
    gated.gate.set()
    got = await answers(*tasks)
    assert isinstance(got[0], asyncio.CancelledError)
    assert isinstance(got[5], asyncio.CancelledError)
    assert [a for n, a in enumerate(got) if n not in (0, 5)] == [True] * 8
    # Already sent, the first is appended; the queued one was never sent.
    appended = await appended_ids(gated, settings)
    assert sorted(appended) == sorted(e.command_id for n, e in enumerate(envelopes) if n != 5)
    assert committer.flushes == 9
    assert await answers(committer.submit(login(settings, 10))) == [True]


async def test_closing_answers_the_queued_calls_then_refuses_new_ones(
    redis: Redis, settings: Settings
) -> None:
    committer = GroupCommitter(redis, settings)
    queued = [asyncio.create_task(committer.submit(login(settings, n))) for n in range(5)]
    closing = asyncio.create_task(committer.close())
    assert await answers(*queued) == [True] * 5
    await closing
    with pytest.raises(Unavailable):
        await committer.submit(login(settings, 5))


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A server this test may stop and start: defaults as `make run` starts it (AOF, fsync)."""
    server = redis_servers.own_server(tmp_path, appendonly=True).start()
    yield server
    server.stop()


async def test_the_embedded_server_fsyncs_every_write_by_default(
    own_server: EmbeddedRedis,
) -> None:
    client = Redis.from_url(own_server.url)
    try:
        config = await client.config_get("append*")
    finally:
        await client.aclose()
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "always"


async def test_redis_down_answers_every_waiter_unavailable_and_back_up_it_works_again(
    own_server: EmbeddedRedis, settings: Settings
) -> None:
    settings = replace(settings, redis_url=own_server.url)
    redis = connect(settings)
    committer = GroupCommitter(redis, settings)
    try:
        before = login(settings, 0)
        assert await answers(committer.submit(before)) == [True]

        own_server.stop()
        got = await answers(*(committer.submit(login(settings, n)) for n in range(1, 21)))
        assert all(isinstance(answer, Unavailable) for answer in got), got

        own_server.start()  # an empty script cache: the next flush meets NOSCRIPT
        after = login(settings, 21)
        assert await answers(committer.submit(after)) == [True]
        # Acknowledged before the stop, it survived it; the refused ones were never appended.
        assert sorted(await appended_ids(redis, settings)) == sorted(
            [before.command_id, after.command_id]
        )
    finally:
        await committer.close()
        await redis.aclose()

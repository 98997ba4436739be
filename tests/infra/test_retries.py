"""Failed attempts come back later as arq deferred jobs, then go to the dead letters."""

import random
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio import Redis

from events.codec import envelope_decoder
from infra import keys
from infra.command_log import envelope_for, find_status, submit
from infra.embedded_redis import EmbeddedRedis
from infra.identity import registration
from infra.settings import Settings
from worker.commands import CommandConsumer
from worker.deps import Deps
from worker.retries import RETRY_JOB, backoff, reappend, retry_job_id


@pytest.fixture
async def arq_pool(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_server.url))
    yield pool
    await pool.aclose()


async def submitted(redis: Redis, settings: Settings) -> str:
    command, aggregate_id = registration(
        email="retry@example.com", password_hash="h", display_name=None, partitions=4
    )
    envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    assert await submit(redis, settings, envelope)
    return envelope.command_id


def test_backoff_is_full_jitter_under_an_exponential_ceiling_and_a_cap() -> None:
    random.seed(7)
    for attempt in range(1, 12):
        ceiling = min(30.0, 0.2 * 2 ** (attempt - 1))
        delays = [backoff(attempt, 0.2, 30.0) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spans the whole range
        assert min(delays) < ceiling * 0.2


async def test_a_transient_failure_schedules_one_deferred_job_then_acknowledges(
    redis: Redis, settings: Settings, arq_pool: ArqRedis
) -> None:
    settings = replace(settings, faults="RegisterUser=transient:1")
    command_id = await submitted(redis, settings)
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1", arq=arq_pool))
    await consumer.prepare()

    assert await consumer._read_once(">", block=False) == 1

    jobs = await arq_pool.queued_jobs()
    assert [(job.job_id, job.function) for job in jobs] == [
        (retry_job_id(command_id, 1), RETRY_JOB)
    ]
    pending = [await redis.xpending(keys.commands(p), keys.WORKERS_GROUP) for p in range(4)]
    assert sum(summary["pending"] for summary in pending) == 0
    status = await find_status(redis, settings, command_id)
    assert status is not None and status.status == "accepted"

    # Scheduling the same attempt again (a crash before the acknowledgement) is a no-op.
    again = await arq_pool.enqueue_job(RETRY_JOB, "{}", _job_id=retry_job_id(command_id, 1))
    assert again is None

    # The job runs: the command is back on its stream, one attempt counted, and now succeeds.
    [job] = jobs
    assert await reappend(redis, job.args[0])
    envelope = envelope_decoder.decode(job.args[0])
    assert envelope.attempts == 1
    assert [error.code for error in envelope.errors] == ["transient"]
    assert await consumer._read_once(">", block=False) == 1
    status = await find_status(redis, settings, command_id)
    assert status is not None and status.status == "succeeded"
    assert status.attempts == 2


async def test_after_the_last_attempt_the_command_is_dead_lettered_with_every_error(
    redis: Redis, settings: Settings, arq_pool: ArqRedis
) -> None:
    settings = replace(settings, faults="RegisterUser=always", max_attempts=3)
    command_id = await submitted(redis, settings)
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1", arq=arq_pool))
    await consumer.prepare()

    for attempt in (1, 2):
        assert await consumer._read_once(">", block=False) == 1
        job = next(j for j in await arq_pool.queued_jobs() if str(j.job_id).endswith(f":{attempt}"))
        assert await reappend(redis, job.args[0])
    assert await consumer._read_once(">", block=False) == 1

    status = await find_status(redis, settings, command_id)
    assert status is not None and status.status == "failed"
    assert status.attempts == 3
    dead = [
        fields
        for p in range(settings.partitions)
        for _, fields in await redis.xrange(keys.dead_letters(p))
    ]
    assert len(dead) == 1
    assert dead[0][b"attempts"] == b"3"
    assert dead[0][b"errors"].count(b'"transient"') == 3


async def test_a_retry_never_revives_a_command_settled_meanwhile(
    redis: Redis, settings: Settings, arq_pool: ArqRedis
) -> None:
    settings = replace(settings, faults="RegisterUser=transient:1")
    command_id = await submitted(redis, settings)
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1", arq=arq_pool))
    await consumer.prepare()
    await consumer._read_once(">", block=False)
    [job] = await arq_pool.queued_jobs()
    assert await reappend(redis, job.args[0])
    await consumer._read_once(">", block=False)

    assert not await reappend(redis, job.args[0])  # the job ran twice: nothing appended
    assert sum([await redis.xlen(keys.commands(p)) for p in range(4)]) == 2
    status = await find_status(redis, settings, command_id)
    assert status is not None and status.status == "succeeded"


async def test_a_command_waiting_for_its_retry_shows_its_attempts_and_last_error(
    redis: Redis, settings: Settings, arq_pool: ArqRedis
) -> None:
    settings = replace(settings, faults="RegisterUser=transient:5")
    command_id = await submitted(redis, settings)
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1", arq=arq_pool))
    await consumer.prepare()
    await consumer._read_once(">", block=False)

    status = await find_status(redis, settings, command_id)
    assert status is not None
    body = status.to_json()
    assert (body["status"], body["attempts"]) == ("accepted", 1)
    assert [(e["attempt"], e["code"]) for e in body["errors"]] == [(1, "transient")]


async def test_a_retry_arq_did_not_store_leaves_the_entry_pending(
    redis: Redis, settings: Settings, arq_pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(settings, faults="RegisterUser=transient:1")
    await submitted(redis, settings)
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1", arq=arq_pool))
    await consumer.prepare()

    async def failed_transaction(*args: object, **kwargs: object) -> None:
        return None  # what arq answers when its EXEC did not go through

    monkeypatch.setattr(arq_pool, "enqueue_job", failed_transaction)
    with pytest.raises(RuntimeError, match="not scheduled"):
        await consumer._read_once(">", block=False)

    pending = [await redis.xpending(keys.commands(p), keys.WORKERS_GROUP) for p in range(4)]
    assert sum(summary["pending"] for summary in pending) == 1

"""A server that is up but refuses writes is an outage, not a bug: `Unavailable`, as when it is
down. Each refusal produced by a real redis-server."""

from dataclasses import replace
from pathlib import Path

import pytest
from arq import Retry
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from events.codec import encoder
from infra.command_log import envelope_for
from infra.errors import Unavailable, refuses_writes, translated
from infra.identity import registration
from infra.settings import Settings
from tests.redis_servers import fill, make_room, running
from worker.delayed import _submit_follow_up
from worker.deps import Deps


async def refusal(redis: Redis, *, in_script: bool = False) -> ResponseError:
    try:
        if in_script:
            await redis.eval("return redis.call('SET', KEYS[1], 'v')", 1, "k")
        else:
            await redis.set("k", "v")
    except ResponseError as error:
        return error
    raise AssertionError("the write was not refused")


@pytest.mark.parametrize("in_script", [False, True])
async def test_a_full_server_refuses_writes_and_that_is_unavailable(
    tmp_path: Path, in_script: bool
) -> None:
    async with running(tmp_path) as server:
        redis = Redis.from_url(server.url)
        try:
            await fill(redis)
            error = await refusal(redis, in_script=in_script)
            with pytest.raises(Unavailable):
                async with translated():
                    await redis.set("k", "v")
            assert await redis.get("ballast:1") is not None  # reads go on
        finally:
            await redis.aclose()

    assert refuses_writes(error), repr(error)


async def test_a_replica_refuses_writes_and_that_is_unavailable(tmp_path: Path) -> None:
    async with (
        running(tmp_path) as primary,
        running(tmp_path, options=("--replicaof", "127.0.0.1", str(primary.port))) as replica,
    ):
        redis = Redis.from_url(replica.url)
        try:
            error = await refusal(redis)
            with pytest.raises(Unavailable):
                async with translated():
                    await redis.set("k", "v")
        finally:
            await redis.aclose()

    assert refuses_writes(error), repr(error)


async def test_any_other_refusal_is_the_caller_s_error_as_it_was(redis: Redis) -> None:
    await redis.rpush("a-list", "x")

    with pytest.raises(ResponseError, match="WRONGTYPE") as raised:
        async with translated():
            await redis.set("a-list", "v", get=True)  # GET of a list: WRONGTYPE

    assert not refuses_writes(raised.value)


async def test_a_follow_up_refused_by_a_full_server_is_retried_not_dropped(
    tmp_path: Path, settings: Settings
) -> None:
    """A delayed follow-up's arq job is that command's only copy: a refusal must retry it."""
    command, aggregate_id = registration(
        email="later@example.com", password_hash="$argon2id$fake", display_name=None, partitions=4
    )
    envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    async with running(tmp_path) as server:
        redis = Redis.from_url(server.url)
        ctx = {"deps": Deps(replace(settings, redis_url=server.url), redis, consumer="w")}
        try:
            await fill(redis)
            with pytest.raises(Retry):
                await _submit_follow_up(ctx, encoder.encode(envelope).decode())
            await make_room(redis)
            assert await _submit_follow_up(ctx, encoder.encode(envelope).decode())
        finally:
            await redis.aclose()

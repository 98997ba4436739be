"""Group read: concurrent lookups share a pipeline, and each caller gets its own replies."""

import asyncio
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from events.commands import RecordLogin
from infra import group_commit, group_read, keys
from infra.command_log import envelope_for
from infra.embedded_redis import EmbeddedRedis
from infra.errors import Unavailable
from infra.group_commit import GroupCommitter
from infra.group_read import GroupReader
from infra.redis import connect
from infra.scripts import load_all
from infra.settings import Settings
from tests import redis_servers


async def answers(*calls: Any) -> list[Any]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


def get_two(n: int) -> Any:
    def queue(pipe: Any) -> None:
        pipe.get(f"sluice:test:read:{n}")
        pipe.get(f"sluice:test:read:{n + 1}")

    return queue


async def test_concurrent_reads_share_a_pipeline_and_get_their_own_replies(redis: Redis) -> None:
    for n in range(101):
        await redis.set(f"sluice:test:read:{n}", n)
    reader = GroupReader(redis)

    got = await answers(*(reader.read(get_two(n)) for n in range(100)))

    assert got == [[str(n).encode(), str(n + 1).encode()] for n in range(100)]
    assert reader.flushes <= 2  # the first caller's flush, then everyone queued behind it


async def test_a_reply_that_is_an_error_fails_its_caller_alone(redis: Redis) -> None:
    await redis.set("sluice:test:read:0", "a string")
    await redis.set("sluice:test:read:1", "one")
    reader = GroupReader(redis)

    def wrong_type(pipe: Any) -> None:
        pipe.hgetall("sluice:test:read:0")  # WRONGTYPE

    got = await answers(reader.read(get_two(0)), reader.read(wrong_type), reader.read(get_two(0)))

    assert got[0] == got[2] == [b"a string", b"one"]
    assert isinstance(got[1], Exception) and "WRONGTYPE" in str(got[1])
    assert not isinstance(got[1], Unavailable)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = redis_servers.own_server(tmp_path, appendonly=True).start()
    yield server
    server.stop()


async def test_redis_down_answers_every_caller_unavailable_and_back_up_it_reads_again(
    own_server: EmbeddedRedis,
) -> None:
    redis = Redis.from_url(own_server.url, socket_connect_timeout=1)
    reader = GroupReader(redis)
    try:
        await redis.set("sluice:test:read:0", "before")
        own_server.stop()
        got = await answers(*(reader.read(get_two(0)) for _ in range(10)))
        assert all(isinstance(answer, Unavailable) for answer in got), got

        own_server.start()  # AOF: the value written before the stop is back
        assert await reader.read(get_two(0)) == [b"before", None]
    finally:
        await redis.aclose()


async def test_a_server_that_stops_answering_fails_the_flush_in_time(
    own_server: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """The shared pipelines' client has no per-reply timeout: each flush is bounded whole. A
    frozen server (SIGSTOP: the connection stays open, nothing answers) costs the callers a
    503 after the bound, not a hang; thawed, the same reader and committer work again."""
    monkeypatch.setattr(group_commit, "FLUSH_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(group_read, "FLUSH_TIMEOUT_SECONDS", 0.3)
    settings = replace(settings, redis_url=own_server.url)
    redis = connect(settings, socket_timeout=None)
    reader = GroupReader(redis)
    committer = GroupCommitter(redis, settings)
    envelope = envelope_for(
        settings=settings,
        command=RecordLogin(user_id="u1", session_id="s1"),
        aggregate_id="user:u1",
    )
    assert own_server.process is not None
    try:
        await load_all(redis)
        assert await reader.read(get_two(0)) == [None, None]
        own_server.process.send_signal(signal.SIGSTOP)
        try:
            calls = answers(reader.read(get_two(0)), committer.submit(envelope))
            got = await asyncio.wait_for(calls, 5)  # unbounded, this would hang: fail instead
        finally:
            own_server.process.send_signal(signal.SIGCONT)
        assert all(isinstance(answer, Unavailable) for answer in got), got

        assert await reader.read(get_two(0)) == [None, None]
        # Sent before the freeze, the append may have landed on the thaw: never twice.
        assert await committer.submit(envelope) in (True, False)
        assert await redis.xlen(keys.commands(envelope.partition)) == 1
    finally:
        await committer.close()
        await redis.aclose()

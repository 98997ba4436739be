"""The data client packs commands with hiredis: byte for byte what redis-py would send."""

from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection

from infra.redis import HiredisPackingConnection, connect
from infra.settings import Settings

COMMANDS: list[tuple[Any, ...]] = [
    ("SET", "key", "value"),
    ("EVALSHA", "ab12", 2, "k1", b"k2", -1, 1.5, "ünïcode"),
    ("XADD", b"stream", "*", "e", b"\x00\xff binary"),
    ("CONFIG GET", "appendfsync"),
    (b"CONFIG GET", b"maxmemory"),
    ("XREADGROUP", "GROUP", "g", "c", "COUNT", 100, "STREAMS", "s1", "s2", ">", ">"),
]


@pytest.mark.parametrize("args", COMMANDS)
def test_a_command_is_packed_as_redis_py_packs_it(args: tuple[Any, ...]) -> None:
    ours = b"".join(HiredisPackingConnection().pack_command(*args))
    theirs = b"".join(Connection().pack_command(*args))
    assert ours == theirs


def test_a_pipeline_is_packed_as_redis_py_packs_it() -> None:
    ours = b"".join(HiredisPackingConnection().pack_commands(COMMANDS))
    theirs = b"".join(Connection().pack_commands(COMMANDS))
    assert ours == theirs


async def test_the_client_talks_to_a_real_server(settings: Settings, redis: Redis) -> None:
    client = connect(settings)
    try:
        await client.set("sluice:test:packed", "ünï")
        async with client.pipeline(transaction=False) as pipe:
            pipe.get("sluice:test:packed")
            pipe.config_get("appendonly")
            pipe.incrbyfloat("sluice:test:float", 1.5)
            got = await pipe.execute()
    finally:
        await client.aclose()
    assert got[0] == "ünï".encode()
    assert list(got[1]) == ["appendonly"]  # CONFIG GET replies are decoded by redis-py
    assert float(got[2]) == 1.5


async def test_a_connection_holding_an_unread_reply_is_not_handed_out_again(
    settings: Settings, redis: Redis
) -> None:
    client = connect(settings)
    try:
        await client.set("sluice:test:clean", "value")
        pool = client.connection_pool
        conn = await pool.get_connection()
        assert not await conn.can_read_destructive()  # clean: nothing read from its socket
        # Two commands in one write: Redis answers both in one write, and reading the first
        # reply buffers the second, which nobody will ask for.
        await conn.send_packed_command(conn.pack_commands([("CLIENT", "ID"), ("PING",)]))
        dirty_id = await conn.read_response()
        assert await conn.can_read_destructive()
        await pool.release(conn)

        # The next checkout finds the stray reply and connects afresh instead.
        assert await client.get("sluice:test:clean") == b"value"
        assert await client.client_id() != dirty_id
    finally:
        await client.aclose()


async def test_a_connection_the_server_closed_is_not_handed_out_again(
    settings: Settings, redis: Redis
) -> None:
    client = connect(settings)
    try:
        pool = client.connection_pool
        conn = await pool.get_connection()
        await conn.send_command("CLIENT", "ID")
        killed = await conn.read_response()
        await redis.client_kill_filter(_id=killed)
        assert await conn._reader.read(1) == b""  # the server's end of the stream arrived
        assert await conn.can_read_destructive()
        await pool.release(conn)

        assert await client.ping()
        assert await client.client_id() != killed
    finally:
        await client.aclose()

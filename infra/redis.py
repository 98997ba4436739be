"""Redis client factory: one asyncio client per process, with bounded timeouts."""

import socket
from collections.abc import Iterable
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection

from infra.settings import Settings


class HiredisPackingConnection(Connection):
    """A TCP connection that packs commands with hiredis (C) rather than redis-py's Python
    packer, which is most of a worker's client-side cost when it pipelines hundreds of
    commands a batch. Replies are parsed by hiredis already."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [hiredis.pack_command(_split_name(args))]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        return [b"".join(hiredis.pack_command(_split_name(tuple(c))) for c in commands)]


def _split_name(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """`("CONFIG GET", "x")` is sent as three arguments, as redis-py does."""
    name = args[0]
    if isinstance(name, str) and " " in name:
        return (*name.split(), *args[1:])
    if isinstance(name, bytes) and b" " in name:
        return (*name.split(), *args[1:])
    return args


def connect(settings: Settings, *, socket_timeout: float | None = 5.0) -> "Redis":
    """A client for the data Redis. Blocking reads pass their own, longer, timeout.

    With `socket_timeout=None` no reply is timed: the caller bounds whole operations, and TCP
    keepalive notices a server that vanished without closing its connections.
    TLS (`rediss://`) and Unix-socket URLs keep redis-py's own connection classes."""
    client: Redis = Redis.from_url(
        settings.redis_url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=2.0,
        socket_keepalive=True,
        socket_keepalive_options=KEEPALIVE,
        health_check_interval=30,
        max_connections=256,
        connection_class=HiredisPackingConnection,
    )
    return client


# A dead peer is noticed after about 10 + 3 * 5 seconds of silence, where the platform allows.
KEEPALIVE = {
    option: value
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if (option := getattr(socket, name, None)) is not None
}

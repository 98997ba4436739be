"""Redis client factory: one asyncio client per process, with bounded timeouts."""

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import hiredis
from redis._parsers.hiredis import _AsyncHiredisParser
from redis.asyncio import Redis
from redis.asyncio.connection import Connection

from infra.settings import Settings


class HiredisPackingConnection(Connection):
    """A TCP connection that packs commands with hiredis (C) rather than redis-py's Python
    packer, which is most of a worker's client-side cost when it pipelines hundreds of
    commands a batch. Replies are parsed by hiredis already.

    It also tells the pool whether it is fit to reuse without reading from its socket: at every
    checkout redis-py 5 tries a read with a zero timeout, which costs a turn of the event loop
    and a cancelled read each time (several per command across the processes). This looks at
    what is buffered instead, as redis-py 8 does; arq keeps redis-py below 6."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [hiredis.pack_command(_split_name(args))]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        return [b"".join(hiredis.pack_command(_split_name(tuple(c))) for c in commands)]

    async def can_read_destructive(self) -> bool:
        """Whether the connection holds data no command asked for, or the server closed it:
        either way the pool drops it and connects afresh."""
        parser, stream = self._parser, self._reader
        if not isinstance(parser, _AsyncHiredisParser) or stream is None or not parser._connected:
            # redis-py's own check (which raises for a connection it closed)
            return bool(await super().can_read_destructive())  # type: ignore[no-untyped-call]
        reader = parser._reader
        return bool(reader is not None and reader.has_data()) or _buffered(stream)


def _buffered(stream: asyncio.StreamReader) -> bool:
    """Bytes received and not yet read, or the end of the stream. The buffer has no public
    name (redis-py 8 reads it the same way)."""
    return stream.at_eof() or bool(stream._buffer)  # type: ignore[attr-defined]


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

"""The `/ws` endpoint: origin and connection limits, then one receiver and one writer per client."""

import asyncio
import logging
from contextlib import suppress
from urllib.parse import urlsplit

from redis.asyncio import Redis
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from api import relay_frames as frames
from api.relay_connection import Connection
from api.relay_hub import POLICY_VIOLATION, Hub
from api.relay_session import Session
from api.reply_tokens import new_reply_to
from infra.group_read import GroupReader
from infra.metrics import WS_CLOSES
from infra.settings import Settings

log = logging.getLogger("sluice.relay")

GOING_AWAY = 1001
FLUSH_SECONDS = 5.0  # how long a closing connection may take to send what it still holds
# What a client that vanished looks like from here (uvicorn's ClientDisconnected is an OSError).
_GONE = (WebSocketDisconnect, WebSocketDisconnected, OSError)


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin: it must name an allowed scheme and host (any port)."""
    if "*" in allowed:
        return True
    asked = urlsplit(origin.strip().lower())
    if not asked.scheme or not asked.hostname:
        return False
    for entry in allowed:
        parts = urlsplit(entry.strip().lower())
        if (parts.scheme, parts.hostname) == (asked.scheme, asked.hostname):
            return True
    return False


async def serve(
    ws: WebSocket,
    hub: Hub,
    redis: "Redis",
    settings: Settings,
    lookups: GroupReader | None = None,
) -> None:
    origin = ws.headers.get("origin")
    if origin is not None and not origin_allowed(origin, settings.ws_allowed_origins):
        await ws.close(POLICY_VIOLATION)  # before accept: the server answers 403
        return
    ip = ws.client.host if ws.client else "unknown"
    conn = hub.connect(new_reply_to(), ip)
    if conn is None:
        WS_CLOSES.labels("too_many_connections").inc()
        with suppress(*_GONE):
            await ws.accept()
            await ws.send_text(frames.error("too_many_connections"))
            await ws.close(POLICY_VIOLATION, "too_many_connections")
        return
    try:
        await ws.accept()
        session = Session(conn, hub, redis, settings, lookups)
        await _converse(ws, session, settings.ws_idle_timeout_seconds)
    except _GONE:
        conn.client_gone = True
    finally:
        hub.detach(conn)
    if conn.close_code is not None and not conn.client_gone:
        # A client that stopped reading may never let this through: bounded, best effort.
        with suppress(*_GONE, TimeoutError):
            await asyncio.wait_for(ws.close(conn.close_code, conn.close_reason), FLUSH_SECONDS)


async def _converse(ws: WebSocket, session: Session, idle_seconds: float) -> None:
    conn = session.conn
    session.reply(frames.welcome(conn.reply_to))
    writer = asyncio.create_task(_write(ws, conn))
    conn.writer = writer
    receiver = asyncio.create_task(_receive(ws, session, idle_seconds))
    try:
        done, _ = await asyncio.wait({writer, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if receiver in done and conn.close_code is not None and not writer.done():
            # Closing on our side: first send what was queued, such as the error saying why.
            await asyncio.wait({writer}, timeout=FLUSH_SECONDS)
    finally:
        session.hub.detach(conn)
        receiver.cancel()
        writer.cancel()
        for outcome in await asyncio.gather(receiver, writer, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("relay connection task failed", exc_info=outcome)


async def _write(ws: WebSocket, conn: Connection) -> None:
    async def send(frame: str) -> None:
        await ws.send({"type": "websocket.send", "text": frame})

    try:
        await conn.drain(send)
    except _GONE:
        conn.client_gone = True


async def _receive(ws: WebSocket, session: Session, idle_seconds: float) -> None:
    conn = session.conn
    while conn.attached:
        try:
            async with asyncio.timeout(idle_seconds):
                message = await ws.receive()
        except TimeoutError:
            session.hub.close_after_flush(conn, GOING_AWAY, "idle")
            return
        if message["type"] == "websocket.disconnect":
            conn.client_gone = True
            return
        if not await session.handle(message.get("text")):
            return

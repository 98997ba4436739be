"""The relay's routing state: connections by reply_to, user, token and topic, and the cursor.

Everything here is synchronous: the reader routes an entry, and a subscription snapshots the
cursor, without awaiting in between, so neither can see the other half-done.
"""

import asyncio
import logging
import time

from api import relay_frames as frames
from api.relay_connection import Connection, Identity, Subscription
from api.relay_entries import OutEvent
from api.relay_positions import Position, StreamId, covers
from api.relay_topics import Access, access
from events.envelope import Result
from infra import metrics
from infra.sessions import REVOCATIONS_MAXLEN

log = logging.getLogger("sluice.relay")

POLICY_VIOLATION = 1008
# Revoked tokens remembered, so an `auth` that read the session just before the logout cannot
# register after the revocation went by. As many as the revocations stream keeps.
REMEMBERED_REVOCATIONS = REVOCATIONS_MAXLEN


class Hub:
    """Routing tables: dict lookups only, so routing never waits on Redis."""

    def __init__(
        self, *, partitions: int, send_queue: int, max_per_ip: int, max_per_user: int
    ) -> None:
        self.partitions = partitions
        self.send_queue = send_queue
        self.max_per_ip = max_per_ip
        self.max_per_user = max_per_user
        # Last event id routed per partition; None until the reader knows where the logs end.
        self.cursor: list[StreamId] | None = None
        self._by_reply_to: dict[str, Connection] = {}
        self._by_user: dict[str, set[Connection]] = {}
        self._by_token: dict[str, set[Connection]] = {}
        self._by_topic: dict[str, set[Connection]] = {}
        self._per_ip: dict[str, int] = {}
        self._revoked: dict[str, None] = {}  # insertion-ordered set, oldest first

    # connections

    def connect(self, reply_to: str, ip: str) -> Connection | None:
        """A registered connection, or None if this IP already holds its share."""
        if self._per_ip.get(ip, 0) >= self.max_per_ip:
            return None
        conn = Connection(reply_to, ip, self.send_queue)
        conn.attached = True
        metrics.WS_CONNECTIONS.inc()
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        self._by_reply_to[reply_to] = conn
        return conn

    def detach(self, conn: Connection) -> None:
        """Stops all routing to the connection; safe to call more than once."""
        if not conn.attached:
            return
        conn.attached = False
        metrics.WS_CONNECTIONS.dec()
        self._forget_identity(conn)
        for topic in list(conn.subscriptions):
            self.unsubscribe(conn, topic)
        self._by_reply_to.pop(conn.reply_to, None)
        left = self._per_ip.get(conn.ip, 1) - 1
        if left > 0:
            self._per_ip[conn.ip] = left
        else:
            self._per_ip.pop(conn.ip, None)

    def send(self, conn: Connection, frame: str) -> None:
        if not conn.attached:
            return
        try:
            conn.queue.put_nowait(frame)
        except asyncio.QueueFull:
            # Too slow to read: drop it rather than let its backlog grow without bound.
            log.info("disconnecting a slow WebSocket client from %s", conn.ip)
            metrics.WS_FRAMES_DROPPED.inc()  # this one; `kick` counts those it leaves queued
            self.kick(conn, POLICY_VIOLATION, "slow_consumer")

    def kick(self, conn: Connection, code: int, reason: str) -> None:
        """Closes now: queued frames are dropped, the endpoint sends the close frame."""
        self.detach(conn)
        if conn.close_code is None:
            conn.close_code, conn.close_reason = code, reason
            metrics.WS_CLOSES.labels(reason).inc()
        metrics.WS_FRAMES_DROPPED.inc(conn.queue.qsize())  # the writer stops: these go unsent
        if conn.writer is not None:
            conn.writer.cancel()

    def close_after_flush(self, conn: Connection, code: int, reason: str) -> None:
        """Closes once the frames already queued (e.g. an error explaining why) are sent."""
        if not conn.attached:
            return
        self.detach(conn)
        conn.close_code, conn.close_reason = code, reason
        metrics.WS_CLOSES.labels(reason).inc()
        try:
            conn.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.kick(conn, code, reason)

    # identity

    def authenticate(self, conn: Connection, identity: Identity) -> str | None:
        """Registers the identity; else the error code: `unauthenticated` (logged out
        meanwhile) or `too_many_connections` (that user has all the connections allowed)."""
        if identity.token_hash in self._revoked or not conn.attached:
            return "unauthenticated"
        user_id = identity.viewer.user_id
        others = self._by_user.get(user_id, set()) - {conn}
        if len(others) >= self.max_per_user:
            return "too_many_connections"
        self._forget_identity(conn)
        conn.identity = identity
        self._by_user.setdefault(user_id, set()).add(conn)
        self._by_token.setdefault(identity.token_hash, set()).add(conn)
        delay = max(0.0, identity.expires_at - time.time())
        conn.expiry = asyncio.get_running_loop().call_later(delay, self._expire, conn, identity)
        for topic in self._drop_forbidden(conn):
            self.send(conn, frames.error("forbidden", topic))
        return None

    def deauthenticate(self, conn: Connection) -> None:
        """Forgets who the connection was and drops every subscription that needed it."""
        self._forget_identity(conn)
        self._drop_forbidden(conn)

    def revoke(self, token_hash: str) -> None:
        self._revoked[token_hash] = None
        if len(self._revoked) > REMEMBERED_REVOCATIONS:
            del self._revoked[next(iter(self._revoked))]
        for conn in list(self._by_token.get(token_hash, ())):
            self.deauthenticate(conn)
            self.send(conn, frames.error("unauthenticated"))

    def _expire(self, conn: Connection, identity: Identity) -> None:
        if conn.identity is identity:
            self.deauthenticate(conn)
            self.send(conn, frames.error("unauthenticated"))

    def _forget_identity(self, conn: Connection) -> None:
        identity, conn.identity = conn.identity, None
        if conn.expiry is not None:
            conn.expiry.cancel()
            conn.expiry = None
        if identity is None:
            return
        _discard(self._by_user, identity.viewer.user_id, conn)
        _discard(self._by_token, identity.token_hash, conn)

    def _drop_forbidden(self, conn: Connection) -> list[str]:
        viewer = conn.identity.viewer if conn.identity else None
        dropped = [
            topic
            for topic, sub in conn.subscriptions.items()
            # An audience lookup allowed one user: it holds for them, not for the next one.
            if access(topic, viewer, member=viewer is not None and sub.member == viewer.user_id)
            is not Access.ALLOWED
        ]
        for topic in dropped:
            self.unsubscribe(conn, topic)
        return dropped

    # subscriptions

    def subscribe(
        self, conn: Connection, topic: str, *, buffering: bool, member: str | None = None
    ) -> Subscription:
        """Registers (or replaces) the subscription; call `snapshot` in the same step."""
        sub = Subscription(topic, buffering=buffering, member=member)
        if conn.attached:
            conn.subscriptions[topic] = sub
            self._by_topic.setdefault(topic, set()).add(conn)
        return sub

    def unsubscribe(self, conn: Connection, topic: str) -> None:
        if conn.subscriptions.pop(topic, None) is not None:
            _discard(self._by_topic, topic, conn)

    def snapshot(self) -> Position | None:
        return None if self.cursor is None else tuple(self.cursor)

    def settle_replay(
        self, conn: Connection, sub: Subscription, delivered: Position
    ) -> Position | None:
        """Ends a replay that reached `delivered`: flushes what was buffered meanwhile and goes
        live. If the buffer overflowed, returns a new target to replay up to from Redis."""
        if conn.subscriptions.get(sub.topic) is not sub or sub.buffer is None:
            return None
        if sub.overflowed:
            sub.buffer, sub.overflowed = [], False
            return self.snapshot()
        buffered, sub.buffer = sub.buffer, None
        sub.floor = delivered
        for item, position in buffered:
            shown = sub.admit(item, position)
            if shown is not None:
                self.send(conn, frames.event(sub.topic, item, shown))
        cursor = self.snapshot()
        if sub.floor is not None and cursor is not None and covers(cursor, sub.floor):
            sub.floor = None
        return None

    # routing, called by the reader

    def start_at(self, cursor: Position) -> None:
        self.cursor = list(cursor)

    def advance(self, partition: int, entry_id: StreamId) -> None:
        if self.cursor is not None:
            self.cursor[partition] = entry_id

    def deliver_result(self, outcome: Result) -> None:
        """To the connection named by reply_to and every authenticated one of the actor."""
        recipients: set[Connection] = set()
        if outcome.reply_to is not None and outcome.reply_to in self._by_reply_to:
            recipients.add(self._by_reply_to[outcome.reply_to])
        if outcome.actor is not None:
            recipients.update(self._by_user.get(outcome.actor, ()))
        if not recipients:
            return
        frame = frames.result(outcome)
        for conn in recipients:
            self.send(conn, frame)
        metrics.result_pushed(outcome.status, outcome.submitted_at)

    def publish(self, item: OutEvent) -> None:
        self.advance(item.partition, item.entry_id)
        if self.cursor is None:
            return
        position = tuple(self.cursor)
        for topic in item.topics:
            followers = self._by_topic.get(topic)
            if not followers:
                continue
            shared: str | None = None  # encoded on first use, then sent to every follower
            for conn in list(followers):  # a slow one may be kicked while we iterate
                sub = conn.subscriptions.get(topic)
                if sub is None:
                    continue
                if sub.buffer is not None:
                    self._hold(conn, sub, item, position)
                    continue
                shown = sub.admit(item, position)
                if shown is None:
                    continue
                if shown != position:
                    self.send(conn, frames.event(topic, item, shown))
                    continue
                if shared is None:
                    shared = frames.event(topic, item, position)
                self.send(conn, shared)

    @staticmethod
    def _hold(conn: Connection, sub: Subscription, item: OutEvent, position: Position) -> None:
        """Keeps a live event for after the replay, within bounds."""
        assert sub.buffer is not None
        if sub.overflowed:
            return
        if len(sub.buffer) < conn.buffer_limit:
            sub.buffer.append((item, position))
            return
        # The replay will fetch these from Redis again: memory stays bounded.
        sub.buffer.clear()
        sub.overflowed = True


def _discard(table: dict[str, set[Connection]], key: str, conn: Connection) -> None:
    members = table.get(key)
    if members is not None:
        members.discard(conn)
        if not members:
            del table[key]

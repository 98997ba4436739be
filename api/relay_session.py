"""One connection's conversation: auth, subscribe, unsubscribe, ping, handled in order."""

import logging

from redis.asyncio import Redis

from api import relay_frames as frames
from api.relay_connection import Connection, Identity
from api.relay_frames import Auth, Ping, Subscribe, Unsubscribe
from api.relay_hub import POLICY_VIOLATION, Hub
from api.relay_positions import parse_position
from api.relay_replay import replay
from api.relay_topics import Access, Viewer, access, resolve
from infra.errors import Unavailable
from infra.group_read import GroupReader
from infra.principals import find_principal
from infra.settings import Settings
from infra.tokens import token_hash

log = logging.getLogger("sluice.relay")

MAX_SUBSCRIPTIONS = 100  # per connection: each one costs routing-table memory


class Session:
    """Answers the frames of one connection; a replay finishes before the next frame is read."""

    def __init__(
        self,
        conn: Connection,
        hub: Hub,
        redis: "Redis",
        settings: Settings,
        lookups: GroupReader | None = None,
    ) -> None:
        self.conn = conn
        self.hub = hub
        self.redis = redis
        self.settings = settings
        self.lookups = lookups  # shared with the other connections' auth frames

    def reply(self, frame: str) -> None:
        self.hub.send(self.conn, frame)

    async def handle(self, text: str | None) -> bool:
        """Answers one client frame; False once the connection is closing. Decided from the
        hub's view, not the path taken: redis-py may swallow the cancellation of a closing
        connection's task, and this is what then stops it."""
        match frames.decode_frame(text) if text is not None else None:
            case Ping():
                self.reply(frames.PONG)
            case Auth(token=token):
                await self._auth(token)
            case Subscribe(topic=topic, since=since):
                await self._subscribe(topic, since)
            case Unsubscribe(topic=topic):
                self.hub.unsubscribe(self.conn, topic)
                self.reply(frames.unsubscribed(topic))
            case _:
                self.reply(frames.error("bad_frame"))
        return self.conn.attached

    async def _auth(self, token: str) -> None:
        try:
            found = await find_principal(self.redis, token, self.lookups)
        except Unavailable:
            self.reply(frames.error("unavailable"))
            return
        if found is None:
            # A connection that presents a bad token is no longer who it said it was.
            self.hub.deauthenticate(self.conn)
            self.reply(frames.error("unauthenticated"))
            return
        session, roles = found
        # Roles are read once, at auth: a change applies from the next auth frame.
        viewer = Viewer(session.user_id, frozenset(roles))
        identity = Identity(viewer, token_hash(token), session.expires_at)
        refused = self.hub.authenticate(self.conn, identity)
        if refused == "unauthenticated":
            self.hub.deauthenticate(self.conn)
            self.reply(frames.error(refused))
        elif refused is not None:
            self.reply(frames.error(refused))
            self.hub.close_after_flush(self.conn, POLICY_VIOLATION, refused)
        else:
            self.reply(frames.authenticated(session.user_id))

    async def _subscribe(self, topic: str, since_text: str | None) -> None:
        identity = self.conn.identity
        viewer = identity.viewer if identity else None
        try:
            verdict, looked_up = await resolve(topic, viewer, self.redis, self.settings)
        except Unavailable:
            self.reply(frames.error("unavailable", topic))
            return
        if self.conn.identity is not identity:
            # Logged out or expired while the audience was read: what was found was for them.
            current = self.conn.identity
            verdict, looked_up = access(topic, current.viewer if current else None), False
        if verdict is not Access.ALLOWED:
            self.reply(frames.error(verdict.value, topic))
            return
        member = viewer.user_id if looked_up and viewer is not None else None
        since = None
        if since_text is not None:
            since = parse_position(since_text, self.settings.partitions)
            if since is None:
                self.reply(frames.error("bad_frame", topic))
                return
        if (
            topic not in self.conn.subscriptions
            and len(self.conn.subscriptions) >= MAX_SUBSCRIPTIONS
        ):
            self.reply(frames.error("too_many_subscriptions", topic))
            return
        if since is None:
            existing = self.conn.subscriptions.get(topic)
            if existing is None:
                self.hub.subscribe(self.conn, topic, buffering=False, member=member)
            else:
                existing.member = member  # allowed again, maybe on other grounds
            self.reply(frames.subscribed(topic))
            return
        target = self.hub.snapshot()
        if target is None:  # the reader has not reached Redis yet
            self.reply(frames.error("unavailable", topic))
            return
        # Registered in the same step as the snapshot.
        sub = self.hub.subscribe(self.conn, topic, buffering=True, member=member)
        self.reply(frames.subscribed(topic))
        try:
            await replay(
                self.redis, self.hub, self.conn, sub, since, target, self.settings.read_count
            )
        except Unavailable:
            if self.conn.subscriptions.get(topic) is sub:
                self.hub.unsubscribe(self.conn, topic)
            self.reply(frames.error("unavailable", topic))

"""Who holds a session token: the session and its user's view, read in one round trip.

A token starts with its user's id (`<user id>.<256 random bits>`): the user's view can be read
beside the session, in the same pipeline, instead of after it. The id is only a hint, never
trusted: the session stored under the token's hash names the user, and a token whose hint does
not match it (or that has none) costs the second round trip instead.
"""

import time
from typing import Any

from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.group_read import GroupReader
from infra.read_models import roles_in
from infra.sessions import Session, decode_session
from infra.tokens import token_hash

HINT_SEPARATOR = "."


def user_hint(token: str) -> str | None:
    user_id, separator, _ = token.partition(HINT_SEPARATOR)
    return user_id if separator and user_id else None


class SessionLookup:
    """A token's session and its hinted user's view, read beside other commands (an `Along`):
    the rate limit's count, say, so that a request's first read already holds its caller."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.hash = token_hash(token)
        self.hint = user_hint(token)
        self.replies: list[Any] | None = None

    def queue(self, pipe: Any) -> None:
        pipe.get(keys.session(self.hash))
        if self.hint is not None:
            pipe.hgetall(keys.user(self.hint))

    def take(self, replies: list[Any]) -> None:
        self.replies = replies

    async def principal(self, redis: "Redis") -> tuple[Session, tuple[str, ...]] | None:
        """What the replies read say; a token whose hint is not its session's user costs the
        user's view a read of its own."""
        assert self.replies is not None, "read the lookup first"
        if self.replies[0] is None:
            return None
        session = decode_session(self.replies[0])
        if session.expires_at <= time.time():
            return None
        if self.hint == session.user_id:
            return session, roles_in(self.replies[1])
        async with translated():
            return session, roles_in(await redis.hgetall(keys.user(session.user_id)))


async def find_principal(
    redis: "Redis", token: str, reader: GroupReader | None = None
) -> tuple[Session, tuple[str, ...]] | None:
    """The live session behind `token` and its user's roles (none while the user is not yet
    projected); None when the token is unknown or its session expired. With a `reader`, the
    lookup shares a pipeline with those of concurrent callers."""
    lookup = SessionLookup(token)
    if reader is not None:
        replies = await reader.read(lookup.queue)
    else:
        async with translated():
            async with redis.pipeline(transaction=False) as pipe:
                lookup.queue(pipe)
                replies = await pipe.execute()
    lookup.take(replies)
    return await lookup.principal(redis)

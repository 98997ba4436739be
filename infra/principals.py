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
from infra.group_read import Along, GroupReader
from infra.read_models import roles_in
from infra.sessions import Session, decode_session
from infra.tokens import token_hash

HINT_SEPARATOR = "."


def user_hint(token: str) -> str | None:
    user_id, separator, _ = token.partition(HINT_SEPARATOR)
    return user_id if separator and user_id else None


async def find_principal(
    redis: "Redis", token: str, reader: GroupReader | None = None, along: Along | None = None
) -> tuple[Session, tuple[str, ...]] | None:
    """The live session behind `token` and its user's roles (none while the user is not yet
    projected); None when the token is unknown or its session expired. With a `reader`, the
    lookup shares a pipeline with those of concurrent callers; `along`'s commands go in the
    same read, whatever the lookup finds."""
    hint = user_hint(token)
    own = 1 if hint is None else 2

    def queue(pipe: Any) -> None:
        pipe.get(keys.session(token_hash(token)))
        if hint is not None:
            pipe.hgetall(keys.user(hint))
        if along is not None:
            along.queue(pipe)

    if reader is not None:
        replies = await reader.read(queue)
    else:
        async with translated():
            async with redis.pipeline(transaction=False) as pipe:
                queue(pipe)
                replies = await pipe.execute()
    if along is not None:
        along.take(replies[own:])
    if replies[0] is None:
        return None
    session = decode_session(replies[0])
    if session.expires_at <= time.time():
        return None
    if hint == session.user_id:
        return session, roles_in(replies[1])
    async with translated():
        return session, roles_in(await redis.hgetall(keys.user(session.user_id)))

"""Session tokens: handed out once, stored only as a hash with an expiry."""

import time
from typing import Any

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.tokens import new_token, token_hash

# The revocations stream: sessions closed, and users whose roles changed. The relay replays
# no further back than this either (`api.relay_hub`).
REVOCATIONS_MAXLEN = 10_000


class Session(msgspec.Struct, frozen=True):
    user_id: str
    session_id: str
    expires_at: int  # epoch seconds


_decoder = msgspec.json.Decoder(Session)
_encoder = msgspec.json.Encoder()


def decode_session(raw: bytes) -> Session:
    return _decoder.decode(raw)


async def open_session(redis: "Redis", user_id: str, ttl_seconds: int) -> tuple[str, Session]:
    """A new session and its token, `<user id>.<256 random bits>` (see `infra.principals`)."""
    token = f"{user_id}.{new_token()}"
    hashed = token_hash(token)
    session = Session(
        user_id=user_id, session_id=hashed[:16], expires_at=int(time.time()) + ttl_seconds
    )
    async with translated():
        await redis.set(keys.session(hashed), _encoder.encode(session), ex=ttl_seconds)
    return token, session


async def close_session(redis: "Redis", token: str) -> bool:
    """Deletes the session and tells every relay, which drops it from its connections."""
    hashed = token_hash(token)
    async with translated():
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.session(hashed))
            queue_revoked(pipe, hashed)
            deleted, _ = await pipe.execute()
    return bool(deleted)


def queue_revoked(pipe: Any, token_hash: str) -> None:
    """Notes a closed session on the revocations stream, for every relay and gateway."""
    pipe.xadd(keys.revocations(), {"t": token_hash}, maxlen=REVOCATIONS_MAXLEN, approximate=True)


def notice_user_changed(pipe: Any, user_id: str) -> None:
    """Notes on the revocations stream that what a user's sessions were read with (their
    roles) changed: a gateway that kept them reads them again (`infra.session_cache`)."""
    pipe.xadd(keys.revocations(), {"u": user_id}, maxlen=REVOCATIONS_MAXLEN, approximate=True)

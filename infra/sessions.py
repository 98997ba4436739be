"""Session tokens: handed out once, stored only as a hash with an expiry."""

import time

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.tokens import new_token, token_hash


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
            pipe.xadd(keys.revocations(), {"t": hashed}, maxlen=10_000, approximate=True)
            deleted, _ = await pipe.execute()
    return bool(deleted)

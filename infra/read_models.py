"""Read models kept by the projector and read by the API: users, emails, credentials."""

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.scripts import PATCH_IF_NEWER, PUT_IF_NEWER


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    email: str
    display_name: str
    roles: tuple[str, ...]


_user_decoder = msgspec.json.Decoder(UserView)
_encoder = msgspec.json.Encoder()


def queue_user(pipe: object, view: UserView, version: int) -> None:
    PUT_IF_NEWER.queue(
        pipe,
        [keys.user(view.user_id), keys.user_by_email(view.email)],
        [version, _encoder.encode(view), view.user_id],
    )


def queue_display_name(pipe: object, user_id: str, display_name: str, version: int) -> None:
    PATCH_IF_NEWER.queue(
        pipe, [keys.user(user_id)], [version, "display_name", _encoder.encode(display_name)]
    )


def queue_credentials(pipe: object, user_id: str, password_hash: str, version: int) -> None:
    PUT_IF_NEWER.queue(pipe, [keys.credentials(user_id)], [version, password_hash])


async def get_user(redis: "Redis", user_id: str) -> UserView | None:
    async with translated():
        raw = await redis.hget(keys.user(user_id), "doc")
    return None if raw is None else _user_decoder.decode(raw)


async def get_user_doc(redis: "Redis", user_id: str) -> tuple[UserView, int] | None:
    async with translated():
        raw_doc, raw_version = await redis.hmget(keys.user(user_id), ["doc", "v"])
    if raw_doc is None:
        return None
    return _user_decoder.decode(raw_doc), int(raw_version)


async def find_credentials(redis: "Redis", email: str) -> tuple[str, str] | None:
    """(user_id, password hash) for an email, or None if nobody registered it."""
    async with translated():
        user_id = await redis.get(keys.user_by_email(email))
        if user_id is None:
            return None
        stored = await redis.hget(keys.credentials(user_id.decode()), "doc")
    if stored is None:
        return None
    return user_id.decode(), stored.decode()

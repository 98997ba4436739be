"""Read models kept by the projector and read by the API: users, emails, credentials.

A user's roles come from two aggregates: their own (`user:<id>`, every role but `super_admin`)
and the singleton `roles:super_admins`. Each role is a field of its own (`role:<name>`, true or
false) written by version, so the two version sequences never meet: `role:super_admin` follows
the singleton's versions. The registration may name `super_admin` too (the start-up admin);
it writes that field at version 0, so any change the singleton records wins over it.

A change to a user's roles is noted on the revocations stream as it is written: gateways that
kept that user's sessions read them again (`infra.session_cache`).
"""

from typing import Any

import msgspec
from redis.asyncio import Redis

from domain.roles import SUPER_ADMIN
from infra import keys
from infra.errors import translated
from infra.scripts import PUT_IF_NEWER
from infra.sessions import notice_user_changed
from infra.views import (
    Dimension,
    fields_of,
    id_of,
    load,
    page,
    queue_merge,
    queue_reindex,
    sort_key,
    versions_of,
)

ROLE = "role:"
# Every user, and the users holding each role.
INDEXES = (Dimension(keys.users()), Dimension(keys.users_with_role(""), field=f"{ROLE}*"))


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    email: str
    display_name: str
    roles: tuple[str, ...]  # sorted


def queue_user(pipe: Any, view: UserView, version: int, *, registered_at: int = 0) -> None:
    """A registration: the user, their email's lookup and the roles they start with."""
    key = keys.user(view.user_id)
    fields = {
        "user_id": view.user_id,
        "email": view.email,
        "display_name": view.display_name,
        "sort_key": sort_key(registered_at, view.user_id),
    }
    queue_merge(pipe, key, version, fields, also_set=(keys.user_by_email(view.email), view.user_id))
    for role in view.roles:
        queue_merge(pipe, key, 0 if role == SUPER_ADMIN else version, {f"{ROLE}{role}": True})
    queue_reindex(pipe, key, INDEXES)
    # Nothing to note on the revocations stream: no session is read before this is written (a
    # login needs the credentials, projected after it).


def queue_role(pipe: Any, user_id: str, role: str, held: bool, version: int) -> None:
    """A role assigned or revoked, at the version of the aggregate that recorded it."""
    key = keys.user(user_id)
    queue_merge(pipe, key, version, {f"{ROLE}{role}": held})
    queue_reindex(pipe, key, INDEXES)
    _notice_roles(pipe, user_id)


def _notice_roles(pipe: Any, user_id: str) -> None:
    # A shadow copy (a rebuild, a check) serves no session: nothing to note.
    if keys.read_model_root() == keys.LIVE_READ_MODELS:
        notice_user_changed(pipe, user_id)


def queue_display_name(pipe: Any, user_id: str, display_name: str, version: int) -> None:
    queue_merge(pipe, keys.user(user_id), version, {"display_name": display_name})


def queue_credentials(pipe: Any, user_id: str, password_hash: str, version: int) -> None:
    PUT_IF_NEWER.queue(pipe, [keys.credentials(user_id)], [version, password_hash])


def user_of(raw: dict[bytes, bytes]) -> UserView | None:
    """The user of a view hash as stored (None before their registration is projected)."""
    fields = fields_of(raw)
    if "email" not in fields:
        return None  # only roles so far: the registration is not projected yet
    roles = sorted(
        name[len(ROLE) :] for name, held in fields.items() if name.startswith(ROLE) and held
    )
    return UserView(
        user_id=fields["user_id"],
        email=fields["email"],
        display_name=fields["display_name"],
        roles=tuple(roles),
    )


def roles_in(raw: dict[bytes, bytes]) -> tuple[str, ...]:
    """The roles a user view holds, sorted, read without decoding the rest of the view; none
    before the user's registration is projected (as `user_of`)."""
    if b"email" not in raw:
        return ()
    prefix = ROLE.encode()
    return tuple(
        sorted(
            name[len(prefix) :].decode()
            for name, held in raw.items()
            if name.startswith(prefix) and held == b"true"
        )
    )


async def get_user(redis: "Redis", user_id: str) -> UserView | None:
    async with translated():
        raw = await redis.hgetall(keys.user(user_id))
    return user_of(raw)


async def get_user_doc(redis: "Redis", user_id: str) -> tuple[UserView, int] | None:
    """The user and the newest version of their own aggregate the view reflects."""
    async with translated():
        raw = await redis.hgetall(keys.user(user_id))
    view = user_of(raw)
    if view is None:
        return None
    own = [v for name, v in versions_of(raw).items() if name != f"{ROLE}{SUPER_ADMIN}"]
    return view, max(own)


async def list_users(
    redis: "Redis", *, role: str | None = None, after: str | None = None, limit: int = 20
) -> tuple[list[UserView], str | None]:
    """Users newest first (all, or those holding `role`), and the next page's cursor."""
    index = keys.users() if role is None else keys.users_with_role(role)
    members, cursor = await page(redis, index, after, limit)
    found = await load(redis, [keys.user(id_of(member)) for member in members])
    return [view for view in map(user_of, found) if view is not None], cursor


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

"""Each user's notifications, newest first, with their read flags.

A notification is a fact derived from one event, its id derived from that event and its
recipient (`domain.notifications.notification_id`): writing it again writes the same thing.
Read marks come from the user's `notifications:<id>` aggregate and are kept apart, joined when
read: on a rebuild a mark may be projected before its notification.
"""

from typing import Any

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.views import id_of, page, sort_key


class NotificationView(msgspec.Struct, frozen=True, kw_only=True):
    notification_id: str
    # moderator_invited | order_confirmed | order_rejected | order_cancelled
    # | order_out_for_delivery | order_delivered | courier_assigned
    kind: str
    at: int  # epoch milliseconds
    order_id: str | None = None
    brand_id: str | None = None
    courier_id: str | None = None
    invited_by: str | None = None
    reason: str | None = None
    read: bool = False


_decoder = msgspec.json.Decoder(NotificationView)


def queue_notification(pipe: Any, user_id: str, note: NotificationView) -> None:
    pipe.hset(keys.notification_docs(user_id), note.notification_id, msgspec.json.encode(note))
    pipe.zadd(keys.notifications(user_id), {sort_key(note.at, note.notification_id): 0})


def queue_read_mark(pipe: Any, user_id: str, notification_id: str) -> None:
    pipe.sadd(keys.notification_reads(user_id), notification_id)


async def list_notifications(
    redis: "Redis", user_id: str, after: str | None = None, limit: int = 20
) -> tuple[list[NotificationView], str | None]:
    """A page of the user's notifications, newest first, and the next page's cursor."""
    members, cursor = await page(redis, keys.notifications(user_id), after, limit)
    return await _joined(redis, user_id, [id_of(member) for member in members]), cursor


async def get_notification(
    redis: "Redis", user_id: str, notification_id: str
) -> NotificationView | None:
    """The user's notification, or None if they have none of that id."""
    found = await _joined(redis, user_id, [notification_id])
    return found[0] if found else None


async def _joined(redis: "Redis", user_id: str, ids: list[str]) -> list[NotificationView]:
    if not ids:
        return []
    async with translated():
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.notification_docs(user_id), ids)
            pipe.smismember(keys.notification_reads(user_id), ids)
            docs, reads = await pipe.execute()
    return [
        msgspec.structs.replace(_decoder.decode(doc), read=bool(read))
        for doc, read in zip(docs, reads, strict=True)
        if doc is not None
    ]

"""`subscribe` with `since`: what the client missed, from the partition logs, then live.

The subscription was registered in buffering mode in the same step as the cursor snapshot
(`target`). We page through each partition's log from `since` to `target`, then flush what
arrived meanwhile, skipping anything the client already has: nothing missed, nothing twice.
"""

from redis.asyncio import Redis

from api import relay_frames as frames
from api.relay_connection import Connection, Subscription
from api.relay_entries import decode_event_entry
from api.relay_hub import Hub
from api.relay_positions import Position, StreamId, format_id, parse_id
from infra import keys
from infra.errors import translated


async def replay(
    redis: "Redis",
    hub: Hub,
    conn: Connection,
    sub: Subscription,
    since: Position,
    target: Position,
    page: int,
) -> None:
    """Raises `Unavailable` if Redis fails midway; the caller drops the subscription."""
    delivered = list(since)
    next_target: Position | None = target
    while next_target is not None:
        for partition in range(len(delivered)):
            if not await _replay_partition(
                redis, conn, sub, delivered, partition, next_target[partition], page
            ):
                return
        # Flushing the buffer must not overflow the queue: wait until the writer made room.
        await conn.wait_for_room()
        next_target = hub.settle_replay(conn, sub, tuple(delivered))


async def _replay_partition(
    redis: "Redis",
    conn: Connection,
    sub: Subscription,
    delivered: list[StreamId],
    partition: int,
    end: StreamId,
    page: int,
) -> bool:
    """Sends partition `partition`'s missed events up to `end`; False if the subscription
    ended meanwhile (unsubscribed, de-authenticated or disconnected)."""
    while delivered[partition] < end:
        async with translated():
            entries = await redis.xrange(
                keys.events(partition),
                min=f"({format_id(delivered[partition])}",
                max=format_id(end),
                count=page,
            )
        for raw_id, fields in entries:
            entry_id = parse_id(raw_id)
            delivered[partition] = entry_id
            item = decode_event_entry(partition, entry_id, fields)
            if item is None or sub.topic not in item.topics:
                continue
            if conn.subscriptions.get(sub.topic) is not sub:
                return False
            await conn.put_paced(frames.event(sub.topic, item, tuple(delivered)))
        if len(entries) < page:
            break
    delivered[partition] = max(delivered[partition], end)
    return conn.subscriptions.get(sub.topic) is sub

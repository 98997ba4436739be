"""Consumer-group plumbing shared by every stream consumer."""

from typing import Any

from redis.asyncio import Redis

from infra.errors import is_group_exists

Entry = tuple[str, dict[bytes, bytes] | None]


async def ensure_group(redis: "Redis", stream: str, group: str) -> None:
    """Creates the group at the start of the stream (and the stream itself) if missing."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except Exception as error:
        if not is_group_exists(error):
            raise


def flatten_read(reply: Any) -> list[tuple[str, list[Entry]]]:
    """XREADGROUP's reply as [(stream, [(entry id, fields)])] with str names and ids."""
    out: list[tuple[str, list[Entry]]] = []
    for stream, entries in reply or []:
        name = stream.decode() if isinstance(stream, bytes) else stream
        out.append((name, [(_s(entry_id), fields) for entry_id, fields in entries]))
    return out


async def autoclaim(
    redis: "Redis", stream: str, group: str, consumer: str, min_idle_ms: int, count: int
) -> list[Entry]:
    """Takes over entries idle longer than `min_idle_ms`. Deleted entries come back with no
    fields (Redis 6.2 keeps them pending), so callers must acknowledge rather than process them.
    """
    reply = await redis.xautoclaim(
        stream, group, consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
    )
    entries = reply[1] if len(reply) > 1 else []
    return [(_s(entry_id), fields or None) for entry_id, fields in entries]


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

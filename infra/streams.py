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
    """XREADGROUP's reply as [(stream, [(entry id, fields)])] with str names and ids.

    A pending entry deleted since its delivery comes back with no fields: it is given as None.
    """
    out: list[tuple[str, list[Entry]]] = []
    for stream, entries in reply or []:
        name = stream.decode() if isinstance(stream, bytes) else stream
        out.append((name, [(_s(entry_id), fields or None) for entry_id, fields in entries]))
    return out


async def autoclaim(
    redis: "Redis", stream: str, group: str, consumer: str, min_idle_ms: int, count: int
) -> list[Entry]:
    """Takes over entries idle longer than `min_idle_ms`. Deleted entries come back with no
    fields (Redis 6.2 keeps them pending), so callers must acknowledge rather than process them.

    Claims by id (JUSTID), then reads the entries: Redis 6.2's full reply gives a deleted entry
    as a bare nil, without the id needed to acknowledge it.
    """
    claimed = await redis.xautoclaim(
        stream,
        group,
        consumer,
        min_idle_time=min_idle_ms,
        start_id="0-0",
        count=count,
        justid=True,
    )
    ids = [_s(entry_id) for entry_id in claimed]
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for entry_id in ids:
            pipe.xrange(stream, min=entry_id, max=entry_id, count=1)
        found: list[list[Any]] = await pipe.execute()
    return [
        (entry_id, rows[0][1] if rows else None) for entry_id, rows in zip(ids, found, strict=True)
    ]


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_id(entry_id: bytes | str) -> tuple[int, int]:
    ms, _, seq = _s(entry_id).partition("-")
    return int(ms), int(seq or 0)


async def trim_settled(redis: "Redis", stream: str) -> int:
    """Trims entries every group has settled: below each group's oldest pending entry and never
    past what it was delivered. Returns how many entries went."""
    groups = await redis.xinfo_groups(stream)
    if not groups:
        return 0
    bound: tuple[int, int] | None = None
    for group in groups:
        summary = await redis.xpending(stream, group["name"])
        keep_from = summary["min"] if summary["pending"] else group["last-delivered-id"]
        candidate = parse_id(keep_from)
        bound = candidate if bound is None else min(bound, candidate)
    if bound is None or bound == (0, 0):
        return 0
    trimmed: int = await redis.xtrim(stream, minid=f"{bound[0]}-{bound[1]}", approximate=True)
    return trimmed

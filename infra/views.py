"""The view store every read model shares: fields written by version, indexes, pages.

A view is a hash of JSON fields. Each field remembers the aggregate version that wrote it
(`scripts/merge_if_newer.lua`), so events applied twice, late or out of order (two projectors
share a partition log) leave each field as the newest event says. Its indexes follow its
fields (`scripts/reindex.lua`). Lists are read newest first, one page per cursor.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from redis.asyncio import Redis

from events.events import Money
from infra import keys
from infra.errors import translated
from infra.scripts import MERGE_IF_NEWER, REINDEX

MAX_PAGE = 100

_encoder = msgspec.json.Encoder()


class Price(msgspec.Struct, frozen=True, kw_only=True):
    amount: int  # minor units
    currency: str


def price_of(money: Money) -> Price:
    return Price(amount=money.amount, currency=money.currency)


def sort_key(created_at: int, view_id: str) -> str:
    """A view's member in its indexes: text order is creation order, ties broken by id."""
    return f"{created_at:013d}:{view_id}"


def id_of(member: str) -> str:
    return member.partition(":")[2]


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def queue_merge(
    pipe: Any,
    view_key: str,
    version: int,
    fields: Mapping[str, Any],
    *,
    also_set: tuple[str, str] | None = None,
) -> None:
    """Writes each field unless a change of the same or a newer version wrote it already.

    `also_set` (key, value) is SET too when any field is written: a lookup such as an email's
    user, which must never point at a view an older event described.
    """
    args: list[Any] = [version, also_set[1] if also_set else ""]
    for name, value in fields.items():
        args += [name, encode(value)]
    MERGE_IF_NEWER.queue(pipe, [view_key, *([also_set[0]] if also_set else [])], args)


@dataclass(frozen=True)
class Dimension:
    """One way a view is indexed; see `scripts/reindex.lua` for the meaning of each part."""

    prefix: str  # the index key, or its prefix when `field` is set
    field: str = ""
    guard: str = ""
    guard_value: Any = None


def queue_reindex(pipe: Any, view_key: str, dimensions: Sequence[Dimension]) -> None:
    """Indexes named without their root: the dimensions are built once, with live key names,
    and the same view may be written in a shadow copy (`keys.read_models_in`)."""
    args: list[Any] = [f"{keys.read_model_root()}:"]
    for d in dimensions:
        prefix = keys.read_model_name(d.prefix)
        args += [d.field, prefix, d.guard, encode(d.guard_value) if d.guard else ""]
    REINDEX.queue(pipe, [view_key], args)


def fields_of(raw: Mapping[bytes, bytes]) -> dict[str, Any]:
    """A view hash as {field: value}, without its bookkeeping (versions, index marks)."""
    return {
        name.decode(): msgspec.json.decode(value)
        for name, value in raw.items()
        if not name.startswith((b"v:", b"ix:"))
    }


def versions_of(raw: Mapping[bytes, bytes]) -> dict[str, int]:
    """The version that last wrote each field."""
    return {name[2:].decode(): int(value) for name, value in raw.items() if name.startswith(b"v:")}


async def load(redis: "Redis", view_keys: Sequence[str]) -> list[dict[bytes, bytes]]:
    """The raw hashes of several views in one round trip (empty for a missing view)."""
    if not view_keys:
        return []
    async with translated():
        async with redis.pipeline(transaction=False) as pipe:
            for key in view_keys:
                pipe.hgetall(key)
            found: list[dict[bytes, bytes]] = await pipe.execute()
    return found


async def page(
    redis: "Redis", index_key: str, after: str | None, limit: int
) -> tuple[list[str], str | None]:
    """Up to `limit` members newest first, from just past the cursor `after`, and the cursor
    of the next page (None when this page reaches the end)."""
    limit = max(1, min(limit, MAX_PAGE))
    start = "+" if after is None else f"({after}"
    async with translated():
        raw: list[bytes] = await redis.zrevrangebylex(index_key, start, "-", start=0, num=limit + 1)
    members = [member.decode() for member in raw]
    if len(members) <= limit:
        return members, None
    return members[:limit], members[limit - 1]

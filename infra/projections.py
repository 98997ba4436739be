"""Copies of a projection's read models: the live copy's record, shadow copies, the switch, diffs.

A projection owns every key under `<root>:<name>:` (`keys.projection_prefix`). A rebuild writes
a shadow copy under another root, then `switch` renames it onto the live names in one MULTI/EXEC,
so a query sees either the old copy or the new one, never a mix. `differences` compares two
copies key by key, whatever the key's type.
"""

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.errors import is_watch_failed

SCAN_COUNT = 1000
CHUNK = 500
NEW_VIEW_ROUNDS = 20


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """What built the live copy: the projection's code version, and when (epoch ms)."""

    version: int
    built_at: int


_recorded = msgspec.json.Decoder(Recorded)


async def recorded(redis: "Redis") -> dict[str, Recorded]:
    raw: dict[bytes, bytes] = await redis.hgetall(keys.projections_meta())
    return {name.decode(): _recorded.decode(value) for name, value in raw.items()}


def queue_record(pipe: Any, name: str, version: int, built_at: int | None = None) -> None:
    at = int(time.time() * 1000) if built_at is None else built_at
    entry = msgspec.json.encode(Recorded(version=version, built_at=at))
    pipe.hset(keys.projections_meta(), name, entry)


async def record_if_unknown(redis: "Redis", name: str, version: int) -> bool:
    """Records `version` as the live copy's unless a version is recorded already."""
    entry = msgspec.json.encode(Recorded(version=version, built_at=int(time.time() * 1000)))
    added: int = await redis.hsetnx(keys.projections_meta(), name, entry.decode())
    return bool(added)


def _glob_escaped(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


async def scan_keys(redis: "Redis", prefix: str) -> list[str]:
    """Every key starting with `prefix` (SCAN: keys written meanwhile may or may not be seen)."""
    found = {
        key.decode()
        async for key in redis.scan_iter(match=f"{_glob_escaped(prefix)}*", count=SCAN_COUNT)
    }
    return sorted(found)


async def delete_keys(redis: "Redis", prefix: str) -> int:
    """Deletes every key starting with `prefix`; returns how many went."""
    found = await scan_keys(redis, prefix)
    for start in range(0, len(found), CHUNK):
        await redis.unlink(*found[start : start + CHUNK])
    return len(found)


@dataclass(frozen=True)
class SwitchPlan:
    """A shadow copy of projection `name` to put live, and the live keys it may leave stale."""

    name: str
    version: int
    shadow_prefix: str
    live_prefix: str
    stale_live: frozenset[str]  # live keys listed before the shadow's last catch-up


@dataclass(frozen=True)
class Switched:
    renamed: int  # shadow keys now live
    deleted: int  # live keys the rebuilt copy does not have


async def try_switch(
    redis: "Redis", plan: SwitchPlan, catch_up: Callable[[], Awaitable[Any]]
) -> Switched | None:
    """The switch, only if no live key it replaces is written meanwhile; None if one was.

    Every key the switch touches is WATCHed first, then `catch_up` brings the shadow up to the
    log's tails: whatever the live projector applied before the WATCH is in the shadow now, and
    any write after it cancels the EXEC. So the renamed copy is never older than the live one.
    Views the catch-up adds are WATCHed in turn, and the shadow caught up again, until a
    catch-up adds none.
    """
    shadow = set(await scan_keys(redis, plan.shadow_prefix))
    pipe: Any
    async with redis.pipeline(transaction=True) as pipe:
        await _watch(pipe, {_live_name(plan, key) for key in shadow} | plan.stale_live)
        for _ in range(NEW_VIEW_ROUNDS):
            await catch_up()
            new = set(await scan_keys(redis, plan.shadow_prefix)) - shadow
            if not new:
                break
            shadow |= new
            await _watch(pipe, {_live_name(plan, key) for key in new})
        else:
            return None  # views keep appearing faster than they can be watched
        pipe.multi()
        switched = _queue_switch(pipe, plan, sorted(shadow))
        try:
            await pipe.execute()
        except Exception as error:
            if is_watch_failed(error):
                return None
            raise
    return switched


async def _watch(pipe: Any, names: set[str]) -> None:
    ordered = sorted(names)
    for start in range(0, len(ordered), CHUNK):
        await pipe.watch(*ordered[start : start + CHUNK])


async def switch(redis: "Redis", plan: SwitchPlan) -> Switched:
    """Renames every shadow key onto its live name and deletes `stale_live` keys the shadow does
    not replace, and records `version`: one MULTI/EXEC, so readers never see a mix of copies.
    A live key written since the shadow's last catch-up goes back to the shadow's state until
    the caller catches the live copy up (see `try_switch`, which avoids that)."""
    shadow = await scan_keys(redis, plan.shadow_prefix)
    async with redis.pipeline(transaction=True) as pipe:
        switched = _queue_switch(pipe, plan, shadow)
        await pipe.execute()
    return switched


def _live_name(plan: SwitchPlan, shadow_key: str) -> str:
    return plan.live_prefix + shadow_key[len(plan.shadow_prefix) :]


def _queue_switch(pipe: Any, plan: SwitchPlan, shadow: list[str]) -> Switched:
    targets = {key: _live_name(plan, key) for key in shadow}
    stale = sorted(plan.stale_live - set(targets.values()))
    for key, target in targets.items():
        pipe.rename(key, target)
    if stale:
        pipe.unlink(*stale)
    queue_record(pipe, plan.name, plan.version)
    return Switched(renamed=len(targets), deleted=len(stale))


# --- Comparing two copies -------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    kind: str  # hash | zset | set | string | list | none
    content: Any


def _text(raw: bytes) -> str:
    return raw.decode(errors="backslashreplace")


async def values(redis: "Redis", names: Sequence[str], prefix: str) -> dict[str, Value]:
    """Each key `prefix + name`'s type and content, by name, a few round trips per chunk."""
    found: dict[str, Value] = {}
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        async with redis.pipeline(transaction=False) as pipe:
            for name in chunk:
                pipe.type(prefix + name)
            kinds = [_text(kind) for kind in await pipe.execute()]
        async with redis.pipeline(transaction=False) as pipe:
            for name, kind in zip(chunk, kinds, strict=True):
                _queue_read(pipe, prefix + name, kind)
            contents = await pipe.execute()
        for name, kind, raw in zip(chunk, kinds, contents, strict=True):
            found[name] = Value(kind, _content(kind, raw))
    return found


def _queue_read(pipe: Any, key: str, kind: str) -> None:
    match kind:
        case "hash":
            pipe.hgetall(key)
        case "zset":
            pipe.zrange(key, 0, -1, withscores=True)
        case "set":
            pipe.smembers(key)
        case "list":
            pipe.lrange(key, 0, -1)
        case "string":
            pipe.get(key)
        case _:  # none (missing), or a type no projection writes: compared by type alone
            pipe.exists(key)


def _content(kind: str, raw: Any) -> Any:
    match kind:
        case "hash":
            return {_text(k): _text(v) for k, v in raw.items()}
        case "zset":
            return {_text(member): float(score) for member, score in raw}
        case "set":
            return {_text(member) for member in raw}
        case "list":
            return [_text(item) for item in raw]
        case "string":
            return None if raw is None else _text(raw)
        case _:
            return None


@dataclass(frozen=True)
class Difference:
    """One way a key of the live copy differs from the rebuilt one.

    `field` names the hash field, sorted-set or set member that differs (None: the whole key);
    a value of None means missing on that side.
    """

    key: str
    field: str | None
    live: Any
    rebuilt: Any

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "field": self.field, "live": self.live, "rebuilt": self.rebuilt}


def differences(key: str, live: Value, rebuilt: Value) -> list[Difference]:
    """Every difference of one key between the copies (empty when they agree)."""
    if live.kind != rebuilt.kind or live.kind in ("string", "list", "none"):
        if live == rebuilt:
            return []
        return [Difference(key, None, _whole(live), _whole(rebuilt))]
    if live.kind == "set":
        return [
            Difference(key, member, member in live.content, member in rebuilt.content)
            for member in sorted(live.content ^ rebuilt.content)
        ]
    # hash fields, or sorted-set members and their scores
    names = sorted(set(live.content) | set(rebuilt.content))
    return [
        Difference(key, name, live.content.get(name), rebuilt.content.get(name))
        for name in names
        if live.content.get(name) != rebuilt.content.get(name)
    ]


def _whole(value: Value) -> Any:
    """A key's content as one printable value: None when it does not exist."""
    if value.kind == "none":
        return None
    if value.kind == "set":
        return sorted(value.content)
    return value.content


async def compare(
    redis: "Redis", live_prefix: str, rebuilt_prefix: str, names: Sequence[str] | None = None
) -> list[Difference]:
    """Differences between two copies: every key of either (or only `names`), by name."""
    if names is None:
        live_names = {key[len(live_prefix) :] for key in await scan_keys(redis, live_prefix)}
        rebuilt_keys = await scan_keys(redis, rebuilt_prefix)
        names = sorted(live_names | {key[len(rebuilt_prefix) :] for key in rebuilt_keys})
    live = await values(redis, names, live_prefix)
    rebuilt = await values(redis, names, rebuilt_prefix)
    found: list[Difference] = []
    for name in names:
        found += differences(live_prefix + name, live[name], rebuilt[name])
    return found

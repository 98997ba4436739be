"""Per-partition stream statistics for operators: lengths, groups, pending, lag and age, dead."""

from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from infra import keys
from infra.errors import translated
from infra.scripts import COUNT_AFTER
from infra.settings import Settings
from infra.streams import parse_id

LAG_COUNT_CAP = 10_000


@dataclass(frozen=True)
class GroupStats:
    name: str
    consumers: int
    pending: int  # delivered, not yet acknowledged
    lag: int  # not yet delivered to anyone
    lag_capped: bool  # counted up to LAG_COUNT_CAP only: there are at least `lag`
    last_delivered_id: str
    oldest_pending_age_s: float | None  # since the oldest pending entry was appended
    oldest_pending_idle_s: float | None  # since it was last delivered (reclaimed past a limit)
    # Since the oldest entry not yet acknowledged (pending, else the first undelivered) was
    # appended: how far behind the group runs, in time. None when it has finished everything.
    oldest_unprocessed_age_s: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StreamStats:
    key: str
    length: int
    groups: list[GroupStats]

    def group(self, name: str) -> GroupStats | None:
        return next((group for group in self.groups if group.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "length": self.length,
            "groups": [group.to_json() for group in self.groups],
        }


@dataclass(frozen=True)
class PartitionStats:
    partition: int
    commands: StreamStats
    events: StreamStats
    dead_letters: int

    def to_json(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "commands": self.commands.to_json(),
            "events": self.events.to_json(),
            "dead_letters": self.dead_letters,
        }


@dataclass(frozen=True)
class StreamsReport:
    redis_version: str
    partitions: list[PartitionStats]

    def to_json(self) -> dict[str, Any]:
        return {
            "redis_version": self.redis_version,
            "partitions": [partition.to_json() for partition in self.partitions],
        }


async def stream_stats(redis: "Redis", settings: Settings) -> StreamsReport:
    """Every partition's streams and groups in two round trips, however many there are: the
    streams and their groups first, then what each group needs counted or looked up."""
    streams = [
        key for p in range(settings.partitions) for key in (keys.commands(p), keys.events(p))
    ]
    async with translated():
        await COUNT_AFTER.ensure_loaded(redis)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.info("server")
            pipe.time()  # ages are measured on the server's clock, which stamped the entry ids
            for key in streams:
                pipe.xlen(key)
                pipe.xinfo_groups(key)  # an error for a stream nothing ran on yet: no groups
            for p in range(settings.partitions):
                pipe.xlen(keys.dead_letters(p))
            first = await pipe.execute(raise_on_error=False)
        info, (seconds, micros) = _ok(first[0]), _ok(first[1])
        now_ms = seconds * 1000 + micros // 1000
        found = first[2 : 2 + 2 * len(streams)]
        lengths = {key: _ok(found[2 * i]) for i, key in enumerate(streams)}
        groups = {
            key: [] if isinstance(found[2 * i + 1], Exception) else found[2 * i + 1]
            for i, key in enumerate(streams)
        }
        dead = [_ok(n) for n in first[2 + 2 * len(streams) :]]
        async with redis.pipeline(transaction=False) as pipe:
            for key in streams:
                for group in groups[key]:
                    _queue_group_lookups(pipe, key, group)
            looked_up = iter(await pipe.execute())
    stats = {
        key: StreamStats(
            key=key,
            length=lengths[key],
            groups=[_group(group, looked_up, now_ms) for group in groups[key]],
        )
        for key in streams
    }
    partitions = [
        PartitionStats(
            partition=p,
            commands=stats[keys.commands(p)],
            events=stats[keys.events(p)],
            dead_letters=dead[p],
        )
        for p in range(settings.partitions)
    ]
    return StreamsReport(redis_version=str(info.get("redis_version", "")), partitions=partitions)


def _queue_group_lookups(pipe: Any, key: str, info: dict[str, Any]) -> None:
    """The group's lookups, in the order `_group` reads their replies."""
    last_delivered = _text(info["last-delivered-id"])
    if info.get("lag") is None:
        # Redis 6.2's XINFO GROUPS has no `lag` (7.x gives none when deletions make it unknown):
        # count the entries after the group's last-delivered-id, on the server, up to a cap.
        COUNT_AFTER.queue(pipe, [key], [last_delivered, LAG_COUNT_CAP])
    pipe.xpending_range(key, _text(info["name"]), min="-", max="+", count=1)
    pipe.xrange(key, min=f"({last_delivered}", count=1)  # the first undelivered, if any


def _group(info: dict[str, Any], looked_up: Any, now_ms: int) -> GroupStats:
    known: int | None = info.get("lag")
    lag = int(next(looked_up)) if known is None else known
    capped = known is None and lag >= LAG_COUNT_CAP
    oldest, first = next(looked_up), next(looked_up)
    age = idle = None
    if oldest:  # none when acknowledged since XINFO: nothing pending to age
        age = _age_s(now_ms, oldest[0]["message_id"])
        idle = oldest[0]["time_since_delivered"] / 1000
    # A pending entry is older than any undelivered one; without one, the first undelivered.
    unprocessed = age
    if unprocessed is None and lag and first:
        unprocessed = _age_s(now_ms, first[0][0])
    return GroupStats(
        name=_text(info["name"]),
        consumers=int(info["consumers"]),
        pending=int(info["pending"]),
        lag=lag,
        lag_capped=capped,
        last_delivered_id=_text(info["last-delivered-id"]),
        oldest_pending_age_s=age,
        oldest_pending_idle_s=idle,
        oldest_unprocessed_age_s=unprocessed,
    )


def _ok(reply: Any) -> Any:
    """A reply that must not be an error (the first pipeline runs with errors returned)."""
    if isinstance(reply, Exception):
        raise reply
    return reply


def _age_s(now_ms: int, entry_id: bytes | str) -> float:
    """Seconds since the entry was appended, read from the time part of its id."""
    return max(0, now_ms - parse_id(entry_id)[0]) / 1000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

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
    async with translated():
        info = await redis.info("server")
        # Ages are measured on the server's clock, the one that stamped the entry ids.
        seconds, micros = await redis.time()
        now_ms = seconds * 1000 + micros // 1000
        partitions = [
            PartitionStats(
                partition=p,
                commands=await _stream(redis, keys.commands(p), now_ms),
                events=await _stream(redis, keys.events(p), now_ms),
                dead_letters=await redis.xlen(keys.dead_letters(p)),
            )
            for p in range(settings.partitions)
        ]
    return StreamsReport(redis_version=str(info.get("redis_version", "")), partitions=partitions)


async def _stream(redis: "Redis", key: str, now_ms: int) -> StreamStats:
    if not await redis.exists(key):  # XINFO GROUPS refuses a missing key; nothing ran on it yet
        return StreamStats(key=key, length=0, groups=[])
    length: int = await redis.xlen(key)
    groups = [await _group(redis, key, info, now_ms) for info in await redis.xinfo_groups(key)]
    return StreamStats(key=key, length=length, groups=groups)


async def _group(redis: "Redis", key: str, info: dict[str, Any], now_ms: int) -> GroupStats:
    name, last_delivered = _text(info["name"]), _text(info["last-delivered-id"])
    lag: int | None = info.get("lag")
    capped = False
    if lag is None:
        # Redis 6.2's XINFO GROUPS has no `lag` (7.x gives none when deletions make it unknown):
        # count the entries after the group's last-delivered-id, on the server, up to a cap.
        lag = int(await COUNT_AFTER(redis, [key], [last_delivered, LAG_COUNT_CAP]))
        capped = lag >= LAG_COUNT_CAP
    age = idle = None
    if info["pending"]:
        oldest = await redis.xpending_range(key, name, min="-", max="+", count=1)
        if oldest:  # acknowledged since XINFO: nothing pending to age
            age = _age_s(now_ms, oldest[0]["message_id"])
            idle = oldest[0]["time_since_delivered"] / 1000
    # A pending entry is older than any undelivered one; without one, the first undelivered.
    unprocessed = age
    if unprocessed is None and lag:
        first = await redis.xrange(key, min=f"({last_delivered}", count=1)
        if first:
            unprocessed = _age_s(now_ms, first[0][0])
    return GroupStats(
        name=name,
        consumers=int(info["consumers"]),
        pending=int(info["pending"]),
        lag=lag,
        lag_capped=capped,
        last_delivered_id=last_delivered,
        oldest_pending_age_s=age,
        oldest_pending_idle_s=idle,
        oldest_unprocessed_age_s=unprocessed,
    )


def _age_s(now_ms: int, entry_id: bytes | str) -> float:
    """Seconds since the entry was appended, read from the time part of its id."""
    return max(0, now_ms - parse_id(entry_id)[0]) / 1000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""`sluice check`: each projection rebuilt into a shadow copy and compared with the live one.

The live copy is built event by event as the projector goes; the shadow from the whole log in
one pass. With every write guarded by version, both must end the same, so any difference is
a damaged or stale read model (a bug, a hand edit, a projection changed without a rebuild).
Writes go on meanwhile: a difference is only reported if it survives a few rounds of catching
the shadow up and waiting for the live projector to reach the same positions.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from infra import keys, projections
from infra.projections import Difference
from infra.settings import Settings
from infra.streams import parse_id
from worker.projectors import Projection
from worker.rebuild import ProjectionBusy
from worker.replay import CHUNK, START, Lease, Progress, Replay, Silent, total_events

SHADOW = keys.shadow_root("check")
ROUNDS = 3
SETTLE_SECONDS = 5.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class CheckReport:
    name: str
    events: int
    undecodable: int
    differences: list[Difference] = field(default_factory=list)
    live_behind: bool = False  # the live projector never reached the shadow's positions

    @property
    def clean(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "clean": self.clean,
            "events": self.events,
            "undecodable": self.undecodable,
            "live_behind": self.live_behind,
            "differences": [difference.to_json() for difference in self.differences],
        }


async def check(
    redis: "Redis",
    settings: Settings,
    projection: Projection,
    *,
    progress: Progress | None = None,
    chunk: int = CHUNK,
    settle_seconds: float = SETTLE_SECONDS,
) -> CheckReport:
    """Compares the projection's live copy with one rebuilt from the logs; changes nothing live."""
    lease = Lease(redis, keys.projection_lock(f"check:{projection.name}"))
    if not await lease.take():
        raise ProjectionBusy(projection.name)
    live_prefix, shadow_prefix = projection.prefix(), projection.prefix(SHADOW)
    progress = progress or Silent()
    replay = Replay(redis, settings, projection, SHADOW, progress, chunk=chunk, lock=lease.key)
    try:
        await projections.delete_keys(redis, shadow_prefix)
        progress.start(await total_events(redis, settings))
        await replay.catch_up()
        progress.finish()
        reached = await live_reached(redis, settings, replay.positions, settle_seconds)
        found = await projections.compare(redis, live_prefix, shadow_prefix)
        for _ in range(ROUNDS):
            if not found:
                break
            # Concurrent writes: the shadow catches up, the live projector gets as far, and only
            # the keys that differed are compared again.
            await replay.catch_up()
            reached = await live_reached(redis, settings, replay.positions, settle_seconds)
            names = sorted({d.key[len(live_prefix) :] for d in found})
            found = await projections.compare(redis, live_prefix, shadow_prefix, names)
    finally:
        progress.finish()
        await projections.delete_keys(redis, shadow_prefix)
        await lease.release()
    return CheckReport(
        name=projection.name,
        events=replay.applied,
        undecodable=replay.undecodable,
        differences=found,
        live_behind=not reached,
    )


async def live_reached(
    redis: "Redis", settings: Settings, positions: dict[int, str], within: float
) -> bool:
    """Waits (up to `within` seconds) until the live projector has applied and acknowledged
    every entry up to `positions`; False if it did not get there in time."""
    deadline = time.monotonic() + within
    while True:
        behind = [
            p
            for p, position in positions.items()
            if position != START and not await _projected(redis, keys.events(p), position)
        ]
        if not behind:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)


async def _projected(redis: "Redis", stream: str, position: str) -> bool:
    groups = await redis.xinfo_groups(stream)
    group = next((g for g in groups if _text(g["name"]) == keys.PROJECTOR_GROUP), None)
    if group is None:
        return True  # no live projector has ever read this log: nothing to wait for
    if parse_id(group["last-delivered-id"]) < parse_id(position):
        return False
    summary = await redis.xpending(stream, keys.PROJECTOR_GROUP)
    return not summary["pending"] or parse_id(summary["min"]) > parse_id(position)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

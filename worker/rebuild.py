"""`sluice projections rebuild`: a projection replayed into a shadow copy, then switched in.

1. Leftover shadow keys of an earlier run are deleted.
2. Every partition log is replayed from its start into the shadow (`worker.replay`).
3. The live keys are listed, and the shadow caught up once more: every live view the list
   holds came from an event the shadow has now applied, so a listed live key the shadow lacks
   is one the new code no longer writes.
4. The switch: the live projectors are asked to hold their writes for a moment (a fence key
   they poll, which expires by itself); every key the switch touches is WATCHed; the shadow
   catches up to the tails once more; then one MULTI/EXEC renames every shadow key onto its
   live name, deletes those stale live keys and records the new version
   (`infra.projections.try_switch`). A query sees the old copy or the new one, never a mix,
   and never a missing view that either copy has. A write racing it cancels the EXEC, and the
   switch is tried again; if writes still race it when its time is up (a writer that does not
   honour the fence), it switches anyway and step 5 repairs the views written meanwhile.
5. The live copy is caught up from where the shadow got to. Applying events again is harmless
   (every write is guarded by version), and the live projector goes on.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from infra import keys, projections, scripts
from infra.settings import Settings
from worker.projectors import Projection
from worker.replay import CHUNK, Lease, Progress, Replay, Silent, total_events

log = logging.getLogger("sluice.worker.rebuild")

SHADOW = keys.shadow_root("rebuild")
# The switch holds the live projectors back for a moment (they poll the fence): a few
# milliseconds when it goes well, never longer than the fence lives.
FENCE_SECONDS = 5
SWITCH_SECONDS = 2.0
FENCE_RETRY_SECONDS = 0.005


async def _switch(
    redis: "Redis", plan: projections.SwitchPlan, replay: Replay
) -> tuple[projections.Switched | None, int]:
    """The exact switch (`projections.try_switch`), retried while the live projectors are
    fenced off; (None, attempts) if some writer kept racing it until the fence's time ran out."""
    fence = Lease(redis, keys.projection_fence(), seconds=FENCE_SECONDS)
    # Another projection's switch (it takes milliseconds) or a dead one's fence (it expires).
    while not await fence.take():  # noqa: ASYNC110 (another process's key: polled)
        await asyncio.sleep(FENCE_RETRY_SECONDS)
    deadline = time.monotonic() + SWITCH_SECONDS
    attempts = 0
    try:
        while time.monotonic() < deadline:
            attempts += 1
            switched = await projections.try_switch(redis, plan, replay.catch_up)
            if switched is not None:
                return switched, attempts
            await asyncio.sleep(FENCE_RETRY_SECONDS)  # a batch in flight when the fence went up
        return None, attempts
    finally:
        await fence.release()


class ProjectionBusy(RuntimeError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is being rebuilt or checked by another run; try again later")


@dataclass(frozen=True)
class RebuildReport:
    name: str
    version: int
    events: int  # entries replayed, over every pass
    undecodable: int  # entries skipped because they could not be read
    keys: int  # shadow keys switched in
    stale: int  # live keys deleted because the new copy does not have them
    seconds: float
    switch_attempts: int = 1
    exact: bool = True  # switched with no live write racing it (else caught up just after)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "events": self.events,
            "undecodable": self.undecodable,
            "keys": self.keys,
            "stale": self.stale,
            "seconds": round(self.seconds, 3),
            "switch_attempts": self.switch_attempts,
            "exact": self.exact,
        }


async def rebuild(
    redis: "Redis",
    settings: Settings,
    projection: Projection,
    *,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> RebuildReport:
    """Rebuilds the projection's live copy from the logs while queries keep being answered."""
    started = time.monotonic()
    lease = Lease(redis, keys.projection_lock(projection.name))
    if not await lease.take():
        raise ProjectionBusy(projection.name)
    shadow_prefix = projection.prefix(SHADOW)
    progress = progress or Silent()
    try:
        await scripts.load_all(redis)
        await projections.delete_keys(redis, shadow_prefix)
        replay = Replay(redis, settings, projection, SHADOW, progress, chunk=chunk, lock=lease.key)
        progress.start(await total_events(redis, settings))
        await replay.catch_up()
        live_keys = await projections.scan_keys(redis, projection.prefix())
        plan = projections.SwitchPlan(
            name=projection.name,
            version=projection.version,
            shadow_prefix=shadow_prefix,
            live_prefix=projection.prefix(),
            stale_live=frozenset(live_keys),
        )
        switched, attempts = await _switch(redis, plan, replay)
        exact = switched is not None
        if switched is None:
            log.warning(
                "%s: live writes kept racing the switch; switching anyway, and catching up "
                "the views written meanwhile",
                projection.name,
            )
            await replay.catch_up()
            switched = await projections.switch(redis, plan)
        # Whatever the live projector applied meanwhile, to the old copy or the new, once more.
        replay.root = keys.LIVE_READ_MODELS
        await replay.catch_up()
    finally:
        progress.finish()
        # After a switch nothing is left; after a failure the live copy is untouched.
        await projections.delete_keys(redis, shadow_prefix)
        await lease.release()
    return RebuildReport(
        name=projection.name,
        version=projection.version,
        events=replay.applied,
        undecodable=replay.undecodable,
        keys=switched.renamed,
        stale=switched.deleted,
        seconds=time.monotonic() - started,
        switch_attempts=attempts,
        exact=exact,
    )

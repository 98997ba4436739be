"""What a running API app holds: settings, its Redis client, group commit and read, the rate
limit's counts, the callers kept, hasher."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request

from infra import durability, logs, partition_count, scripts
from infra.bootstrap import ensure_first_admin
from infra.gc_settings import tune_after_startup
from infra.group_commit import GroupCommitter
from infra.group_read import GroupReader
from infra.metrics import GATEWAY_REVOCATIONS_FOLLOWED, GATEWAY_SESSIONS_KEPT
from infra.passwords import Passwords
from infra.rate_limit import SharedCounts
from infra.redis import connect
from infra.session_cache import RevocationFollower, SessionCache
from infra.settings import Settings

log = logging.getLogger("sluice.api")


@dataclass(frozen=True)
class AppState:
    settings: Settings
    redis: "Redis"
    passwords: Passwords
    committer: GroupCommitter
    reader: GroupReader  # the per-request lookups of concurrent requests, in one round trip
    counts: SharedCounts  # the per-IP rate limit's hits, written behind the requests
    durability: durability.Watch  # checked at start-up, and by admin at each /metrics scrape
    sessions: SessionCache  # callers read lately, while the revocations stream is followed


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.sluice
    return state


def lifespan_for(
    settings: Settings, *, process: str = "web"
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    # Now, while uvicorn's factory runs: its own start-up lines come out in the same format.
    logs.configure(process)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = connect(settings)
        try:
            await partition_count.check_at_start(redis, settings.partitions, log)
        except partition_count.PartitionCountMismatch:
            await redis.aclose()
            raise
        # The shared pipelines' own client: each flush is bounded whole, no reply one by one.
        grouped = connect(settings, socket_timeout=None)
        state = AppState(
            settings,
            redis,
            Passwords(settings.hash_concurrency),
            GroupCommitter(grouped, settings),
            GroupReader(grouped),
            SharedCounts(grouped),
            durability.Watch(log),
            SessionCache(settings.session_cache_ms / 1000),
        )
        app.state.sluice = state
        GATEWAY_SESSIONS_KEPT.set_function(lambda: len(state.sessions))
        GATEWAY_REVOCATIONS_FOLLOWED.set_function(lambda: float(state.sessions.enabled))
        # A blocking read of its own: its client's socket timeout outlasts the block.
        tailing = connect(settings, socket_timeout=settings.read_block_ms / 1000 + 5)
        follower = RevocationFollower(tailing, state.sessions, block_ms=settings.read_block_ms)
        try:
            await scripts.load_all(redis)
            await state.durability.check(redis)
            await ensure_first_admin(redis, settings, state.passwords)
        except Exception as error:  # Redis may come up later; requests answer 503 until then
            log.warning("start-up tasks skipped: %s", error)
        follower.start()
        tune_after_startup()
        try:
            yield
        finally:
            await follower.stop()
            await tailing.aclose()
            # Requests are drained by now; answer any append still queued before closing.
            await state.committer.close()
            await state.counts.close()
            await grouped.aclose()
            await redis.aclose()

    return lifespan

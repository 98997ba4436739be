"""The worker process's arq settings (run as `python -m worker`, see worker/host.py).

arq brings the CLI, signal handling, its health-check key and cron jobs; the stream consumers
are tasks started in `on_startup` and drained in `on_shutdown`.
"""

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from arq.connections import RedisSettings
from arq.cron import cron
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from infra import durability, keys, logs, partition_count
from infra.errors import TRANSIENT, is_unavailable
from infra.gc_settings import tune_after_startup
from infra.metrics import LAG
from infra.redis import connect
from infra.settings import get_settings, settings_or_exit
from infra.stream_stats import stream_stats
from infra.streams import trim_settled
from worker import metrics_server
from worker.commands import command_lanes
from worker.consumer import StreamConsumer
from worker.consumer_names import LEASE_SECONDS, ConsumerName, remove_stale
from worker.delayed import submit_follow_up
from worker.deps import Deps
from worker.projector import Projector
from worker.reactor import Reactor
from worker.retries import retry_command

log = logging.getLogger("sluice.worker")

T = TypeVar("T")

STALE_CONSUMER_IDLE_MS = 3600 * 1000
DURABILITY_CHECK_SECONDS = 60
LAG_EVERY_SECONDS = 5
START_RETRY = ExponentialBackoff(cap=5.0, base=0.1)  # between start-up attempts: 0.1 s to 5 s
# Each of arq's calls rides out a blip (a restart, a failover) on its connection's retries:
# backoff up to 1 s, about 5 s in all. A longer outage costs arq's loop turns (`worker.host`),
# each logged, and a stop asked for meanwhile is not held up for long.
ARQ_RETRIES = 8
# arq's first connection is tried this many times, a second apart, each try with the retries
# above: a worker started before its Redis waits about five minutes, a warning a try.
ARQ_START_ATTEMPTS = 50


async def startup(ctx: dict[str, Any]) -> None:
    logs.configure("worker")
    settings = get_settings()
    # No per-reply timeout: the consumers bound each batch as a whole (`iteration_timeout`).
    redis = connect(settings, socket_timeout=None)
    try:
        await _once_redis_takes_it(
            "checking the data's partition count",
            lambda: partition_count.check(redis, settings.partitions),
        )
    except partition_count.PartitionCountMismatch as error:
        log.error("refusing to start: %s", error)
        await redis.aclose()
        raise
    durability_watch = durability.Watch(log)
    await durability_watch.check(redis)
    name = ConsumerName(redis, "worker", settings.consumer_name)
    consumer = await _once_redis_takes_it("taking a consumer name", name.acquire)
    deps = Deps(settings=settings, redis=redis, consumer=consumer, arq=ctx["redis"])
    lanes = command_lanes(deps)
    projector = Projector(deps)
    reactor = Reactor(deps)
    ctx.update(
        deps=deps,
        metrics_server=metrics_server.start(settings),
        consumer_name=name,
        consumers=[*lanes, projector, reactor],
        tasks=[
            *(
                asyncio.create_task(lane.run(), name=f"commands-{i}")
                for i, lane in enumerate(lanes)
            ),
            asyncio.create_task(projector.run(), name="projector"),
            asyncio.create_task(reactor.run(), name="reactor"),
        ],
        # Each worker's own, not arq cron jobs: a cron job runs on whichever worker takes it,
        # and each worker must renew its own lease and keep its own gauge fresh.
        housekeeping=[
            asyncio.create_task(_renew_lease(name), name="lease"),
            asyncio.create_task(watch_durability(durability_watch, redis), name="durability"),
        ],
    )
    tune_after_startup()
    loop = type(asyncio.get_running_loop())
    log.info(
        "worker %s consuming %d partitions in %d command lanes (event loop: %s.%s)",
        consumer,
        settings.partitions,
        len(lanes),
        loop.__module__,
        loop.__qualname__,
    )


async def _once_redis_takes_it(what: str, step: Callable[[], Awaitable[T]]) -> T:
    """`step`, retried with backoff while Redis is away or refuses writes (a full server): a
    worker started meanwhile waits instead of exiting (under `make run`, with every other
    process). A SIGTERM meanwhile cancels the wait, as it would any start-up."""
    failures = 0
    while True:
        try:
            return await step()
        except Exception as error:
            if not is_unavailable(error):
                raise
            delay = START_RETRY.compute(failures)
            log.warning("%s: Redis unavailable (%s); retrying in %.1f s", what, error, delay)
        await asyncio.sleep(delay)
        failures += 1


async def shutdown(ctx: dict[str, Any]) -> None:
    """Stops reading, finishes the batch in hand (within the grace time), releases the name."""
    if "deps" not in ctx:
        return
    deps: Deps = ctx["deps"]
    for consumer in ctx["consumers"]:
        consumer.stop()
    consuming, housekeeping = ctx["tasks"], ctx["housekeeping"]
    for task in housekeeping:
        task.cancel()
    _, pending = await asyncio.wait(consuming, timeout=deps.settings.shutdown_grace_seconds)
    for task in pending:
        task.cancel()  # what it held stays pending for another worker
    await asyncio.gather(*consuming, *housekeeping, return_exceptions=True)
    with contextlib.suppress(Exception):
        await ctx["consumer_name"].release()
    await deps.redis.aclose()
    if ctx["metrics_server"] is not None:
        ctx["metrics_server"].stop()
    log.info("worker %s stopped", deps.consumer)


async def _renew_lease(name: ConsumerName) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        try:
            if not await name.renew():
                log.error("consumer name %s was taken over after a stall", name.name)
        except Exception:
            log.warning("could not renew the consumer lease of %s", name.name)


async def watch_durability(
    watch: durability.Watch, redis: Redis, every: float = DURABILITY_CHECK_SECONDS
) -> None:
    """The server's durability settings again and again: an operator may change them."""
    while True:
        await asyncio.sleep(every)
        await watch.check(redis)


async def remove_stale_consumers(ctx: dict[str, Any]) -> int:
    deps: Deps = ctx["deps"]
    streams = [
        (stream, group)
        for partition in range(deps.settings.partitions)
        for stream, group in (
            (keys.commands(partition), keys.WORKERS_GROUP),
            (keys.events(partition), keys.PROJECTOR_GROUP),
            (keys.events(partition), keys.REACTOR_GROUP),
        )
    ]
    return await remove_stale(deps.redis, streams, deps.consumer, STALE_CONSUMER_IDLE_MS)


async def reclaim_sweep(ctx: dict[str, Any]) -> int:
    """A backstop to the sweeps inside the consumer loops, on arq's own schedule."""
    consumers: list[StreamConsumer] = ctx["consumers"]
    return sum([await consumer.reclaim() for consumer in consumers])


async def trim_command_streams(ctx: dict[str, Any]) -> int:
    """Command streams shrink below what every group settled; event logs are never trimmed:
    they are the store."""
    deps: Deps = ctx["deps"]
    return sum(
        [await trim_settled(deps.redis, keys.commands(p)) for p in range(deps.settings.partitions)]
    )


async def measure_lag(ctx: dict[str, Any]) -> None:
    """Consumer lag for this worker's /metrics: one worker of the fleet runs each tick."""
    deps: Deps = ctx["deps"]
    LAG.record(await stream_stats(deps.redis, deps.settings))


def arq_redis_settings(dsn: str, retries: int = ARQ_RETRIES) -> RedisSettings:
    """arq's connection, each call riding out a Redis blip of a few seconds."""
    return dataclasses.replace(
        RedisSettings.from_dsn(dsn),
        retry_on_error=list(TRANSIENT),
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        conn_retries=ARQ_START_ATTEMPTS,
    )


class WorkerSettings:
    redis_settings = arq_redis_settings(settings_or_exit("worker").arq_redis)
    on_startup = startup
    on_shutdown = shutdown
    functions: ClassVar[list[Any]] = [retry_command, submit_follow_up]
    cron_jobs: ClassVar[list[Any]] = [
        cron(remove_stale_consumers, minute=None, second=17),
        cron(reclaim_sweep, minute=None, second={5, 35}),
        cron(trim_command_streams, minute=None, second=47),
        cron(measure_lag, minute=None, second=set(range(0, 60, LAG_EVERY_SECONDS))),
    ]
    handle_signals = True
    # Deferred retries start within this of their time: the backoff base is 0.2 s.
    poll_delay = 0.1
    health_check_interval = 10

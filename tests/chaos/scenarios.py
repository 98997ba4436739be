"""Scenarios 1, 2 and 4: workers SIGKILLed, Redis SIGKILLed, garbage in the command streams."""

import asyncio
import itertools
import uuid

import httpx
import orjson
from redis.asyncio import Redis

from infra import keys
from tests.chaos.cluster import Cluster
from tests.chaos.common import (
    Sizes,
    checker,
    note,
    reached,
    settle,
    stopped,
)
from tests.chaos.load import Sent, Tally, User, post_command, run_load, sign_up
from tests.chaos.verify import Figures
from tests.e2e.client import listen

WORKERS = ("worker-1", "worker-2", "worker-3")
SETTLE_WITHIN = 30.0  # every command final this long after the last send
LOAD_WITHIN = 150.0  # a load stops sending after this, whatever is left
OUTAGE_SECONDS = 3.0
OUTAGE_REFUSALS = 20  # Redis stays down until the gateway refused this many requests, too


async def worker_kills(cluster: Cluster, sizes: Sizes) -> Figures:
    """1. A worker SIGKILLed every 2 s (short run: 0.75 s) and restarted under its consumer
    name, three workers in all."""
    await cluster.start(workers=len(WORKERS))
    users = await sign_up(cluster, sizes.users)
    load_done = asyncio.Event()
    killer = asyncio.create_task(_kill_workers(cluster, sizes.kill_every, load_done))
    try:
        tally = await run_load(
            cluster,
            users,
            label="kill",
            count=sizes.kill_load,
            concurrency=sizes.clients,
            within=LOAD_WITHIN,
            pause=sizes.kill_spread * sizes.clients / sizes.kill_load,
        )
        load_done.set()
        held = await killer
    finally:
        await stopped(killer)
    loop = asyncio.get_running_loop()
    left = SETTLE_WITHIN - (loop.time() - tally.last_send)
    figures = await settle(cluster, tally, users, within=left)
    settled_after = loop.time() - tally.last_send
    note(
        f"{len(held)} worker kills, holding {sum(held)} unacknowledged entries between them; "
        f"all final {settled_after:.1f}s after the last send"
    )
    figures.check(len(held) >= 2, f"only {len(held)} kills happened during the load")
    figures.check(sum(held) > 0, "no kill caught a worker holding entries")
    figures.check(
        figures.final < figures.accepted or settled_after <= SETTLE_WITHIN,
        f"settling took {settled_after:.1f}s",
    )
    figures.check(figures.succeeded == figures.accepted, "every rename should have succeeded")
    return figures


async def _kill_workers(cluster: Cluster, every: float, load_done: asyncio.Event) -> list[int]:
    """Kills round the workers until the load is done; how many entries each victim held."""
    held: list[int] = []
    async with checker(cluster) as redis:
        for name in itertools.cycle(WORKERS):
            try:
                await asyncio.wait_for(load_done.wait(), every)
                return held
            except TimeoutError:
                pass  # time for the next kill
            held.append(await _aim(redis, cluster.partitions, name, within=every / 2))
            await cluster.restart_worker(name)
    raise AssertionError("unreachable")


async def _aim(redis: "Redis", partitions: int, consumer: str, within: float) -> int:
    """Waits, briefly, until `consumer` holds unacknowledged entries, so that the kill lands in
    the middle of a batch; returns how many it holds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while True:
        async with redis.pipeline(transaction=False) as pipe:
            for partition in range(partitions):
                pipe.xpending(keys.commands(partition), keys.WORKERS_GROUP)
            summaries = await pipe.execute()
        held = sum(
            int(row["pending"])
            for summary in summaries
            for row in summary["consumers"]
            if row["name"].decode() == consumer
        )
        if held or loop.time() >= give_up:
            return held
        await asyncio.sleep(0.002)  # nothing announces "a batch in hand": poll, briefly


async def redis_restart(cluster: Cluster, sizes: Sizes) -> Figures:
    """2. Redis SIGKILLed mid-load and restarted on its data (AOF, fsync always)."""
    await cluster.start(workers=len(WORKERS))
    users = await sign_up(cluster, sizes.users)
    tally = Tally()
    going = tally.when(lambda t: t.answers["202"] >= sizes.redis_load // 3)
    refusing = tally.when(lambda t: t.answers["503"] + t.answers["500"] >= OUTAGE_REFUSALS)
    load = load_across_a_fault(cluster, users, sizes, tally, "outage")
    loop = asyncio.get_running_loop()
    try:
        await reached(going, 60, "the load never got going")
        accepted_before = len(tally.accepted)
        cluster.kill_redis()
        down_at = loop.time()
        # The outage lasts long enough for every process to run into it (arq polls every
        # 0.1 s, the relay blocks 0.2 s per read): a chosen duration, not a wait for an event.
        await asyncio.sleep(OUTAGE_SECONDS)
        await reached(refusing, 30, "the gateway never refused a request with Redis down")
        await cluster.restart_redis()
        note(
            f"Redis SIGKILLed after {accepted_before} acceptances, "
            f"back {loop.time() - down_at:.1f}s later"
        )
        await load
    finally:
        await stopped(load)
    relay_status = await _result_over_relay(cluster, users[0], tally)
    figures = await settle(cluster, tally, users, within=SETTLE_WITHIN)
    note(f"answers: {dict(sorted(tally.answers.items()))}")
    figures.check(tally.answers["503"] > 0, "no 503 while Redis was down")
    dead = [name for name in WORKERS if not cluster.alive(name)]
    figures.check(not dead, f"died while Redis was down: {dead}")
    figures.check(cluster.alive("relay"), "the relay died while Redis was down")
    figures.check(
        relay_status == "succeeded", f"a result after recovery reached the relay: {relay_status}"
    )
    figures.check(figures.succeeded == figures.accepted, "every rename should have succeeded")
    return figures


def load_across_a_fault(
    cluster: Cluster, users: list[User], sizes: Sizes, tally: Tally, label: str
) -> "asyncio.Task[Tally]":
    """The load a Redis fault falls on (scenarios 2 and 6), sent in the background."""
    return asyncio.create_task(
        run_load(
            cluster,
            users,
            label=label,
            count=sizes.redis_load,
            concurrency=sizes.clients,
            within=LOAD_WITHIN,
            tally=tally,
        )
    )


async def _result_over_relay(cluster: Cluster, user: User, tally: Tally) -> str:
    """A WebSocket client connected after the recovery receives its command's result."""
    async with listen(cluster.relay) as listener:
        sent = Sent(str(uuid.uuid4()), user, "after-recovery")
        tally.sent.append(sent)
        async with httpx.AsyncClient(base_url=cluster.web, timeout=10) as web:
            await post_command(web, sent, tally, reply_to=listener.reply_to)
        if not sent.accepted:
            return "not accepted"
        try:
            frame = await listener.result_of(sent.command_id)
        except TimeoutError:
            return "no result frame"
    return str(frame["status"])


async def poison(cluster: Cluster, sizes: Sizes) -> Figures:
    """4. Garbage XADDed straight into every command stream while real commands flow."""
    await cluster.start(workers=len(WORKERS))
    users = await sign_up(cluster, sizes.users)
    tally = Tally()
    load = asyncio.create_task(
        run_load(
            cluster,
            users,
            label="poison",
            count=sizes.poison_load,
            concurrency=sizes.clients,
            within=LOAD_WITHIN,
            tally=tally,
        )
    )
    injected: list[tuple[int, str]] = []
    step = sizes.poison_load // (sizes.poison_rounds + 1)
    try:
        async with checker(cluster) as redis:
            for round_ in range(1, sizes.poison_rounds + 1):
                due = tally.when(lambda t, n=round_ * step: t.answers["202"] >= n)
                await reached(due, 60, f"the load never reached {round_ * step} acceptances")
                injected += await _inject(redis, cluster.partitions)
        await load
    finally:
        await stopped(load)
    figures = await settle(cluster, tally, users, within=SETTLE_WITHIN)
    async with checker(cluster) as redis:
        dead = await _dead_lettered(redis, cluster.partitions)
        pending = await _pending(redis, cluster.partitions)
    wrong = [(p, i, dead.get((p, i))) for p, i in injected if dead.get((p, i)) != "poison_message"]
    note(
        f"{len(injected)} garbage entries injected; dead-lettered as poison_message: "
        f"{len(injected) - len(wrong)}"
    )
    figures.check(not wrong, f"not dead-lettered as poison_message: {wrong[:5]}")
    stuck = [item for item in injected if item in pending]
    figures.check(not stuck, f"garbage left pending: {stuck[:5]}")
    figures.check(figures.succeeded == figures.accepted, "every rename should have succeeded")
    return figures


def _garbage(partition: int) -> list[dict[str, bytes]]:
    """Entries no worker can run: not JSON, the wrong JSON, half an envelope, an unknown
    command, a command aimed at the wrong kind of aggregate, no envelope at all."""
    envelope = {
        "command_id": str(uuid.uuid4()),
        "command": "ChangeDisplayName",
        "payload": {"user_id": "nobody", "display_name": "x"},
        "aggregate_id": "user:nobody",
        "partition": partition,
        "correlation_id": "poison",
        "submitted_at": 0,
    }
    return [
        {"e": b"\xff\xfe not json at all"},
        {"e": b"[1, 2, 3]"},
        {"e": orjson.dumps({"command_id": str(uuid.uuid4()), "command": "ChangeDisplayName"})},
        {"e": orjson.dumps({**envelope, "command": "LaunchRockets"})},
        {"e": orjson.dumps({**envelope, "aggregate_id": "order:nobody"})},
        {"something": b"else entirely"},
    ]


async def _inject(redis: "Redis", partitions: int) -> list[tuple[int, str]]:
    injected = []
    for partition in range(partitions):
        for fields in _garbage(partition):
            entry_id = await redis.xadd(keys.commands(partition), fields)  # type: ignore[arg-type]
            injected.append((partition, entry_id.decode()))
    return injected


async def _dead_lettered(redis: "Redis", partitions: int) -> dict[tuple[int, str], str]:
    """(partition, source entry id) -> error code, for everything in the dead-letter streams."""
    found: dict[tuple[int, str], str] = {}
    for partition in range(partitions):
        for _, fields in await redis.xrange(keys.dead_letters(partition)):
            error = orjson.loads(fields[b"error"])
            found[(partition, fields[b"source"].decode())] = error["code"]
    return found


async def _pending(redis: "Redis", partitions: int) -> set[tuple[int, str]]:
    pending: set[tuple[int, str]] = set()
    for partition in range(partitions):
        rows = await redis.xpending_range(
            keys.commands(partition), keys.WORKERS_GROUP, min="-", max="+", count=10_000
        )
        pending.update((partition, row["message_id"].decode()) for row in rows)
    return pending

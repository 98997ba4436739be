"""`make bench`: one embedded Redis, the same ~200-byte payloads, each figure the median of 3.

`python -m bench.run [--quick] [--reps N]`

The load (pre-appended messages, commands and jobs) is written by this process; each consumer
runs in a process of its own (`bench.ceiling`, `bench.arq_peer`, `bench.sluice_worker`), bounded
in time. Every run checks its work: nothing left pending, one settlement per message, and for
Sluice every command `succeeded` with exactly its events. Results: a table on stdout, each
speed target met or not, and `bench/results.json`. Row 0 (`bench.machine`) prices a round trip
between two processes on this machine at the time of the run, the unit the other rows are made of.

The gateway (4) and end-to-end (5) rows run the Procfile's own processes (`bench.stack`), each
section on a redis-server of its own with the appendfsync it names, the load coming from a
process of its own (`bench.load_http`, closed loop at each concurrency, then open loop at
1,000 requests/s; `bench.load_e2e`, open loop): every request must be answered 202, the
command streams must grow by one entry per 202, and end to end every command must get exactly
one `succeeded` result frame.
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import Redis

from bench import bare_gateway
from bench.common import (
    CHILD_TIMEOUT_SECONDS,
    CONSUMER_GROUP,
    REDIS_OPTIONS,
    ROOT,
    ChildFailed,
    Timing,
    child,
    parse_report,
    payload,
)
from bench.fanout import fanout
from bench.stack import running
from events.commands import ChangeDisplayName
from events.envelope import Envelope
from infra import keys
from infra.command_log import envelope_for, queue_submits, submit_calls
from infra.embedded_redis import EmbeddedRedis, free_port
from infra.identity import registration
from infra.scripts import SUBMIT
from infra.settings import Settings

RESULTS = Path(__file__).with_name("results.json")
PARTITIONS = 4
APPENDFSYNC = "everysec"
CHUNK = 1000  # appends per pipeline while loading


@dataclass
class Row:
    name: str
    unit: str
    reps: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.reps)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": round(self.median, 1),
            "min": round(min(self.reps), 1),
            "max": round(max(self.reps), 1),
            "reps": [round(r, 1) for r in self.reps],
        }


def paired_ratios(numerator: Row, denominator: Row) -> list[float]:
    """Each repetition's own ratio; a ratio's figure is their median. The two rows of a
    repetition ran within a minute of each other, while the repetitions lie minutes apart: a
    shared machine's moods, which move both rows of a repetition alike, cancel out of its ratio,
    but not out of a ratio of medians, whose halves may come from different repetitions."""
    return [a / b for a, b in zip(numerator.reps, denominator.reps, strict=True)]


class CheckFailed(RuntimeError):
    """A run did not do exactly its work: its figure would be meaningless."""


def children(module: str, runs: list[list[str]]) -> Timing:
    """Several children of one module at once, timed as one: from the first one's start to the
    last one's end, their counts summed."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in runs
    ]
    timings = []
    for process in started:
        stdout, stderr = process.communicate(timeout=CHILD_TIMEOUT_SECONDS)
        if process.returncode != 0:
            raise ChildFailed(f"{module} exited {process.returncode}:\n{stdout}\n{stderr}")
        timings.append(parse_report(stdout))
    first = min(t.detail["started_us"] for t in timings)
    last = max(t.detail["finished_us"] for t in timings)
    return Timing(sum(t.processed for t in timings), (last - first) / 1e6, {})


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


async def pending(redis: Redis, stream: str, group: str) -> int:
    info: dict[str, Any] = await redis.xpending(stream, group)
    return int(info["pending"])


# --- 0. the machine ---------------------------------------------------------------------------

MACHINE_ROUND_TRIPS = 5_000


def machine_round_trip() -> Timing:
    """One round trip between two processes over a socket pair: wall time and CPU per side."""
    timing = child("bench.machine", str(MACHINE_ROUND_TRIPS))
    check(timing.processed == MACHINE_ROUND_TRIPS, "machine: round trips missing")
    return timing


# --- 1. raw ceilings --------------------------------------------------------------------------


async def seeded_stream(redis: Redis, stream: str, n: int) -> None:
    """A fresh server holding `stream`: n payloads and the consumer group, from the start."""
    await redis.flushall()
    await redis.xgroup_create(stream, CONSUMER_GROUP, id="0", mkstream=True)
    for start in range(0, n, CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(start, min(n, start + CHUNK)):
                pipe.xadd(stream, {"e": payload(i)})
            await pipe.execute()


async def raw_ceiling(redis: Redis, url: str, n: int, mode: str) -> float:
    stream = "bench:raw"
    await seeded_stream(redis, stream, n)
    timing = child("bench.ceiling", url, stream, mode)
    check(timing.processed == n, f"ceiling {mode}: processed {timing.processed} of {n}")
    check(await pending(redis, stream, CONSUMER_GROUP) == 0, f"ceiling {mode}: entries pending")
    if mode == "commit":
        events = await redis.xlen(f"{stream}:events")
        check(events == n, f"ceiling commit: {events} events for {n} messages")
    return timing.rate


# --- 2. arq -----------------------------------------------------------------------------------

# The peers settle a few thousand jobs a second: 10,000 keep each busy for seconds, as long as
# the Sluice rows run, at half the bench's time.
PEER_MESSAGES = 10_000


async def arq_noop(redis: Redis, port: int, n: int) -> float:
    await redis.flushall()
    arq = ArqRedis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        for start in range(0, n, CHUNK):
            await asyncio.gather(
                *(
                    arq.enqueue_job("noop", payload(i).decode())
                    for i in range(start, min(n, start + CHUNK))
                )
            )
    finally:
        await arq.aclose()
    timing = child("bench.arq_peer", "127.0.0.1", str(port))
    check(timing.processed == n, f"arq: {timing.processed} jobs completed of {n}")
    check(timing.detail.get("failed", 0) == 0, f"arq: {timing.detail['failed']} jobs failed")
    return timing.rate


async def faststream_noop(redis: Redis, url: str, n: int) -> float:
    """The same ~200-byte entries as the ceilings, through FastStream's group subscriber."""
    stream = "bench:faststream"
    await seeded_stream(redis, stream, n)
    timing = child("bench.faststream_peer", url, stream, str(n))
    check(timing.processed == n, f"faststream: {timing.processed} handled of {n}")
    left = await pending(redis, stream, CONSUMER_GROUP)
    check(left == 0, f"faststream: {left} entries left pending")
    return timing.rate


# --- 3. the Sluice worker ---------------------------------------------------------------------


def pad_to(text: str, size: int) -> str:
    return text + "x" * max(0, size - len(text))


async def append_commands(redis: Redis, settings: Settings, envelopes: list[Envelope]) -> None:
    await SUBMIT.ensure_loaded(redis)
    for start in range(0, len(envelopes), CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            queue_submits(pipe, submit_calls(settings, envelopes[start : start + CHUNK]))
            appended = await pipe.execute()
        check(all(all(call) for call in appended), "a command was not appended")


async def check_settled(
    redis: Redis, settings: Settings, commands: list[tuple[int, str]], events_total: int
) -> None:
    """Every command `succeeded`, every event log holds exactly the events expected, and no
    command entry is left pending."""
    for start in range(0, len(commands), CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for partition, command_id in commands[start : start + CHUNK]:
                pipe.hget(keys.command_status(partition, command_id), "status")
            statuses = await pipe.execute()
        wrong = [s for s in statuses if s != b"succeeded"]
        check(not wrong, f"sluice: {len(wrong)} commands not succeeded, e.g. {wrong[:3]}")
    logged = 0
    for p in range(settings.partitions):
        logged += await redis.xlen(keys.events(p))
        check(await pending(redis, keys.commands(p), keys.WORKERS_GROUP) == 0, "sluice: pending")
    check(logged == events_total, f"sluice: {logged} events logged, {events_total} expected")


def drain_commands(url: str, workers: int) -> Timing:
    deadline = str(CHILD_TIMEOUT_SECONDS - 30)
    runs = [[url, str(PARTITIONS), deadline, f"bench-worker-{i + 1}"] for i in range(workers)]
    return children("bench.sluice_worker", runs)


async def sluice_worker(redis: Redis, url: str, n: int, workers: int) -> tuple[float, float]:
    """RegisterUser (fake hash) for n new users, then ChangeDisplayName once for each of them:
    the first run also registers the users the second one needs. Commands per second, each,
    drained by `workers` processes at once."""
    await redis.flushall()
    settings = Settings(redis_url=url, partitions=PARTITIONS)
    users: list[tuple[str, str]] = []  # (user id, aggregate id)
    envelopes: list[Envelope] = []
    ids: list[tuple[int, str]] = []
    for i in range(n):
        email = f"user{i}@bench.example"
        command, aggregate = registration(
            email=email,
            password_hash="",
            display_name=None,
            partitions=settings.partitions,
            seed=email,
        )
        # A stand-in for an argon2id hash of about the real length, padding to ~200 bytes.
        size = len(command.password_hash) + 200 - len(_encoded(command))
        command = _with_hash(command, pad_to("$argon2id$v=19$m=65536,t=3,p=4$fake$", size))
        env = envelope_for(settings=settings, command=command, aggregate_id=aggregate)
        users.append((command.user_id, aggregate))
        envelopes.append(env)
        ids.append((env.partition, env.command_id))
    await append_commands(redis, settings, envelopes)
    register = drain_commands(url, workers)
    check(register.processed == n, f"RegisterUser: {register.processed} read of {n}")
    await check_settled(redis, settings, ids, 2 * n)  # UserRegistered, UserPasswordSet

    envelopes, ids = [], []
    for i, (user_id, aggregate) in enumerate(users):
        rename = ChangeDisplayName(user_id=user_id, display_name=pad_to(f"renamed-{i}-", 100))
        env = envelope_for(settings=settings, command=rename, aggregate_id=aggregate, actor=user_id)
        envelopes.append(env)
        ids.append((env.partition, env.command_id))
    await append_commands(redis, settings, envelopes)
    trivial = drain_commands(url, workers)
    check(trivial.processed == n, f"ChangeDisplayName: {trivial.processed} read of {n}")
    await check_settled(redis, settings, ids, 3 * n)  # + DisplayNameChanged
    return register.rate, trivial.rate


def _encoded(command: Any) -> bytes:
    from events.codec import encoder

    return encoder.encode(command)


def _with_hash(command: Any, password_hash: str) -> Any:
    import msgspec

    return msgspec.structs.replace(command, password_hash=password_hash)


# --- 4. the gateway ---------------------------------------------------------------------------

GATEWAY_FSYNC = ("always", "everysec")
GATEWAY_CONCURRENCY = (1, 32, 128)
GATEWAY_TARGETS = {
    "sluice": "Sluice POST /command (ChangeDisplayName, signed in)",
    "bare": "bare Starlette + msgspec, one XADD per request",
    "coalesced": "bare, concurrent XADDs coalesced in one pipeline",
}
GATEWAY_SECONDS = 1.0  # each timed run at most, -n requests at most
GATEWAY_WARMUP = 200  # untimed requests before each timed run
# Open loop with `appendfsync always`: requests sent at this rate whatever the answers, each
# timed from its scheduled send (Sluice and the bare coalesced endpoint).
GATEWAY_OPEN_RATE = 1_000
GATEWAY_OPEN_SECONDS = 2.0
GATEWAY_OPEN_CONNECTIONS = 256  # the most the generator opens
# The longest display name there is: the body is 160 bytes (plus a Bearer header for Sluice).
GATEWAY_BODY = json.dumps(
    {"command": "ChangeDisplayName", "payload": {"display_name": pad_to("gateway-", 100)}},
    separators=(",", ":"),
)


async def appended(redis: Redis, streams: list[str]) -> int:
    return sum([await redis.xlen(stream) for stream in streams])


async def gateway_run(
    redis: Redis,
    streams: list[str],
    port: int,
    connections: int,
    n: int,
    seconds: float,
    headers: list[str],
    name: str,
    rate: float | None = None,
) -> Timing:
    """One load_http run (open loop at `rate`, if given); the streams must grow by exactly one
    entry per 202."""
    before = await appended(redis, streams)
    args = ["--port", str(port), "--body", GATEWAY_BODY, "--connections", str(connections)]
    args += ["--count", str(n), "--seconds", str(seconds), "--warmup", str(GATEWAY_WARMUP)]
    if rate is not None:
        args += ["--rate", str(rate)]
    for header in headers:
        args += ["--header", header]
    timing = child("bench.load_http", *args)  # exits non-zero on any answer but 202
    entries = await appended(redis, streams) - before
    accepted = timing.detail["accepted"]
    check(accepted == timing.processed + GATEWAY_WARMUP, f"{name}: {accepted} answers 202")
    check(entries == accepted, f"{name}: {entries} entries appended for {accepted} answers 202")
    return timing


async def gateway_open_loop(
    redis: Redis, streams: list[str], port: int, headers: list[str], name: str
) -> Timing:
    """`gateway_run` open loop: `GATEWAY_OPEN_RATE` requests/s for `GATEWAY_OPEN_SECONDS`."""
    count = round(GATEWAY_OPEN_RATE * GATEWAY_OPEN_SECONDS)
    return await gateway_run(
        redis,
        streams,
        port,
        GATEWAY_OPEN_CONNECTIONS,
        count,
        GATEWAY_OPEN_SECONDS,
        headers,
        name,
        rate=GATEWAY_OPEN_RATE,
    )


async def gateway(n: int, seconds: float, appendfsync: str) -> dict[str, Timing]:
    """Sluice's web process, then the bare gateway without and with coalescing, each at every
    concurrency, on one redis-server. Keyed `target-appendfsync-connections`; with `always`,
    Sluice and the coalesced endpoint also open loop (`target-always-open`)."""
    open_loop = appendfsync == "always"
    timings: dict[str, Timing] = {}
    with running(appendfsync) as stack:
        redis: Redis = Redis.from_url(stack.redis.url)
        try:
            stack.start("worker")
            stack.start("web")
            account = stack.sign_up("gateway@bench.example")
            stack.stop("worker")  # only the gateway is measured: nothing drains the streams
            streams = [keys.commands(p) for p in range(Settings().partitions)]
            auth = [f"Authorization: Bearer {account.token}"]
            for c in GATEWAY_CONCURRENCY:
                key = f"sluice-{appendfsync}-{c}"
                port = stack.ports["web"]
                timings[key] = await gateway_run(redis, streams, port, c, n, seconds, auth, key)
            if open_loop:
                key = "sluice-always-open"
                timings[key] = await gateway_open_loop(redis, streams, port, auth, key)
            stack.stop("web")
            port = free_port()
            for target in ("bare", "coalesced"):
                stack.start_bare_gateway(port, coalesce=target == "coalesced")
                for c in GATEWAY_CONCURRENCY:
                    key = f"{target}-{appendfsync}-{c}"
                    stream = [bare_gateway.STREAM]
                    timings[key] = await gateway_run(redis, stream, port, c, n, seconds, [], key)
                if open_loop and target == "coalesced":
                    key = f"{target}-always-open"
                    timings[key] = await gateway_open_loop(redis, stream, port, [], key)
                stack.stop("bare")
        finally:
            await redis.aclose()
    return timings


# --- 5. end to end ----------------------------------------------------------------------------

E2E_RATES = (250, 500, 1000, 2500)
E2E_SECONDS = 3.0  # sending at each rate (2 with --quick)
E2E_P99_TARGET_US = 50_000


# Whose CPU each end-to-end rate reports, per command (the admin process idles throughout).
E2E_CPU_PROCESSES = ("web", "worker", "relay", "redis", "load")
E2E_CPU_SPLIT_RATE = 1_000  # the rate whose split has rows of its own
# Redis's latency monitor logs, for each second, its slowest fsync of at least this many ms:
# under `appendfsync always` every reply of that moment waits for it. The state of the disk
# during a run, beside row 0's price of a round trip.
SLOW_FSYNC_MS = 2


async def slow_fsyncs(redis: Redis) -> list[int]:
    """The slowest fsync (ms) of each second since the monitor was last reset, if it took at
    least `SLOW_FSYNC_MS`; the monitor is reset for the next run."""
    history = await redis.latency_history("aof-fsync-always")
    await redis.latency_reset()
    return [int(ms) for _, ms in history]


async def end_to_end(seconds: float) -> dict[int, Timing]:
    """Every Procfile process on one redis-server (appendfsync always); one signed-in user's
    ChangeDisplayName commands at each rate in turn, results awaited on the relay."""
    timings: dict[int, Timing] = {}
    with running("always") as stack:
        redis: Redis = Redis.from_url(stack.redis.url)
        try:
            for name in ("worker", "web", "admin", "relay"):
                stack.start(name)
            account = stack.sign_up("e2e@bench.example")
            await redis.config_set("latency-monitor-threshold", SLOW_FSYNC_MS)
            for rate in E2E_RATES:
                await slow_fsyncs(redis)  # the sign-up's and the rate before's left behind
                before = stack.cpu()
                timing = child(
                    "bench.load_e2e",
                    *("--web-port", str(stack.ports["web"])),
                    *("--relay-port", str(stack.ports["relay"])),
                    *("--token", account.token, "--user-id", account.user_id),
                    *("--rate", str(rate), "--seconds", str(seconds)),
                )  # exits non-zero on a missing, duplicate or failed result, or any non-202
                after = stack.cpu()
                slow = await slow_fsyncs(redis)
                sent = timing.detail["sent"]
                check(timing.processed == sent, f"e2e {rate}/s: {timing.processed} of {sent}")
                check(timing.detail["accepted"] == sent, f"e2e {rate}/s: not all answered 202")
                d = timing.detail  # what limits a rate: the generator's own share is one part
                # CPU per command of each process (the load generator's over its timed run):
                # on two cores, what the rate costs and where.
                spent = {name: after[name] - before[name] for name in E2E_CPU_PROCESSES[:-1]}
                spent["load"] = d["generator_cpu_ms"] / 1000
                for name, cpu_s in spent.items():
                    d[f"cpu_{name}_us"] = round(cpu_s * 1e6 / sent)
                d["cpu_all_us"] = sum(d[f"cpu_{name}_us"] for name in spent)
                d["slowest_fsync_us"] = max(slow, default=0) * 1000
                print(
                    f"  e2e {rate}/s: {d['connections']} connections, {d['waited_for_connection']} "
                    f"waited for one, schedule lag p99 {d['lag_p99_us']:,} µs, generator CPU "
                    f"{d['generator_cpu_ms'] / 1000:.1f} s in {timing.elapsed:.1f} s; CPU per "
                    f"command {d['cpu_all_us']:,} µs ("
                    + ", ".join(f"{name} {d[f'cpu_{name}_us']:,}" for name in spent)
                    + f"); an fsync of {SLOW_FSYNC_MS} ms or more in {len(slow)} seconds of the run"
                    + (f", the slowest {max(slow)} ms" if slow else ""),
                    file=sys.stderr,
                )
                for p in range(Settings().partitions):
                    left = await pending(redis, keys.commands(p), keys.WORKERS_GROUP)
                    check(left == 0, f"e2e {rate}/s: {left} commands left pending")
                timings[rate] = timing
        finally:
            await redis.aclose()
    return timings


def highest_rate_within_target(timings: dict[int, Timing]) -> float:
    """The highest rate whose p99 met the target; 0 when none did."""
    met = [rate for rate, t in timings.items() if t.detail["p99_us"] <= E2E_P99_TARGET_US]
    return float(max(met, default=0))


# --- the run ----------------------------------------------------------------------------------


# --- 6. fan-out, 7. growth -----------------------------------------------------------------

FANOUT = ((1, 2000), (100, 300), (1000, 60))  # (subscribers, events): deliveries S x M
GROWTH = (1, 4, 16)
GROWTH_SUBSCRIBERS = 50  # x 1, 4, 16, each receiving GROWTH_EVENTS
GROWTH_EVENTS = 100


async def fanouts(redis: Redis, url: str, quick: bool) -> dict[str, Timing]:
    """Sluice's relay and the bare one, at each subscriber count. Keyed `target-S`."""
    timings: dict[str, Timing] = {}
    for s, m in FANOUT:
        m = max(10, m // 5) if quick else m
        for bare in (False, True):
            key = f"{'bare' if bare else 'sluice'}-{s}"
            timings[key] = await fanout(redis, url, s, m, bare=bare)
    return timings


async def growth(redis: Redis, url: str, n: int) -> dict[str, float]:
    """The worker at 1x, 4x and 16x commands, the relay at 1x, 4x and 16x subscribers: a flat
    rate means the cost per command (per delivery) does not grow with the load."""
    rates: dict[str, float] = {}
    base = max(250, n // 32)
    for factor in GROWTH:
        _, trivial = await sluice_worker(redis, url, base * factor, 1)
        rates[f"worker-{factor}"] = trivial
        s = GROWTH_SUBSCRIBERS * factor
        rates[f"relay-{factor}"] = (await fanout(redis, url, s, GROWTH_EVENTS, bare=False)).rate
    return rates


def _installed(package: str) -> str:
    """Its version, for a package of the bench group that a partial run may not need."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed (make bench installs it)"


async def versions(redis: Redis) -> dict[str, str]:
    info: dict[str, Any] = await redis.info("server")
    return {
        "python": platform.python_version(),
        "redis_server": str(info["redis_version"]),
        "redis_py": version("redis"),
        "hiredis": version("hiredis"),
        "arq": version("arq"),
        "faststream": _installed("faststream"),
        "msgspec": version("msgspec"),
    }


async def measure(
    n: int, reps: int, port: int, only: str | None = None, quick: bool = False
) -> dict[str, Any]:
    url = f"redis://127.0.0.1:{port}/0"
    redis: Redis = Redis.from_url(url)
    rows = {
        "round_trip": Row("0 machine: one round trip between two processes (socket pair)", "µs"),
        "round_trip_cpu": Row("0 machine: CPU per round trip, sender + echoer", "µs"),
        "transport": Row("1a raw transport: XREADGROUP 100 + XACK, pipelined", "msgs/s"),
        "commit": Row("1b raw commit: + Lua XADD/SET/XACK per message, pipelined", "msgs/s"),
        "arq": Row("2 arq 0.28 no-op jobs, 1 worker (burst, poll 0.01, max_jobs 100)", "jobs/s"),
        "faststream": Row("2 FastStream 0.7 Redis Streams group subscriber, no-op", "msgs/s"),
        "trivial": Row("3 Sluice ChangeDisplayName, 1 worker process", "cmds/s"),
        "register": Row("3 Sluice RegisterUser (fake hash, email claim), 1 worker", "cmds/s"),
        "trivial2": Row("3 Sluice ChangeDisplayName, 2 worker processes", "cmds/s"),
        "register2": Row("3 Sluice RegisterUser, 2 worker processes", "cmds/s"),
    }
    for target, label in GATEWAY_TARGETS.items():
        for fsync in GATEWAY_FSYNC:
            for c in GATEWAY_CONCURRENCY:
                name = f"4 {label}, appendfsync {fsync}, {c} conn"
                key = f"{target}-{fsync}-{c}"
                rows[key] = Row(name, "req/s")
                rows[f"{key}-p50"] = Row(f"{name}: p50", "µs")
                rows[f"{key}-p99"] = Row(f"{name}: p99", "µs")
    for target in ("sluice", "coalesced"):
        name = f"4 {GATEWAY_TARGETS[target]}, appendfsync always, open loop"
        key = f"{target}-always-open"
        rows[key] = Row(f"{name}: {GATEWAY_OPEN_RATE} req/s offered, answered", "req/s")
        for q in ("p50", "p99", "p999"):
            rows[f"{key}-{q}"] = Row(f"{name}: {q.replace('p999', 'p99.9')}", "µs")
    for rate in E2E_RATES:
        name = f"5 end to end 202 -> WebSocket result, {rate} cmd/s offered"
        rows[f"e2e-{rate}"] = Row(f"{name}: results", "cmds/s")
        for q in ("p50", "p99", "p999"):
            rows[f"e2e-{rate}-{q}"] = Row(f"{name}: {q.replace('p999', 'p99.9')}", "µs")
        rows[f"e2e-{rate}-http_p99"] = Row(f"{name}: p99 of the 202 alone", "µs")
        rows[f"e2e-{rate}-cpu_all"] = Row(f"{name}: CPU per command, every process", "µs")
        rows[f"e2e-{rate}-slowest_fsync"] = Row(f"{name}: Redis's slowest fsync", "µs")
        if rate == E2E_CPU_SPLIT_RATE:
            for process in E2E_CPU_PROCESSES:
                rows[f"e2e-{rate}-cpu_{process}"] = Row(f"{name}: CPU per command, {process}", "µs")
    for s_count, _ in FANOUT:
        for target, label in (("sluice", "Sluice relay"), ("bare", "bare Starlette relay")):
            name = f"6 fan-out to {s_count} subscriber{'s' if s_count > 1 else ''}, {label}"
            rows[f"fanout-{target}-{s_count}"] = Row(f"{name}: deliveries", "msgs/s")
            rows[f"fanout-{target}-{s_count}-p99"] = Row(f"{name}: p99 XADD to receipt", "µs")
    for factor in GROWTH:
        base = max(250, n // 32)
        rows[f"growth-worker-{factor}"] = Row(
            f"7 growth: Sluice ChangeDisplayName, {base * factor:,} commands ({factor}x)", "cmds/s"
        )
        rows[f"growth-relay-{factor}"] = Row(
            f"7 growth: Sluice relay, {GROWTH_SUBSCRIBERS * factor} subscribers ({factor}x), "
            f"{GROWTH_EVENTS} events",
            "msgs/s",
        )
    rows["e2e-best"] = Row(
        f"5 end to end: highest of {', '.join(map(str, E2E_RATES))} cmd/s with p99 <= "
        f"{E2E_P99_TARGET_US // 1000} ms",
        "cmds/s",
    )
    clock = SectionClock()
    try:
        found = await versions(redis)
        for rep in range(reps):
            print(f"repetition {rep + 1}/{reps} ({n} messages each)", file=sys.stderr)
            clock.lap()
            if only in (None, "ceiling"):
                machine = machine_round_trip().detail
                rows["round_trip"].reps.append(machine["round_trip_us"])
                cpu = machine["sender_cpu_us"] + machine["echoer_cpu_us"]
                rows["round_trip_cpu"].reps.append(cpu)
                for mode in ("transport", "commit"):
                    rows[mode].reps.append(await raw_ceiling(redis, url, n, mode))
            clock.lap("ceiling")
            # The Sluice worker between the rows its ratios are taken against, so that each
            # repetition's ratio compares runs seconds apart.
            if only in (None, "sluice"):
                for workers, suffix in ((1, ""), (2, "2")):
                    register, trivial = await sluice_worker(redis, url, n, workers)
                    rows[f"register{suffix}"].reps.append(register)
                    rows[f"trivial{suffix}"].reps.append(trivial)
            clock.lap("sluice")
            if only in (None, "peers"):
                peer_n = min(n, PEER_MESSAGES)
                rows["arq"].reps.append(await arq_noop(redis, port, peer_n))
                rows["faststream"].reps.append(await faststream_noop(redis, url, peer_n))
            clock.lap("peers")
            if only in (None, "gateway"):
                seconds = GATEWAY_SECONDS
                for fsync in GATEWAY_FSYNC:
                    for key, timing in (await gateway(n, seconds, fsync)).items():
                        rows[key].reps.append(timing.rate)
                        for q in ("p50", "p99", "p999"):
                            if f"{key}-{q}" in rows:
                                rows[f"{key}-{q}"].reps.append(timing.detail[f"{q}_us"])
            clock.lap("gateway")
            if only in (None, "e2e"):
                e2e = await end_to_end(2.0 if quick else E2E_SECONDS)
                for rate, timing in e2e.items():
                    rows[f"e2e-{rate}"].reps.append(timing.rate)
                    for q in ("p50", "p99", "p999", "http_p99", "cpu_all", "slowest_fsync"):
                        rows[f"e2e-{rate}-{q}"].reps.append(timing.detail[f"{q}_us"])
                    if rate == E2E_CPU_SPLIT_RATE:
                        for process in E2E_CPU_PROCESSES:
                            key = f"e2e-{rate}-cpu_{process}"
                            rows[key].reps.append(timing.detail[f"cpu_{process}_us"])
                rows["e2e-best"].reps.append(highest_rate_within_target(e2e))
            clock.lap("e2e")
            if only in (None, "fanout"):
                for key, timing in (await fanouts(redis, url, quick)).items():
                    rows[f"fanout-{key}"].reps.append(timing.rate)
                    rows[f"fanout-{key}-p99"].reps.append(timing.detail["p99_us"])
            clock.lap("fanout")
            if only in (None, "growth"):
                for key, growth_rate in (await growth(redis, url, n)).items():
                    rows[f"growth-{key}"].reps.append(growth_rate)
            clock.lap("growth")
            for row in rows.values():
                if row.reps:
                    print(f"  {row.name}: {row.reps[-1]:,.0f} {row.unit}", file=sys.stderr)
    finally:
        await redis.aclose()
    if only is not None:  # a partial run: the rows it measured, no ratios
        return {
            "versions": found,
            "rows": [row.as_json() for row in rows.values() if row.reps],
            "ratios": {},
            "section_seconds": clock.totals(),
        }
    pairs = {
        **{f"{name}_to_1b": (name, "commit") for name in ("trivial", "register")},
        **{f"{name}_to_arq": (name, "arq") for name in ("trivial", "register")},
        **{f"{name}_to_faststream": (name, "faststream") for name in ("trivial", "register")},
        "relay_to_bare_at_100": ("fanout-sluice-100", "fanout-bare-100"),
        "gateway_to_bare_batched_at_32_always": ("sluice-always-32", "coalesced-always-32"),
    }
    ratio_reps = {key: paired_ratios(rows[a], rows[b]) for key, (a, b) in pairs.items()}
    ratios = {key: round(statistics.median(each), 3) for key, each in ratio_reps.items()}
    ratios["gateway_p99_ms_at_open_rate_always"] = round(
        rows["sluice-always-open-p99"].median / 1000, 1
    )
    return {
        "versions": found,
        "rows": [row.as_json() for row in rows.values()],
        "ratios": ratios,
        "ratio_reps": {key: [round(r, 3) for r in each] for key, each in ratio_reps.items()},
        "targets": against_targets(rows, ratios),
        "section_seconds": clock.totals(),
    }


# Sluice's speed targets, each read from this run's medians. Tight latencies are read at 1,000
# a second, the rate the targets name.
LATENCY_TARGET_US = 10_000
RATE_FOR_LATENCY = 1_000


def against_targets(rows: dict[str, Row], ratios: dict[str, float]) -> list[dict[str, Any]]:
    """Each target: what it asks, what this run measured, and whether that meets it."""
    trivial = rows["trivial"].median
    gateway_p99 = rows["sluice-always-open-p99"].median
    e2e_p99 = rows[f"e2e-{RATE_FOR_LATENCY}-p99"].median
    to_1b, to_faststream, to_arq = (
        ratios["trivial_to_1b"],
        ratios["trivial_to_faststream"],
        ratios["trivial_to_arq"],
    )
    gateway_share = ratios["gateway_to_bare_batched_at_32_always"]
    relay_share = ratios["relay_to_bare_at_100"]
    checks = [
        ("worker ≥ 20,000 cmds/s in one process", f"{trivial:,.0f}/s", trivial >= 20_000),
        ("worker ≥ 50 % of ceiling 1b", f"{to_1b:.0%}", to_1b >= 0.5),
        ("worker ≥ 4x the FastStream peer", f"{to_faststream:.2f}x", to_faststream >= 4),
        ("worker ≥ 9x arq", f"{to_arq:.2f}x", to_arq >= 9),
        (
            "gateway ≥ 70 % of the bare coalesced endpoint (32 connections, always)",
            f"{gateway_share:.0%}",
            gateway_share >= 0.7,
        ),
        (
            f"gateway p99 ≤ 10 ms at {RATE_FOR_LATENCY:,} requests/s (open loop, always)",
            f"{gateway_p99 / 1000:.1f} ms",
            gateway_p99 <= LATENCY_TARGET_US,
        ),
        (
            f"end to end p99 ≤ 10 ms at {RATE_FOR_LATENCY:,} cmd/s (always)",
            f"{e2e_p99 / 1000:.1f} ms",
            e2e_p99 <= LATENCY_TARGET_US,
        ),
        (
            "relay ≥ 70 % of the bare relay at 100 subscribers",
            f"{relay_share:.0%}",
            relay_share >= 0.7,
        ),
    ]
    return [{"target": what, "measured": shown, "met": met} for what, shown, met in checks]


class SectionClock:
    """How long each section took over all repetitions: where the run's minutes go."""

    def __init__(self) -> None:
        self._spent: dict[str, float] = {}
        self._since = time.perf_counter()

    def lap(self, section: str | None = None) -> None:
        now = time.perf_counter()
        if section is not None and now - self._since >= 0.05:  # a skipped section: no entry
            self._spent[section] = self._spent.get(section, 0.0) + now - self._since
        self._since = now

    def totals(self) -> dict[str, float]:
        return {name: round(seconds, 1) for name, seconds in self._spent.items()}


NOT_MEASURED: list[str] = []


def table(result: dict[str, Any]) -> str:
    lines = [
        f"| benchmark ({result['messages']:,} messages, median of {result['repetitions']}) "
        "| median | min | max | unit |",
        "|---|---:|---:|---:|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['name']} | {row['median']:,.0f} | {row['min']:,.0f} | {row['max']:,.0f} "
            f"| {row['unit']} |"
        )
    for name in NOT_MEASURED:
        lines.append(f"| {name} | not measured yet | | | |")
    r = result["ratios"]
    if not r:
        return "\n".join(lines)
    lines.append("")
    lines.append(
        f"Sluice / ceiling 1b: ChangeDisplayName {r['trivial_to_1b']:.1%}, "
        f"RegisterUser {r['register_to_1b']:.1%}. Sluice / arq: ChangeDisplayName "
        f"{r['trivial_to_arq']:.2f}x, RegisterUser {r['register_to_arq']:.2f}x. Sluice / "
        f"FastStream: ChangeDisplayName {r['trivial_to_faststream']:.2f}x, RegisterUser "
        f"{r['register_to_faststream']:.2f}x."
    )
    lines.append(
        f"Sluice gateway / bare batched endpoint at 32 connections, appendfsync always: "
        f"{r['gateway_to_bare_batched_at_32_always']:.1%}. Sluice gateway p99 at "
        f"{GATEWAY_OPEN_RATE:,} requests/s (open loop, always): "
        f"{r['gateway_p99_ms_at_open_rate_always']} ms. Sluice relay / bare relay at 100 "
        f"subscribers: {r['relay_to_bare_at_100']:.1%}."
    )
    lines.append("")
    lines.append("Against the targets:")
    for t in result["targets"]:
        lines.append(f"  {'met    ' if t['met'] else 'not met'}  {t['target']}: {t['measured']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="5,000 messages instead of 20,000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("-n", type=int, default=None, help="messages per benchmark")
    parser.add_argument(
        "--only",
        choices=("sluice", "ceiling", "peers", "gateway", "e2e", "fanout", "growth"),
        default=None,
        help="run only these rows (printed, not written to bench/results.json)",
    )
    args = parser.parse_args()
    n = args.n or (5_000 if args.quick else 20_000)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as data:
        server = EmbeddedRedis(
            Path(data), free_port(), appendfsync=APPENDFSYNC, options=REDIS_OPTIONS
        ).start()
        try:
            measured = asyncio.run(measure(n, args.reps, server.port, args.only, args.quick))
        finally:
            server.stop()
    result: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
        "messages": n,
        "repetitions": args.reps,
        "payload_bytes": 200,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "redis": {
            "appendonly": "yes",
            "appendfsync": APPENDFSYNC,
            "bind": "127.0.0.1",
            "auto-aof-rewrite-percentage": "0",
        },
        **measured,
        "not_measured_yet": NOT_MEASURED,
        "duration_seconds": round(time.time() - started, 1),
    }
    print(table(result))
    spent = ", ".join(f"{name} {secs:.0f} s" for name, secs in result["section_seconds"].items())
    print(f"\ntime per section: {spent}")
    if args.only is not None:
        print(f"\n--only {args.only}: not written to {RESULTS.relative_to(ROOT)}")
        return
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)} in {result['duration_seconds']} s")


if __name__ == "__main__":
    main()

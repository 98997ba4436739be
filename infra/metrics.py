"""Prometheus metrics of every Sluice process: one definition each, bounded labels only; each
process serves its own (`registry_of`).

Label values come from closed sets: command names from `COMMAND_TYPES` (anything else is
`unknown`), error codes and close reasons written in the code, partitions below the configured
count. Never an id, an email or a topic: each distinct value is a new series forever.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from events.commands import COMMAND_TYPES
from infra.stream_stats import StreamsReport

# A `_created` timestamp beside every counter doubles the scrape for nothing Prometheus uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

UNKNOWN = "unknown"
RESULT_STATUSES = frozenset({"succeeded", "rejected", "failed"})
# A command is decided in well under a millisecond and committed in one round trip.
HANDLER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Accepted to pushed spans queueing, retries with backoff and the relay's read.
E2E_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def command_label(name: str) -> str:
    return name if name in COMMAND_TYPES else UNKNOWN


# gateway (web and admin)

GATEWAY_ACCEPTED = Counter(
    "sluice_gateway_commands_accepted",
    "Commands appended to their stream by POST /command (a repeat of a known id not counted).",
    ["command"],
)
_GATEWAY_ACCEPTED_BY_COMMAND = {
    name: GATEWAY_ACCEPTED.labels(name) for name in [*COMMAND_TYPES, UNKNOWN]
}


def gateway_accepted(name: str) -> Counter:
    """The accepted counter's child for a command, built once: no label lookup per request."""
    return _GATEWAY_ACCEPTED_BY_COMMAND.get(name) or _GATEWAY_ACCEPTED_BY_COMMAND[UNKNOWN]


GATEWAY_REJECTED = Counter(
    "sluice_gateway_commands_rejected",
    "POST /command answered with an error, by command and error code.",
    ["command", "code"],
)

# Read at each scrape from the process's `infra.session_cache.SessionCache` (`api.state`).
GATEWAY_SESSIONS_KEPT = Gauge(
    "sluice_gateway_sessions_kept",
    "Callers (a session and its roles) this process keeps from a recent read.",
)
GATEWAY_REVOCATIONS_FOLLOWED = Gauge(
    "sluice_gateway_revocations_followed",
    "1 while this process follows the revocations stream and may keep callers; 0 while it "
    "reads every caller (the stream lost, or SLUICE_SESSION_CACHE_MS=0).",
)

# worker

WORKER_COMMANDS = Counter(
    "sluice_worker_commands",
    "Commands settled by the worker, by command and outcome (succeeded, rejected, failed).",
    ["command", "outcome"],
)
WORKER_HANDLER_SECONDS = Histogram(
    "sluice_worker_handler_seconds",
    "Per settled command: its own decide time plus the load and commit round trips of its batch.",
    ["command"],
    buckets=HANDLER_BUCKETS,
)
WORKER_RETRIES = Counter(
    "sluice_worker_retries",
    "Retries scheduled after a transient failure, by command.",
    ["command"],
)
DEAD_LETTERS = Counter(
    "sluice_dead_letters",
    "Commands moved to a dead-letter stream, by command and error code.",
    ["command", "code"],
)


@dataclass(frozen=True)
class CommandMeters:
    """One command's labelled children, built once: the hot path does no label lookup."""

    succeeded: Counter
    rejected: Counter
    failed: Counter
    retries: Counter
    handler_seconds: Histogram


def _meters(name: str) -> CommandMeters:
    return CommandMeters(
        succeeded=WORKER_COMMANDS.labels(name, "succeeded"),
        rejected=WORKER_COMMANDS.labels(name, "rejected"),
        failed=WORKER_COMMANDS.labels(name, "failed"),
        retries=WORKER_RETRIES.labels(name),
        handler_seconds=WORKER_HANDLER_SECONDS.labels(name),
    )


_COMMAND_METERS = {name: _meters(name) for name in [*COMMAND_TYPES, UNKNOWN]}


def command_meters(name: str) -> CommandMeters:
    return _COMMAND_METERS.get(name) or _COMMAND_METERS[UNKNOWN]


def dead_lettered(command: str | None, code: str) -> None:
    DEAD_LETTERS.labels(command_label(command or UNKNOWN), code).inc()
    command_meters(command or UNKNOWN).failed.inc()


# relay

WS_CONNECTIONS = Gauge("sluice_ws_connections", "WebSocket connections open on this relay.")
WS_FRAMES_SENT = Counter(
    "sluice_ws_frames_sent", "Frames written to WebSocket clients, by frame type.", ["kind"]
)
WS_FRAMES_DROPPED = Counter(
    "sluice_ws_frames_dropped", "Frames discarded unsent: queued for a client that was cut off."
)
WS_CLOSES = Counter(
    "sluice_ws_closes",
    "Connections the relay closed, by reason (slow_consumer, idle, too_many_connections...).",
    ["reason"],
)
COMMAND_E2E_SECONDS = Histogram(
    "sluice_command_e2e_seconds",
    "From the gateway accepting a command to its result frame pushed by the relay, by status.",
    ["status"],
    buckets=E2E_BUCKETS,
)
FRAME_KINDS = frozenset(
    {"welcome", "authenticated", "subscribed", "unsubscribed", "error", "pong", "result", "event"}
)
_FRAMES_SENT = {kind: WS_FRAMES_SENT.labels(kind) for kind in [*FRAME_KINDS, UNKNOWN]}
_E2E = {status: COMMAND_E2E_SECONDS.labels(status) for status in [*RESULT_STATUSES, UNKNOWN]}


def frame_sent(kind: str) -> None:
    (_FRAMES_SENT.get(kind) or _FRAMES_SENT[UNKNOWN]).inc()


def result_pushed(status: str, submitted_at_ms: int) -> None:
    """Observes accepted-to-pushed time; results from before `submitted_at` was recorded skip."""
    if submitted_at_ms <= 0:
        return
    seconds = max(0.0, time.time() - submitted_at_ms / 1000)  # clocks of two hosts: never < 0
    (_E2E.get(status) or _E2E[UNKNOWN]).observe(seconds)


# consumer lag, from `stream_stats`


class LagCollector(Collector):
    """Exports the last stream report recorded, while it is younger than `max_age_s`.

    Lag is a fleet-wide figure computed by whichever process last looked: a report that grew
    old (another worker ran the cron since) is withheld rather than shown stale.
    """

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._report: StreamsReport | None = None
        self._at = 0.0

    def record(self, report: StreamsReport | None) -> None:
        self._report, self._at = report, time.monotonic()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        report = self._report
        if report is None or time.monotonic() - self._at > self.max_age_s:
            return []
        labels = ["stream", "group", "partition"]
        behind = GaugeMetricFamily(
            "sluice_consumer_lag_entries",
            "Entries a consumer group has not finished: pending plus not yet delivered.",
            labels=labels,
        )
        pending = GaugeMetricFamily(
            "sluice_consumer_pending_entries",
            "Entries delivered to the group and not yet acknowledged.",
            labels=labels,
        )
        age = GaugeMetricFamily(
            "sluice_consumer_lag_seconds",
            "Age of the group's oldest unprocessed (pending or undelivered) entry; 0 if none.",
            labels=labels,
        )
        length = GaugeMetricFamily(
            "sluice_stream_entries", "Entries in the stream.", labels=["stream", "partition"]
        )
        dead = GaugeMetricFamily(
            "sluice_dead_letter_entries",
            "Entries waiting in the partition's dead-letter stream.",
            labels=["partition"],
        )
        for p in report.partitions:
            partition = str(p.partition)
            dead.add_metric([partition], p.dead_letters)
            for kind, stream in (("commands", p.commands), ("events", p.events)):
                length.add_metric([kind, partition], stream.length)
                for group in stream.groups:
                    values = [kind, group.name, partition]
                    behind.add_metric(values, group.pending + group.lag)
                    pending.add_metric(values, group.pending)
                    age.add_metric(values, group.oldest_unprocessed_age_s or 0.0)
        return [behind, pending, age, length, dead]


# The worker's cron refreshes it every few seconds; admin's /metrics records it at each scrape.
LAG = LagCollector(max_age_s=30.0)
REGISTRY.register(LAG)

# `infra.durability` sets it: the worker every minute, admin at each scrape.
REDIS_DURABILITY_RISKS = Gauge(
    "sluice_redis_durability_risks",
    "1 for each way the Redis server's settings can lose acknowledged commands (appendonly_off, "
    "eviction), 0 for each it avoids, as last checked; absent when CONFIG GET is refused.",
    ["risk"],
)


# What each process serves: the families it moves, and the runtime's. Every module defines all of
# them, and the worker's are labelled for every command up front: served everywhere, a web
# process would show the worker's counters at zero beside its own.
_RUNTIME: tuple[Collector, ...] = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)
_GATEWAY: tuple[Collector, ...] = (
    GATEWAY_ACCEPTED,
    GATEWAY_REJECTED,
    GATEWAY_SESSIONS_KEPT,
    GATEWAY_REVOCATIONS_FOLLOWED,
)
OWN_FAMILIES: dict[str, tuple[Collector, ...]] = {
    "web": _GATEWAY,
    "admin": (*_GATEWAY, LAG, REDIS_DURABILITY_RISKS),
    "relay": (WS_CONNECTIONS, WS_FRAMES_SENT, WS_FRAMES_DROPPED, WS_CLOSES, COMMAND_E2E_SECONDS),
    "worker": (
        WORKER_COMMANDS,
        WORKER_HANDLER_SECONDS,
        WORKER_RETRIES,
        DEAD_LETTERS,
        LAG,
        REDIS_DURABILITY_RISKS,
    ),
}


def registry_of(process: str) -> CollectorRegistry:
    """A registry of `process`'s own families (web, admin, relay or worker)."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (*_RUNTIME, *OWN_FAMILIES[process]):
        registry.register(collector)
    return registry

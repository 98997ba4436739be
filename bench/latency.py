"""What the load generators share: an open-loop schedule, percentiles in whole microseconds,
their own CPU time, and the check that they send to loopback only."""

import asyncio
import ipaddress
import resource
import time
from collections.abc import AsyncIterator

START_DELAY_NS = 50_000_000  # a schedule starts a little after the set-up


async def on_schedule(rate: float, total: int) -> AsyncIterator[tuple[int, int, int]]:
    """(i, scheduled time, lag) for each of `total` sends, send i due at start + i/rate (ns,
    `perf_counter_ns`). Open loop: the schedule never waits for answers, so a slow answer never
    delays the next send; a generator running late reports its lag."""
    interval_ns = 1e9 / rate
    start = time.perf_counter_ns() + START_DELAY_NS
    for i in range(total):
        target = start + round(i * interval_ns)
        now = time.perf_counter_ns()
        if target > now:
            await asyncio.sleep((target - now) / 1e9)
            now = time.perf_counter_ns()
        yield i, target, max(0, now - target)


def percentile(sorted_ns: list[int], q: float) -> int:
    """The q-quantile (nearest rank) of samples sorted ascending, in microseconds; 0 if none."""
    if not sorted_ns:
        return 0
    rank = min(len(sorted_ns) - 1, max(0, int(q * len(sorted_ns) + 0.5) - 1))
    return sorted_ns[rank] // 1000


def require_loopback(host: str) -> None:
    """The load generators send only to this machine: a typo must not aim them elsewhere."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to send load to {host!r}: loopback addresses only")


def cpu_ms() -> int:
    """CPU time this process used so far: a generator near one core's worth is the limit."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1000)

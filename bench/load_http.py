"""HTTP/1.1 load on one endpoint, closed or open loop, over raw asyncio streams.

`python -m bench.load_http --port P --path /command --body JSON [--header "Name: value"]...
--connections N --count TOTAL --seconds MAX [--warmup W] [--rate R]`

Closed loop (no `--rate`): N keep-alive connections, each sending its next request when the
previous answer has arrived; the run stops at TOTAL timed requests or after MAX seconds,
whichever comes first. Open loop (`--rate R`): request i is sent at start + i/R, R times MAX of them
(at most TOTAL), each on an idle keep-alive connection (a new one while fewer than N are open);
its latency runs from its scheduled time, so a server falling behind is not hidden by a
generator that waits for it. The first W requests (sent one at a time, before the clock starts)
warm the server and are not timed. It reports the timed count, the elapsed time, p50/p99
latency (µs; open loop also p99.9 and the schedule's lag), how many answers were 202 (warm-up
included), and how many were anything else, per status (`status_<code>`): the parent fails the
run on any. Loopback only.
"""

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import uvloop

from bench.common import Timing, report
from bench.latency import cpu_ms, on_schedule, percentile, require_loopback

HEAD_LIMIT = 64 * 1024


class ProtocolError(RuntimeError):
    """The server answered something this minimal client does not read."""


def request_bytes(host: str, port: int, path: str, body: bytes, headers: list[str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response: (status, body). Needs Content-Length (Starlette always sends it)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line!r}")
    length = None
    for line in header_lines:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding":
            raise ProtocolError(f"transfer-encoding {value.strip()} is not read here")
    if length is None:
        raise ProtocolError("no Content-Length")
    body = await reader.readexactly(length)
    return int(parts[1]), body


async def open_connection(
    host: str, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
    return reader, writer


class Pool:
    """Keep-alive connections to one server: an idle one if any, else a new one up to
    `limit`, else the first to come free (the wait counts against the latency)."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        self.idle = asyncio.Queue()
        self.opened = 0
        self.waited = 0  # requests that found every connection busy

    async def post(self, request: bytes) -> tuple[int, bytes]:
        if not self.idle.empty():
            reader, writer = self.idle.get_nowait()
        elif self.opened < self.limit:
            self.opened += 1
            reader, writer = await open_connection(self.host, self.port)
        else:
            self.waited += 1
            reader, writer = await self.idle.get()
        writer.write(request)
        answer = await read_response(reader)
        self.idle.put_nowait((reader, writer))
        return answer

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()


@dataclass
class Tally:
    """What every connection adds to: the shared budget, the answers and their latencies."""

    count: int
    deadline: float
    issued: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    first_error: bytes = b""
    last_ns: int = 0  # when the latest answer arrived

    def claim(self) -> bool:
        if self.issued >= self.count or time.perf_counter() >= self.deadline:
            return False
        self.issued += 1
        return True

    def answer(self, status: int, body: bytes) -> None:
        self.last_ns = time.perf_counter_ns()
        self.statuses[status] += 1
        if status != 202 and not self.first_error:
            self.first_error = body[:300]


async def one_connection(host: str, port: int, request: bytes, tally: Tally) -> None:
    reader, writer = await open_connection(host, port)
    try:
        while tally.claim():
            sent = time.perf_counter_ns()
            writer.write(request)
            status, body = await read_response(reader)
            tally.latencies_ns.append(time.perf_counter_ns() - sent)
            tally.answer(status, body)
    finally:
        writer.close()


async def warm_up(host: str, port: int, request: bytes, requests: int, tally: Tally) -> None:
    if requests == 0:
        return
    reader, writer = await open_connection(host, port)
    try:
        for _ in range(requests):
            writer.write(request)
            tally.answer(*await read_response(reader))
    finally:
        writer.close()


async def scheduled_post(pool: Pool, request: bytes, scheduled_ns: int, tally: Tally) -> None:
    status, body = await pool.post(request)
    tally.latencies_ns.append(time.perf_counter_ns() - scheduled_ns)
    tally.answer(status, body)


async def open_loop(args: argparse.Namespace, request: bytes) -> tuple[Timing, Tally]:
    total = min(args.count, round(args.rate * args.seconds))
    tally = Tally(count=total, deadline=float("inf"))
    pool = Pool(args.host, args.port, args.connections)
    lags: list[int] = []
    posts = []
    start = 0
    try:
        async for _, scheduled, lag in on_schedule(args.rate, total):
            start = start or scheduled
            lags.append(lag)
            posts.append(asyncio.create_task(scheduled_post(pool, request, scheduled, tally)))
        await asyncio.gather(*posts)
    finally:
        pool.close()
    latencies = sorted(tally.latencies_ns)
    lags.sort()
    detail = {
        "p50_us": percentile(latencies, 0.50),
        "p99_us": percentile(latencies, 0.99),
        "p999_us": percentile(latencies, 0.999),
        "lag_p99_us": percentile(lags, 0.99),
        "connections": pool.opened,
        "waited_for_connection": pool.waited,
    }
    return Timing(len(latencies), (tally.last_ns - start) / 1e9, detail), tally


async def closed_loop(args: argparse.Namespace, request: bytes) -> tuple[Timing, Tally]:
    started = time.perf_counter()
    tally = Tally(count=args.count, deadline=started + args.seconds)
    await asyncio.gather(
        *(one_connection(args.host, args.port, request, tally) for _ in range(args.connections))
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies_ns)
    detail = {"p50_us": percentile(latencies, 0.50), "p99_us": percentile(latencies, 0.99)}
    return Timing(len(latencies), elapsed, detail), tally


async def run(args: argparse.Namespace) -> tuple[Timing, bytes]:
    """The timing, and the body of the first answer that was not 202 (empty if none)."""
    request = request_bytes(args.host, args.port, args.path, args.body.encode(), args.header)
    warm = Tally(count=args.warmup, deadline=float("inf"))
    await warm_up(args.host, args.port, request, args.warmup, warm)
    load = open_loop if args.rate is not None else closed_loop
    cpu_before = cpu_ms()  # the generator's own cost of the timed run
    timing, tally = await load(args, request)
    statuses = warm.statuses + tally.statuses
    timing.detail.update(
        {
            "accepted": statuses[202],
            "generator_cpu_ms": cpu_ms() - cpu_before,
            **{f"status_{code}": n for code, n in sorted(statuses.items()) if code != 202},
        }
    )
    return timing, warm.first_error or tally.first_error


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/command")
    parser.add_argument("--body", required=True, help="the JSON body, sent as it is")
    parser.add_argument("--header", action="append", default=[], help='"Name: value"')
    parser.add_argument(
        "--connections", type=int, default=1, help="open loop: the most it may open"
    )
    parser.add_argument("--count", type=int, required=True, help="timed requests, at most")
    parser.add_argument("--seconds", type=float, required=True, help="timed run, at most")
    parser.add_argument("--warmup", type=int, default=0, help="untimed requests first")
    parser.add_argument("--rate", type=float, default=None, help="open loop: requests/s")
    args = parser.parse_args()
    require_loopback(args.host)
    if args.connections < 1 or args.count < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("connections, count and seconds must be positive, warmup >= 0")
    if args.rate is not None and args.rate <= 0:
        parser.error("rate must be positive")
    return args


def main() -> None:
    timing, first_error = uvloop.run(run(parse_args()))
    report(timing)
    if first_error:
        refused = {k: v for k, v in timing.detail.items() if k.startswith("status_")}
        raise SystemExit(f"answers other than 202: {refused}; the first said {first_error!r}")


if __name__ == "__main__":
    main()

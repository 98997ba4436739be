"""Open-loop end-to-end load: `POST /command` at a fixed rate, each result awaited on the relay.

`python -m bench.load_e2e --web-port P --relay-port R --token T --user-id U --rate N --seconds S`

One WebSocket to the relay, set up as the contract says: `welcome` (its reply_to), `auth` with
the session, `subscribe` to the user's own topic. Then ChangeDisplayName commands go out on a
fixed schedule (command i at start + i/rate), each on an idle keep-alive HTTP connection (a new
one when none is idle): a slow answer never delays the next command. Every command carries its
own command_id and the reply_to, so a result frame is matched to its command whether it arrives
before or after the 202. Latency is (result frame received - the command's scheduled send time):
when the generator falls behind its schedule the lag counts against the latency, and the lag is
reported too, as is the latency of the 202 alone. Every command must be answered 202 and get
exactly one `succeeded` result; the run fails on a missing, duplicate or unsuccessful result, an
error frame or any other status. Loopback only.
"""

import argparse
import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect

from bench.common import Timing, report
from bench.latency import cpu_ms, on_schedule, percentile, require_loopback
from bench.load_http import Pool, request_bytes

DISPLAY_NAME_BYTES = 70


def display_name(i: int) -> str:
    """A new name each time: the same name again would change nothing and emit no event."""
    head = f"end-to-end-{i}-"
    return head + "x" * (DISPLAY_NAME_BYTES - len(head))


@dataclass
class Tally:
    scheduled_ns: dict[str, int] = field(default_factory=dict)
    received_ns: dict[str, int] = field(default_factory=dict)
    lags_ns: list[int] = field(default_factory=list)
    answers_ns: list[int] = field(default_factory=list)  # 202 received - scheduled send
    statuses: Counter[int] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    all_in: asyncio.Event = field(default_factory=asyncio.Event)
    sending_done: bool = False

    def result(self, frame: dict[str, Any], now_ns: int) -> None:
        command_id = frame.get("command_id")
        if not isinstance(command_id, str) or command_id not in self.scheduled_ns:
            # e.g. the RecordLogin of the session's own login: this user's, not this run's.
            self.counts["foreign_results"] += 1
            return
        if command_id in self.received_ns:
            self.counts["duplicates"] += 1
            return
        self.received_ns[command_id] = now_ns
        if frame.get("status") != "succeeded":
            self.counts["not_succeeded"] += 1
        if self.sending_done and len(self.received_ns) == len(self.scheduled_ns):
            self.all_in.set()


async def expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    frame: dict[str, Any] = orjson.loads(await ws.recv())
    if frame.get("type") != kind:
        raise SystemExit(f"expected a {kind} frame, got {frame}")
    return frame


async def receive(ws: ClientConnection, tally: Tally) -> None:
    async for message in ws:
        now = time.perf_counter_ns()
        frame = orjson.loads(message)
        kind = frame.get("type")
        if kind == "result":
            tally.result(frame, now)
        elif kind == "event":
            tally.counts["events"] += 1
        else:
            tally.counts["other_frames"] += 1
            print(f"unexpected frame: {frame}", flush=True)
    tally.counts["relay_closed"] += 1
    tally.all_in.set()  # nothing more will come: let the run end and report what is missing


async def post(pool: Pool, request: bytes, scheduled_ns: int, tally: Tally) -> None:
    status, body = await pool.post(request)
    tally.answers_ns.append(time.perf_counter_ns() - scheduled_ns)
    tally.statuses[status] += 1
    if status != 202 and tally.counts["first_error_printed"] == 0:
        tally.counts["first_error_printed"] = 1
        print(f"first non-202 answer: {status} {body[:300]!r}", flush=True)


async def run(args: argparse.Namespace) -> Timing:
    url = f"ws://{args.host}:{args.relay_port}/ws"
    async with connect(url, max_size=2**20, compression=None) as ws:
        reply_to = (await expect(ws, "welcome"))["reply_to"]
        await ws.send(orjson.dumps({"type": "auth", "token": args.token}).decode())
        await expect(ws, "authenticated")
        topic = f"user:{args.user_id}"
        await ws.send(orjson.dumps({"type": "subscribe", "topic": topic}).decode())
        await expect(ws, "subscribed")
        tally = Tally()
        receiver = asyncio.create_task(receive(ws, tally))
        pool = Pool(args.host, args.web_port, args.max_connections)
        headers = [f"Authorization: Bearer {args.token}"]
        total = round(args.rate * args.seconds)
        cpu_before = cpu_ms()  # the generator's own cost of the run, not of its start-up
        start = 0
        posts = []
        async for i, target, lag in on_schedule(args.rate, total):
            start = start or target
            tally.lags_ns.append(lag)
            command_id = str(uuid.uuid4())
            tally.scheduled_ns[command_id] = target
            body = orjson.dumps(
                {
                    "command": "ChangeDisplayName",
                    "payload": {"display_name": display_name(i)},
                    "command_id": command_id,
                    "reply_to": reply_to,
                }
            )
            request = request_bytes(args.host, args.web_port, "/command", body, headers)
            posts.append(asyncio.create_task(post(pool, request, target, tally)))
        answered, unanswered = await asyncio.wait(posts, timeout=args.drain_seconds)
        for task in unanswered:
            task.cancel()
        errors = [task.exception() for task in answered if task.exception() is not None]
        if errors:
            print(f"{len(errors)} requests failed, the first: {errors[0]!r}", flush=True)
        tally.counts["request_errors"] = len(errors)
        tally.counts["unanswered"] = len(unanswered)
        tally.sending_done = True
        if len(tally.received_ns) == total:
            tally.all_in.set()
        try:
            await asyncio.wait_for(tally.all_in.wait(), args.drain_seconds)
        except TimeoutError:
            pass  # reported as missing
        receiver.cancel()
        pool.close()
    latencies = sorted(tally.received_ns[c] - tally.scheduled_ns[c] for c in tally.received_ns)
    lags = sorted(tally.lags_ns)
    answers = sorted(tally.answers_ns)
    last = max(tally.received_ns.values(), default=start)
    detail = {
        "sent": total,
        "accepted": tally.statuses[202],
        **{f"status_{code}": n for code, n in sorted(tally.statuses.items()) if code != 202},
        "missing": total - len(tally.received_ns),
        "duplicates": tally.counts["duplicates"],
        "not_succeeded": tally.counts["not_succeeded"],
        "other_frames": tally.counts["other_frames"],
        "relay_closed": tally.counts["relay_closed"],
        "foreign_results": tally.counts["foreign_results"],
        "events": tally.counts["events"],
        "p50_us": percentile(latencies, 0.50),
        "p99_us": percentile(latencies, 0.99),
        "p999_us": percentile(latencies, 0.999),
        "http_p50_us": percentile(answers, 0.50),
        "http_p99_us": percentile(answers, 0.99),
        "lag_p99_us": percentile(lags, 0.99),
        "lag_max_us": lags[-1] // 1000 if lags else 0,
        "connections": pool.opened,
        "generator_cpu_ms": cpu_ms() - cpu_before,
        "waited_for_connection": pool.waited,
        "unanswered": tally.counts["unanswered"],
        "request_errors": tally.counts["request_errors"],
    }
    return Timing(len(latencies), (last - start) / 1e9, detail)


FAILURES = (
    "unanswered",
    "request_errors",
    "missing",
    "duplicates",
    "not_succeeded",
    "other_frames",
    "relay_closed",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--web-port", type=int, required=True)
    parser.add_argument("--relay-port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--rate", type=float, required=True, help="commands per second")
    parser.add_argument("--seconds", type=float, required=True, help="how long to send")
    parser.add_argument("--drain-seconds", type=float, default=60.0, help="wait for results")
    parser.add_argument("--max-connections", type=int, default=512)
    args = parser.parse_args()
    require_loopback(args.host)
    if args.rate <= 0 or args.seconds <= 0 or args.max_connections < 1:
        parser.error("rate, seconds and max-connections must be positive")
    return args


def main() -> None:
    timing = uvloop.run(run(parse_args()))
    report(timing)
    wrong = {k: v for k, v in timing.detail.items() if k in FAILURES and v}
    wrong |= {k: v for k, v in timing.detail.items() if k.startswith("status_")}
    if wrong:
        raise SystemExit(f"the run did not do exactly its work: {wrong}")


if __name__ == "__main__":
    main()

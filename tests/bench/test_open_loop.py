"""The open-loop load and what `make bench` reads from a run: a schedule kept whatever the
answers, every request answered over real sockets, the machine's round trip, the targets."""

import argparse
import asyncio
from collections.abc import AsyncIterator
from itertools import pairwise

import pytest

from bench.common import child
from bench.latency import on_schedule
from bench.load_http import run
from bench.run import Row, against_targets

ANSWER = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


async def answer_each_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A keep-alive HTTP/1.1 server of the least kind: every request answered 202."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            writer.write(ANSWER)
    except asyncio.IncompleteReadError:
        pass  # the client closed its connection
    finally:
        writer.close()


@pytest.fixture
async def server_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(answer_each_request, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_a_schedule_sends_each_at_its_time_and_never_early() -> None:
    rate, total = 2_000, 20
    sent = [(target, lag) async for _, target, lag in on_schedule(rate, total)]

    assert len(sent) == total
    gaps = {round((b[0] - a[0]) / 1000) for a, b in pairwise(sent)}
    assert gaps == {500}  # µs: 1/rate apart, whatever each send took
    assert all(lag >= 0 for _, lag in sent)


async def test_open_loop_load_answers_every_request_on_few_connections(server_port: int) -> None:
    args = argparse.Namespace(
        host="127.0.0.1",
        port=server_port,
        path="/command",
        body="{}",
        header=[],
        connections=8,
        count=100,
        seconds=0.05,  # 1,000/s for 50 ms: 50 requests, fewer than count
        warmup=3,
        rate=1_000.0,
    )

    timing, first_error = await run(args)

    assert first_error == b""
    assert timing.processed == 50
    assert timing.detail["accepted"] == 53  # the warm-up's too
    assert 1 <= timing.detail["connections"] <= 8
    assert timing.detail["p50_us"] <= timing.detail["p99_us"] <= timing.detail["p999_us"]
    assert timing.elapsed >= 0.049  # the last request is not sent before its time


def test_the_machine_round_trip_is_measured_between_two_processes() -> None:
    timing = child("bench.machine", "200")

    assert timing.processed == 200
    assert timing.detail["round_trip_us"] > 0
    assert timing.detail["sender_cpu_us"] + timing.detail["echoer_cpu_us"] > 0


def row(*reps: float) -> Row:
    return Row("a row", "unit", list(reps))


def test_each_target_is_read_from_the_medians_of_the_run() -> None:
    rows = {
        "trivial": row(19_000, 21_000, 20_500),  # median 20,500: met
        "sluice-always-open-p99": row(9_000, 12_000, 11_000),  # median 11 ms: not met
        "e2e-1000-p99": row(9_999, 10_000, 10_001),  # median exactly 10 ms: met
    }
    ratios = {
        "trivial_to_1b": 0.49,
        "trivial_to_faststream": 4.0,
        "trivial_to_arq": 9.5,
        "gateway_to_bare_batched_at_32_always": 0.7,
        "relay_to_bare_at_100": 0.69,
    }

    met = {t["target"]: t["met"] for t in against_targets(rows, ratios)}

    assert met == {
        "worker ≥ 20,000 cmds/s in one process": True,
        "worker ≥ 50 % of ceiling 1b": False,
        "worker ≥ 4x the FastStream peer": True,
        "worker ≥ 9x arq": True,
        "gateway ≥ 70 % of the bare coalesced endpoint (32 connections, always)": True,
        "gateway p99 ≤ 10 ms at 1,000 requests/s (open loop, always)": False,
        "end to end p99 ≤ 10 ms at 1,000 cmd/s (always)": True,
        "relay ≥ 70 % of the bare relay at 100 subscribers": False,
    }

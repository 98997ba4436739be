"""The benchmark's load generators read answers exactly, rank latencies and stay on loopback."""

import asyncio
import sys

import pytest

from bench.latency import percentile, require_loopback
from bench.load_http import ProtocolError, read_response, request_bytes
from bench.stack import expand, procfile


def reader_of(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_percentiles_are_nearest_rank_in_microseconds() -> None:
    samples = [ms * 1_000_000 for ms in range(1, 101)]  # 1..100 ms, in ns
    assert percentile(samples, 0.50) == 50_000
    assert percentile(samples, 0.99) == 99_000
    assert percentile(samples, 0.999) == 100_000
    assert percentile([], 0.99) == 0


async def test_pipelined_answers_are_read_one_by_one_by_their_length() -> None:
    first = b'{"ok":true}'
    second = b'{"ok":false,"error":{"code":"rate_limited"}}'
    reader = reader_of(
        b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
        + first
        + f"HTTP/1.1 429 Too Many Requests\r\nContent-Length: {len(second)}\r\n\r\n".encode()
        + second
    )
    assert await read_response(reader) == (202, first)
    assert await read_response(reader) == (429, second)


async def test_an_answer_without_a_length_is_refused_clearly() -> None:
    reader = reader_of(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    with pytest.raises(ProtocolError, match="chunked"):
        await read_response(reader)


def test_a_request_carries_its_length_and_headers() -> None:
    request = request_bytes("127.0.0.1", 8000, "/command", b"{}", ["Authorization: Bearer t"])
    head, _, body = request.partition(b"\r\n\r\n")
    assert body == b"{}"
    assert b"POST /command HTTP/1.1" in head
    assert b"Content-Length: 2" in head
    assert b"Authorization: Bearer t" in head


def test_the_procfile_lines_run_under_this_interpreter_on_the_ports_given() -> None:
    web = expand(procfile()["web"], {"PORT": "18123"})
    assert web[:3] == [sys.executable, "-m", "uvicorn"]
    assert web[web.index("--port") + 1] == "18123"
    assert web[web.index("--host") + 1] == "127.0.0.1"
    assert expand(procfile()["worker"], {})[:3] == [sys.executable, "-m", "worker"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_load_may_go_to_loopback(host: str) -> None:
    require_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.2", "example.com", "8.8.8.8"])
def test_load_is_never_sent_off_this_machine(host: str) -> None:
    with pytest.raises(SystemExit, match="loopback addresses only"):
        require_loopback(host)

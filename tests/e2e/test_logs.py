"""What the running processes write to their logs: JSON lines with context, and no secret."""

import asyncio
import json
import uuid
from typing import Any

import httpx
from redis.asyncio import Redis

from infra import keys
from infra.child_process import Process
from tests.e2e.client import login, register, unique_email, wait_projected
from tests.e2e.conftest import ADMIN_PASSWORD
from tests.e2e.processes import Stack

LOG_TIMEOUT = 10.0


def records(process: Process) -> list[dict[str, Any]]:
    """Every line the process printed, each of which must be one JSON object."""
    lines = [line for line in process.output().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(
                f"{process.name} printed a line that is not JSON: {line}"
            ) from None
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


def process(stack: Stack, name: str) -> Process:
    [found] = [p for p in stack.processes if p.name == name]
    return found


async def poison_logged(stack: Stack, partition: int) -> dict[str, Any]:
    """Appends an entry no worker can read and waits for the worker's log line about it: a line
    the worker writes on demand, after everything before it."""
    client = Redis.from_url(stack.redis_url)
    try:
        source = (await client.xadd(keys.commands(partition), {"e": "{unreadable"})).decode()
        worker = process(stack, "worker")
        async with asyncio.timeout(LOG_TIMEOUT):
            while True:
                # No event announces a log line: the output is polled.
                for record in records(worker):
                    if source in record["msg"]:
                        line = record
                        break
                else:
                    await asyncio.sleep(0.02)
                    continue
                break
        # Leave no dead letter behind for the tests that count them.
        for entry_id, fields in await client.xrange(keys.dead_letters(partition)):
            if fields.get(b"source") == source.encode():
                await client.xdel(keys.dead_letters(partition), entry_id)
    finally:
        await client.aclose()
    return line


async def test_every_process_logs_json_lines_and_the_worker_adds_its_context(
    stack: Stack,
) -> None:
    line = await poison_logged(stack, 1)

    assert line["level"] == "ERROR" and line["process"] == "worker"
    assert line["logger"] == "sluice.worker.commands"
    assert (line["partition"], line["group"]) == (1, keys.WORKERS_GROUP)
    assert line["consumer"]
    for name in ("worker", "web", "admin", "relay"):
        printed = records(process(stack, name))
        assert printed, f"{name} printed nothing"
        for record in printed:
            assert {"ts", "level", "logger", "process", "msg"} <= record.keys(), record
            assert record["process"] == name, record
    started = [r["msg"] for r in records(process(stack, "web"))]
    assert any(msg.startswith("Uvicorn running on") for msg in started)


async def test_the_writing_processes_warn_of_a_server_that_may_lose_data(stack: Stack) -> None:
    # The stack's redis-server runs without an append-only file, as a test server may.
    for name in ("worker", "web", "admin"):
        warned = [
            r
            for r in records(process(stack, name))
            if str(r["msg"]).startswith("Redis may lose acknowledged commands: appendonly is off")
        ]
        assert [r["level"] for r in warned] == ["WARNING"], name


async def test_the_worker_runs_on_uvloop(stack: Stack) -> None:
    started = [r["msg"] for r in records(process(stack, "worker")) if "consuming" in str(r["msg"])]
    assert started and started[0].endswith("(event loop: uvloop.Loop)"), started


async def test_a_password_and_its_hash_never_reach_any_log(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    password = f"never-logged-{uuid.uuid4().hex}"
    email = unique_email("logs")
    response = await register(web, email, password)
    assert response.status_code == 202, response.text
    user_id = await wait_projected(stack, email)
    await login(web, email, password)
    wrong = await web.post("/auth/login", json={"email": email, "password": password + "x"})
    assert wrong.status_code == 401, wrong.text
    client = Redis.from_url(stack.redis_url)
    try:
        password_hash = (await client.hget(keys.credentials(user_id), "doc")).decode()
    finally:
        await client.aclose()
    await poison_logged(stack, 0)  # the worker's output is complete up to here

    assert password_hash.startswith("$argon2")
    for running in stack.processes:
        output = running.output()
        assert password not in output, running.name
        assert ADMIN_PASSWORD not in output, running.name  # hashed by web and admin at start
        assert password_hash not in output, running.name
        assert password_hash.rsplit("$", 1)[-1] not in output, running.name

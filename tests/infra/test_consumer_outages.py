"""The command consumer rides out a Redis that is away or full: it waits, says so in one line,
and settles every command once Redis is back, each once."""

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from infra import keys
from infra.command_log import envelope_for, find_status, submit
from infra.embedded_redis import EmbeddedRedis, free_port
from infra.identity import registration
from infra.redis import connect
from infra.settings import Settings
from worker.commands import CommandConsumer
from worker.deps import Deps

HASH = "$argon2id$v=19$fake-hash-never-shown"
WAIT_SECONDS = 10.0
# 1 MB written by the server itself (a 1 MB SET would leave a query buffer behind, freed later).
BALLAST = "for i = 1, 1000 do redis.call('SET', 'ballast:' .. i, string.rep('x', 1000)) end"


class Seen(logging.Handler):
    """Sets an event when a record holding `text` is logged at `level`."""

    def __init__(self, level: int, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.level_wanted, self.text = level, text
        self.event = asyncio.Event()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.levelno == self.level_wanted and self.text in record.getMessage():
            self.event.set()


@asynccontextmanager
async def watching(text: str) -> AsyncIterator[Seen]:
    seen = Seen(logging.WARNING, text)
    logger = logging.getLogger("sluice.worker")
    logger.addHandler(seen)
    try:
        yield seen
    finally:
        logger.removeHandler(seen)


def server_at(root: Path, port: int) -> EmbeddedRedis:
    return EmbeddedRedis(
        root / str(port),
        port,
        appendonly=False,
        executable=os.environ.get("SLUICE_TEST_REDIS_SERVER") or None,
    )


async def submitted(redis: Redis, settings: Settings, count: int) -> list[str]:
    ids = []
    for i in range(count):
        command, aggregate_id = registration(
            email=f"user{i}@example.com", password_hash=HASH, display_name=None, partitions=4
        )
        envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
        assert await submit(redis, settings, envelope)
        ids.append(envelope.command_id)
    return ids


async def all_succeeded(redis: Redis, settings: Settings, ids: list[str]) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while True:  # nothing announces a settled command to an outsider: polled, bounded
            found = [await find_status(redis, settings, command_id) for command_id in ids]
            if all(status is not None and status.status == "succeeded" for status in found):
                return
            await asyncio.sleep(0.05)


@asynccontextmanager
async def consuming(settings: Settings) -> AsyncIterator[CommandConsumer]:
    redis = connect(settings, socket_timeout=None)
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1"))
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.stop()
        await asyncio.wait_for(task, WAIT_SECONDS)
        await redis.aclose()


async def test_a_redis_away_at_start_is_waited_for_then_consumed(
    tmp_path: Path, settings: Settings
) -> None:
    port = free_port()
    quick = replace(settings, redis_url=f"redis://127.0.0.1:{port}/0", read_block_ms=100)
    server = server_at(tmp_path, port)
    try:
        async with watching("Redis unavailable") as seen, consuming(quick):
            await asyncio.wait_for(seen.event.wait(), WAIT_SECONDS)
            server.start()
            client = Redis.from_url(server.url)
            try:
                ids = await submitted(client, quick, 3)
                await all_succeeded(client, quick, ids)
            finally:
                await client.aclose()
    finally:
        server.stop()  # a no-op if it never started
    assert not [r for r in seen.records if r.levelno >= logging.ERROR]


async def test_a_full_redis_is_waited_out_and_nothing_is_lost_or_doubled(
    tmp_path: Path, settings: Settings
) -> None:
    server = server_at(tmp_path, free_port()).start()
    quick = replace(settings, redis_url=server.url, read_block_ms=100)
    client = Redis.from_url(server.url)
    try:
        ids = await submitted(client, quick, 3)
        await client.eval(BALLAST, 0)
        used = (await client.info("memory"))["used_memory"]
        await client.config_set("maxmemory", str(used - 500_000))  # full: writes refused
        async with watching("Redis unavailable") as seen, consuming(quick):
            await asyncio.wait_for(seen.event.wait(), WAIT_SECONDS)
            held = [await find_status(client, quick, i) for i in ids]
            assert [status.status if status else None for status in held] == ["accepted"] * 3
            await client.config_set("maxmemory", "0")  # room again
            await all_succeeded(client, quick, ids)
        results = sum([await client.xlen(keys.results(p)) for p in range(4)])
    finally:
        await client.aclose()
        server.stop()
    assert results == len(ids)  # each settled once
    assert not [r for r in seen.records if r.levelno >= logging.ERROR]


@pytest.fixture(autouse=True)
def quiet_logs() -> None:
    logging.getLogger("sluice.worker").setLevel(logging.INFO)

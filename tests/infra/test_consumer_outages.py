"""The command consumer rides out a Redis that is away or full: it waits, says so in one line,
and settles every command once Redis is back, each once."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from events.codec import result_decoder
from infra import keys
from infra.command_log import envelope_for, find_status, submit
from infra.embedded_redis import free_port
from infra.identity import registration
from infra.redis import connect
from infra.settings import Settings
from tests.redis_servers import fill, make_room, own_server
from worker.commands import CommandConsumer
from worker.deps import Deps

HASH = "$argon2id$v=19$fake-hash-never-shown"
WAIT_SECONDS = 10.0


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
    """Waits on the result streams, as the relay does, until every command's result came."""
    after = {keys.results(p): "0" for p in range(settings.partitions)}
    found: dict[str, str] = {}
    async with asyncio.timeout(WAIT_SECONDS):
        while not set(ids) <= found.keys():
            for stream, entries in await redis.xread(after, block=1000):  # type: ignore[arg-type]
                for entry_id, fields in entries:
                    after[stream.decode()] = entry_id
                    result = result_decoder.decode(fields[b"r"])
                    found[result.command_id] = result.status
    assert [found[command_id] for command_id in ids] == ["succeeded"] * len(ids)


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
    server = own_server(tmp_path, port)
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


async def test_a_long_outage_is_retried_less_and_less_often_and_a_stop_ends_the_wait(
    tmp_path: Path, settings: Settings
) -> None:
    """Retries back off (0.5, 1, 2, then 4 s), so a long outage is a line every few seconds, not
    several a second; a stop does not wait out the backoff."""
    quick = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0", read_block_ms=100)
    redis = connect(quick, socket_timeout=None)
    consumer = CommandConsumer(Deps(settings=quick, redis=redis, consumer="c1"))
    async with watching("Redis unavailable") as seen:
        task = asyncio.create_task(consumer.run())
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                while (
                    len(warnings := [r for r in seen.records if r.levelno == logging.WARNING]) < 4
                ):
                    seen.event.clear()
                    await seen.event.wait()
            times = [record.created for record in warnings]
            assert times[3] - times[2] >= 1.8  # the third wait: 2 s, where it was 0.5
            stopped_at = asyncio.get_running_loop().time()
            consumer.stop()  # in the fourth wait, of 4 s
            await asyncio.wait_for(task, WAIT_SECONDS)
            assert asyncio.get_running_loop().time() - stopped_at < 2.0
        finally:
            consumer.stop()
            await asyncio.gather(task, return_exceptions=True)
            await redis.aclose()


async def test_a_full_redis_is_waited_out_and_nothing_is_lost_or_doubled(
    tmp_path: Path, settings: Settings
) -> None:
    server = own_server(tmp_path).start()
    quick = replace(settings, redis_url=server.url, read_block_ms=100)
    client = Redis.from_url(server.url)
    try:
        ids = await submitted(client, quick, 3)
        await fill(client)
        async with watching("Redis unavailable") as seen, consuming(quick):
            await asyncio.wait_for(seen.event.wait(), WAIT_SECONDS)
            held = [await find_status(client, quick, i) for i in ids]
            assert [status.status if status else None for status in held] == ["accepted"] * 3
            await make_room(client)
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

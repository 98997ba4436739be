"""The partition count is the data's: recorded by the first process, refused to any other."""

import asyncio
import logging
import os
import subprocess
import sys

import pytest
from redis.asyncio import Redis

from infra import keys
from infra.embedded_redis import EmbeddedRedis, free_port
from infra.partition_count import PartitionCountMismatch, check, check_at_start


async def test_the_first_process_records_its_count_and_the_same_count_passes(
    redis: Redis,
) -> None:
    await check(redis, 4)
    await check(redis, 4)

    assert await redis.get(keys.partition_count()) == b"4"


async def test_another_count_than_the_recorded_one_is_refused_with_both(redis: Redis) -> None:
    await check(redis, 4)

    with pytest.raises(PartitionCountMismatch, match=r"SLUICE_PARTITIONS=4, .* has 8"):
        await check(redis, 8)
    assert await redis.get(keys.partition_count()) == b"4"


async def test_data_from_before_the_record_is_read_from_its_command_streams(
    redis: Redis,
) -> None:
    for p in range(4):  # as a worker of 4 partitions leaves them
        await redis.xadd(keys.commands(p), {"e": "{}"})

    with pytest.raises(PartitionCountMismatch, match="more than 2"):
        await check(redis, 2)
    with pytest.raises(PartitionCountMismatch, match="fewer than 8"):
        await check(redis, 8)
    assert await redis.get(keys.partition_count()) is None  # nothing recorded by a refusal
    await check(redis, 4)
    assert await redis.get(keys.partition_count()) == b"4"


async def test_of_two_processes_racing_with_different_counts_one_is_refused(
    redis: Redis,
) -> None:
    outcomes = await asyncio.gather(check(redis, 4), check(redis, 8), return_exceptions=True)

    refused = [o for o in outcomes if isinstance(o, PartitionCountMismatch)]
    assert len(refused) == 1
    winner = 8 if isinstance(outcomes[0], PartitionCountMismatch) else 4
    assert await redis.get(keys.partition_count()) == str(winner).encode()


async def test_at_start_a_mismatch_is_logged_and_raised_an_absent_server_only_logged(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("test.partitions")
    await check(redis, 4)
    with caplog.at_level(logging.WARNING), pytest.raises(PartitionCountMismatch):
        await check_at_start(redis, 8, log)
    nowhere = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with caplog.at_level(logging.WARNING):
            await check_at_start(nowhere, 8, log)  # start-up goes on; Redis may come later
    finally:
        await nowhere.aclose()

    assert [(r.levelname, r.getMessage()[:20]) for r in caplog.records] == [
        ("ERROR", "refusing to start: t"),
        ("WARNING", "could not check the "),
    ]


def sluice(url: str, partitions: int) -> subprocess.CompletedProcess[str]:
    """The operator CLI as a shell runs it, with a count of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", "--redis-url", url, "streams"],
        env=env | {"SLUICE_PARTITIONS": str(partitions)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_cli_refuses_another_count_in_one_line_and_records_none(
    redis: Redis, redis_server: EmbeddedRedis
) -> None:
    looked = await asyncio.to_thread(sluice, redis_server.url, 8)  # an empty server
    assert looked.returncode == 0, looked.stderr
    assert await redis.get(keys.partition_count()) is None  # a look decides nothing

    await check(redis, 4)
    refused = await asyncio.to_thread(sluice, redis_server.url, 8)

    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "sluice: this Redis holds data written with SLUICE_PARTITIONS=4, and this process has "
        "8: the partition count is fixed for the life of the data (start every process with "
        "the data's count)"
    ]

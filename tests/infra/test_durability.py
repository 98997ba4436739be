"""What the processes say of the server's durability: read from real redis-servers, each set
up the way an operator might have left it, then changed while Sluice runs."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from infra import durability
from infra.embedded_redis import free_port
from tests.redis_servers import running
from worker.main import watch_durability

log = logging.getLogger("test.durability")


@asynccontextmanager
async def server(
    root: Path, *, appendonly: bool, options: Sequence[str] = ()
) -> AsyncIterator[Redis]:
    settings = {"appendonly": appendonly, "appendfsync": "everysec", "options": options}
    async with running(root, **settings) as started:
        client = Redis.from_url(started.url)
        try:
            yield client
        finally:
            await client.aclose()


def gauge() -> dict[str, float | None]:
    return {
        risk: REGISTRY.get_sample_value("sluice_redis_durability_risks", {"risk": risk})
        for risk in durability.RISK_NAMES
    }


async def test_a_server_that_keeps_what_it_acknowledges_has_no_risk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with server(tmp_path, appendonly=True) as redis:
        settings = await durability.server_settings(redis)
        with caplog.at_level(logging.INFO):
            await durability.Watch(log).check(redis)

    assert settings is not None
    assert durability.risks(settings) == {}
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "appendfsync everysec" in caplog.records[0].getMessage()
    assert gauge() == {"appendonly_off": 0, "eviction": 0}


async def test_no_append_only_file_and_an_eviction_policy_are_each_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = ("--maxmemory-policy", "allkeys-lru")
    async with server(tmp_path, appendonly=False, options=options) as redis:
        settings = await durability.server_settings(redis)
        with caplog.at_level(logging.INFO):
            await durability.Watch(log).check(redis)

    assert settings is not None
    found = durability.risks(settings)
    assert list(found) == ["appendonly_off", "eviction"]
    assert "appendonly is off" in found["appendonly_off"]
    assert "maxmemory-policy is allkeys-lru" in found["eviction"]
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]
    assert gauge() == {"appendonly_off": 1, "eviction": 1}


async def test_a_setting_changed_while_running_is_told_once_and_moves_the_gauge(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watch = durability.Watch(log)
    async with server(tmp_path, appendonly=True) as redis:
        await watch.check(redis)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            await redis.config_set("maxmemory-policy", "volatile-lru")
            await watch.check(redis)
            await watch.check(redis)  # no change since: nothing more to say
            assert gauge() == {"appendonly_off": 0, "eviction": 1}

            await redis.config_set("maxmemory-policy", "noeviction")
            await watch.check(redis)
            assert gauge() == {"appendonly_off": 0, "eviction": 0}

    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in said] == ["WARNING", "INFO"]
    assert "maxmemory-policy is volatile-lru" in said[0][1]
    assert "keeps what it acknowledges again" in said[1][1]


async def test_a_server_that_refuses_config_is_said_to_be_unchecked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watch = durability.Watch(log)
    async with server(tmp_path, appendonly=True, options=("--rename-command", "CONFIG", "")) as r:
        settings = await durability.server_settings(r)
        with caplog.at_level(logging.INFO):
            await watch.check(r)
            await watch.check(r)  # said once

    assert settings is None
    assert [r.getMessage() for r in caplog.records] == [
        "Redis refused CONFIG GET: its durability settings are unchecked"
    ]
    assert gauge() == {"appendonly_off": None, "eviction": None}  # no figure, not a guess


async def test_a_server_not_up_yet_is_left_to_the_rest_of_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with caplog.at_level(logging.INFO):
            await durability.Watch(log).check(nowhere)
    finally:
        await nowhere.aclose()

    assert caplog.records == []


class CountedWatch(durability.Watch):
    """A watch that tells each check it finished."""

    def __init__(self) -> None:
        super().__init__(log)
        self.checks = 0
        self.checked = asyncio.Condition()

    async def check(self, redis: Redis) -> None:
        await super().check(redis)
        async with self.checked:
            self.checks += 1
            self.checked.notify_all()


async def test_a_worker_checks_again_on_its_own_and_the_gauge_follows(tmp_path: Path) -> None:
    watch = CountedWatch()
    async with server(tmp_path, appendonly=True) as redis:
        await watch.check(redis)  # as at start-up
        assert gauge()["eviction"] == 0
        checking = asyncio.create_task(watch_durability(watch, redis, every=0.05))
        try:
            await redis.config_set("maxmemory-policy", "allkeys-lfu")
            async with watch.checked:
                changed_at = watch.checks
                # The next check may have begun before the change: the one after it began after.
                await asyncio.wait_for(
                    watch.checked.wait_for(lambda: watch.checks >= changed_at + 2), 10
                )
            assert gauge()["eviction"] == 1
        finally:
            checking.cancel()
            await asyncio.gather(checking, return_exceptions=True)

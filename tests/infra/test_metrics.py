"""Metrics against a real redis-server: lag figures for a known backlog, the worker's metrics
server, and the token that may guard /metrics."""

import socket
import time
from dataclasses import replace

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from starlette.applications import Starlette

from api.metrics import metrics_route
from infra import keys
from infra.embedded_redis import free_port
from infra.metrics import LagCollector
from infra.settings import Settings
from infra.stream_stats import stream_stats
from infra.streams import ensure_group
from worker import metrics_server

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def lag_labels(group: str, partition: int, stream: str = "commands") -> tuple[tuple[str, str], ...]:
    return (("group", group), ("partition", str(partition)), ("stream", stream))


async def backlog(redis: Redis, ages_s: list[float], delivered: int) -> list[bytes]:
    """Commands appended `ages_s` seconds ago on partition 0; `delivered` taken by a stalled
    worker (pending), the rest never delivered."""
    stream = keys.commands(0)
    await ensure_group(redis, stream, keys.WORKERS_GROUP)
    now_ms = int(time.time() * 1000)
    ids = [
        await redis.xadd(stream, {"e": b"{}"}, id=f"{now_ms - int(age * 1000)}-0") for age in ages_s
    ]
    if delivered:
        await redis.xreadgroup(keys.WORKERS_GROUP, "stalled", {stream: ">"}, count=delivered)
    return ids


async def test_lag_counts_pending_and_undelivered_and_ages_the_oldest(
    redis: Redis, settings: Settings
) -> None:
    await backlog(redis, [40.0, 30.0, 20.0, 10.0, 5.0], delivered=2)

    report = await stream_stats(redis, settings)
    workers = report.partitions[0].commands.group(keys.WORKERS_GROUP)
    collector = LagCollector(max_age_s=60)
    collector.record(report)
    exported = samples(generate_latest(_only(collector)).decode())

    assert workers is not None and (workers.pending, workers.lag) == (2, 3)
    assert workers.oldest_unprocessed_age_s is not None
    assert 40 <= workers.oldest_unprocessed_age_s < 50  # the pending one appended 40 s ago
    assert exported[("sluice_consumer_lag_entries", lag_labels("workers", 0))] == 5
    assert exported[("sluice_consumer_pending_entries", lag_labels("workers", 0))] == 2
    assert 40 <= exported[("sluice_consumer_lag_seconds", lag_labels("workers", 0))] < 50
    assert exported[("sluice_stream_entries", (("partition", "0"), ("stream", "commands")))] == 5
    assert ("sluice_consumer_lag_entries", lag_labels("workers", 1)) not in exported


async def test_without_pending_entries_the_first_undelivered_one_gives_the_age(
    redis: Redis, settings: Settings
) -> None:
    ids = await backlog(redis, [40.0, 30.0, 20.0, 10.0], delivered=2)
    await redis.xack(keys.commands(0), keys.WORKERS_GROUP, *ids[:2])

    workers = (await stream_stats(redis, settings)).partitions[0].commands.group("workers")

    assert workers is not None and (workers.pending, workers.lag) == (0, 2)
    assert workers.oldest_unprocessed_age_s is not None
    assert 20 <= workers.oldest_unprocessed_age_s < 30


async def test_a_group_that_finished_everything_has_no_age_and_zero_lag(
    redis: Redis, settings: Settings
) -> None:
    ids = await backlog(redis, [40.0, 30.0], delivered=2)
    await redis.xack(keys.commands(0), keys.WORKERS_GROUP, *ids)

    report = await stream_stats(redis, settings)
    collector = LagCollector(max_age_s=60)
    collector.record(report)
    exported = samples(generate_latest(_only(collector)).decode())

    workers = report.partitions[0].commands.group(keys.WORKERS_GROUP)
    assert workers is not None and workers.oldest_unprocessed_age_s is None
    assert exported[("sluice_consumer_lag_entries", lag_labels("workers", 0))] == 0
    assert exported[("sluice_consumer_lag_seconds", lag_labels("workers", 0))] == 0


async def test_a_report_older_than_its_limit_is_withheld(redis: Redis, settings: Settings) -> None:
    await backlog(redis, [10.0], delivered=0)
    collector = LagCollector(max_age_s=0)
    collector.record(await stream_stats(redis, settings))

    assert "sluice_consumer" not in generate_latest(_only(collector)).decode()


async def test_the_worker_metrics_server_serves_the_text_format(settings: Settings) -> None:
    server = metrics_server.start(replace(settings, worker_metrics_port=free_port()))
    assert server is not None
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"sluice_worker_commands", "sluice_worker_handler_seconds"} <= names


def test_a_port_in_use_is_logged_and_no_server_starts(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = metrics_server.start(replace(settings, worker_metrics_port=port))

    assert server is None
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text


def test_port_zero_turns_the_worker_metrics_off(settings: Settings) -> None:
    assert metrics_server.start(replace(settings, worker_metrics_port=0)) is None


async def test_with_a_token_set_metrics_answer_only_to_its_bearer(settings: Settings) -> None:
    app = Starlette(routes=[metrics_route(replace(settings, metrics_token="s3cret"), "web")])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sluice") as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})

    assert (anonymous.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert "sluice_gateway_commands_accepted" in right.text


def _only(collector: LagCollector) -> CollectorRegistry:
    """A registry of one collector: the test reads only what it recorded."""
    registry = CollectorRegistry()
    registry.register(collector)
    return registry

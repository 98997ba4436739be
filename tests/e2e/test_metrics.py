"""Every process serves Prometheus metrics, and they move as commands flow through the stack."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from tests.e2e.client import listen, register, signed_up, unique_email
from tests.e2e.conftest import start_worker
from tests.e2e.processes import Stack

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
PASSWORD = "a long enough password"


def endpoints(stack: Stack) -> dict[str, str]:
    relay = stack.relay.replace("ws://", "http://").removesuffix("/ws")
    return {
        "web": f"{stack.web}/metrics",
        "admin": f"{stack.admin}/metrics",
        "relay": f"{relay}/metrics",
        "worker": stack.worker_metrics,
    }


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def until(url: str, moved: Callable[[Samples], bool], within: float = 10.0) -> Samples:
    """Scrapes until `moved` holds: a process counts just after it acts, not before it tells."""
    async with asyncio.timeout(within):
        while True:
            now = await scrape(url)
            if moved(now):
                return now
            await asyncio.sleep(0.05)  # nothing to await: metrics are only ever polled


async def test_every_process_serves_prometheus_text(stack: Stack) -> None:
    for name, url in endpoints(stack).items():
        samples = await scrape(url)
        assert samples, f"{name} served no metrics"


# The families each process moves (lag and stream sizes: whoever measured them last).
OWN_PREFIXES = {
    "web": ("sluice_gateway_",),
    "admin": (
        "sluice_gateway_",
        "sluice_consumer_",
        "sluice_stream_",
        "sluice_dead_letter_",
        "sluice_redis_",
    ),
    "relay": ("sluice_ws_", "sluice_command_e2e_"),
    "worker": (
        "sluice_worker_",
        "sluice_dead_letter",
        "sluice_consumer_",
        "sluice_stream_",
        "sluice_redis_",
    ),
}


async def test_each_process_serves_its_own_metrics_not_the_others_zeros(stack: Stack) -> None:
    for name, url in endpoints(stack).items():
        names = {sample for sample, _ in await scrape(url)}
        foreign = {
            n for n in names if n.startswith("sluice_") and not n.startswith(OWN_PREFIXES[name])
        }
        assert not foreign, f"{name} serves {sorted(foreign)[:5]}"
        assert any(n.startswith("process_") for n in names), f"{name}: no runtime metrics"


async def test_commands_move_the_counters_and_histograms_of_every_process(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    urls = endpoints(stack)
    before = {name: await scrape(url) for name, url in urls.items()}
    email = unique_email()

    async with listen(stack.relay) as listener:
        during = await scrape(urls["relay"])
        first = await register(web, email, PASSWORD, reply_to=listener.reply_to)
        again = await register(web, email, PASSWORD, reply_to=listener.reply_to)
        refused = await register(web, unique_email(), "short", reply_to=listener.reply_to)
        succeeded = await listener.result_of(first.json()["command_id"])
        rejected = await listener.result_of(again.json()["command_id"])

    assert (succeeded["status"], rejected["status"], refused.status_code) == (
        "succeeded",
        "rejected",
        422,
    )
    assert value(during, "sluice_ws_connections") >= 1

    web_after = await scrape(urls["web"])
    accepted = "sluice_gateway_commands_accepted_total"
    assert (
        value(web_after, accepted, command="RegisterUser")
        - value(before["web"], accepted, command="RegisterUser")
        == 2
    )
    gateway_rejected = "sluice_gateway_commands_rejected_total"
    labels = {"command": "RegisterUser", "code": "invalid_payload"}
    assert (
        value(web_after, gateway_rejected, **labels)
        - value(before["web"], gateway_rejected, **labels)
        == 1
    )

    def worker_moved(now: Samples) -> bool:
        def grew(name: str, **labels: str) -> float:
            return value(now, name, **labels) - value(before["worker"], name, **labels)

        outcomes = "sluice_worker_commands_total"
        return (
            grew(outcomes, command="RegisterUser", outcome="succeeded") >= 1
            and grew(outcomes, command="RegisterUser", outcome="rejected") >= 1
            and grew("sluice_worker_handler_seconds_count", command="RegisterUser") >= 2
        )

    await until(urls["worker"], worker_moved)

    relay_after = await until(
        urls["relay"],
        lambda now: value(now, "sluice_ws_connections") < value(during, "sluice_ws_connections"),
    )
    for status in ("succeeded", "rejected"):
        e2e = "sluice_command_e2e_seconds_count"
        assert value(relay_after, e2e, status=status) > value(before["relay"], e2e, status=status)
    sent = "sluice_ws_frames_sent_total"
    assert (
        value(relay_after, sent, kind="result") - value(before["relay"], sent, kind="result") >= 2
    )
    assert value(relay_after, sent, kind="welcome") > value(before["relay"], sent, kind="welcome")


async def test_admin_measures_consumer_lag_at_each_scrape(stack: Stack) -> None:
    samples = await scrape(endpoints(stack)["admin"])

    lag = {labels for name, labels in samples if name == "sluice_consumer_lag_entries"}
    groups = {dict(labels)["group"] for labels in lag}
    assert {"workers", "projector", "reactor"} <= groups
    ages = [v for (name, _), v in samples.items() if name == "sluice_consumer_lag_seconds"]
    assert ages and all(age >= 0 for age in ages)


async def test_admin_and_the_worker_tell_whether_redis_keeps_what_it_acknowledges(
    stack: Stack,
) -> None:
    # The suite's server runs without an append-only file (its data is thrown away after).
    for name in ("admin", "worker"):
        samples = await scrape(endpoints(stack)[name])
        risks = {
            dict(labels)["risk"]: v
            for (metric, labels), v in samples.items()
            if metric == "sluice_redis_durability_risks"
        }
        assert risks == {"appendonly_off": 1, "eviction": 0}, name

    # Admin reads them again at each scrape: a change shows at the next one.
    redis = Redis.from_url(stack.redis_url)
    try:
        await redis.config_set("maxmemory-policy", "allkeys-lru")
        samples = await scrape(endpoints(stack)["admin"])
    finally:
        await redis.config_set("maxmemory-policy", "noeviction")
        await redis.aclose()
    assert value(samples, "sluice_redis_durability_risks", risk="eviction") == 1


async def test_web_and_admin_tell_how_many_callers_they_keep_and_whether_they_may(
    stack: Stack,
) -> None:
    token = await signed_up(stack, unique_email())
    auth = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=stack.web, timeout=10) as web:
        assert (await web.get("/users/me", headers=auth)).status_code == 200
        web_now = await scrape(endpoints(stack)["web"])
        assert value(web_now, "sluice_gateway_revocations_followed") == 1
        assert value(web_now, "sluice_gateway_sessions_kept") >= 1
        assert (await web.post("/auth/logout", headers=auth)).status_code == 200
    admin_now = await scrape(endpoints(stack)["admin"])
    assert value(admin_now, "sluice_gateway_revocations_followed") == 1


async def test_the_worker_reports_consumer_lag_from_its_cron(stack: Stack) -> None:
    # The cron runs every 5 seconds; one worker in the stack, so it is this one's.
    samples = await until(
        stack.worker_metrics,
        lambda now: any(name == "sluice_consumer_lag_entries" for name, _ in now),
        within=15,
    )
    groups = {dict(labels)["group"] for name, labels in samples if name.startswith("sluice_con")}
    assert "workers" in groups


def test_a_worker_whose_metrics_port_is_taken_still_consumes(stack: Stack, tmp_path: Path) -> None:
    port = stack.worker_metrics.rsplit(":", 1)[1].removesuffix("/metrics")
    env = {**stack.env, "SLUICE_WORKER_METRICS_PORT": port}
    second = start_worker("worker-metrics-port-taken", env, tmp_path)
    try:
        assert f"cannot listen on 127.0.0.1:{port}" in second.output()
        assert second.process.poll() is None
    finally:
        assert second.stop()

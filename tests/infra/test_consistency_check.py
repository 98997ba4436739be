"""`sluice check` and `sluice projections` through the CLI, against a real redis-server."""

import asyncio
import json

from click.testing import CliRunner, Result
from redis.asyncio import Redis

from infra import keys, projections
from infra.settings import Settings
from tests.infra.commerce_support import read_models
from tests.infra.projection_support import projected_store
from worker.cli import cli
from worker.projectors import PROJECTIONS


async def sluice(settings: Settings, *args: str) -> Result:
    """Runs the CLI in a thread: it runs its own event loop, as it does from a shell."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, ["--redis-url", settings.redis_url, *args])


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


async def test_a_consistent_store_checks_clean_and_exits_0(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    before = await read_models(redis)

    result = await sluice(settings, "check", "--settle", "1")

    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        p.name for p in PROJECTIONS
    ]
    assert all(line.endswith("; consistent") for line in result.stdout.splitlines())
    assert "events" in result.stderr and "ETA" in result.stderr  # the progress line
    assert await read_models(redis) == before  # the live copy untouched, the shadow gone
    assert await projections.scan_keys(redis, keys.shadow_root("check")) == []


async def test_a_damaged_store_is_reported_difference_by_difference_with_exit_1(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    await redis.hset(keys.brand("b1"), "name", '"Damaged"')  # a field changed
    await redis.delete(keys.stock("TEE-M"))  # a view lost
    await redis.zadd(keys.orders(), {"0000000000009:ghost": 0})  # a stray index member
    await redis.sadd(keys.notification_reads("u1"), "n-never")  # a stray set member

    result = await sluice(settings, "check", "--settle", "0.2")
    as_json = await sluice(settings, "check", "--json", "--settle", "0.2")

    assert result.exit_code == 1, result.output
    no_traceback(result)
    out = result.stdout
    assert f'{keys.brand("b1")} [name]: live "\\"Damaged\\"", rebuilt "\\"Acme\\""' in out
    assert f"{keys.stock('TEE-M')}: live (missing), rebuilt " in out
    assert f"{keys.orders()} [0000000000009:ghost]: live 0.0, rebuilt (missing)" in out
    assert f"{keys.notification_reads('u1')} [n-never]: live true, rebuilt false" in out
    assert "users: " in out and "; consistent" in out
    assert as_json.exit_code == 1
    body = json.loads(as_json.stdout)
    assert body["clean"] is False
    found = {
        (d["key"], d["field"]): (d["live"], d["rebuilt"])
        for report in body["projections"]
        for d in report["differences"]
    }
    assert found[(keys.brand("b1"), "name")] == ('"Damaged"', '"Acme"')
    assert found[(keys.stock("TEE-M"), None)][0] is None
    assert found[(keys.orders(), "0000000000009:ghost")] == (0.0, None)
    assert len(found) == 4


async def test_check_of_one_projection_looks_at_that_one_only(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    await redis.hset(keys.brand("b1"), "name", '"Damaged"')

    users = await sluice(settings, "check", "users", "--settle", "0.2")
    catalog = await sluice(settings, "check", "catalog", "--json", "--settle", "0.2")

    assert users.exit_code == 0 and users.stdout.startswith("users: ")
    assert catalog.exit_code == 1
    [report] = json.loads(catalog.stdout)["projections"]
    assert report["name"] == "catalog" and len(report["differences"]) == 1


async def test_projections_list_shows_versions_keys_and_what_needs_a_rebuild(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    async with redis.pipeline(transaction=False) as pipe:
        projections.queue_record(pipe, "orders", 1)
        await pipe.execute()

    table = await sluice(settings, "projections", "list")
    as_json = await sluice(settings, "projections", "list", "--json")

    assert table.exit_code == 0, table.output
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["NAME", "CODE", "LIVE", "BUILT", "AT", "KEYS", "STATUS"]
    status = {row.split()[0]: row.split("  ")[-1].strip() for row in rows}
    assert status == {
        "users": "current",
        "catalog": "current",
        "orders": "rebuild needed",
        "notifications": "current",
    }
    listed = {row["name"]: row for row in json.loads(as_json.stdout)["projections"]}
    assert listed["orders"]["live_version"] == 1 and listed["orders"]["keys"] == 5


async def test_projections_rebuild_switches_in_a_new_copy_and_records_its_version(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    before = await read_models(redis)
    await redis.hdel(keys.projections_meta(), "orders")

    result = await sluice(settings, "projections", "rebuild", "orders")
    every = await sluice(settings, "projections", "rebuild", "--all", "--json")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("orders: version 2 live; 10 events replayed, 5 keys")
    assert "rebuild orders [" in result.stderr
    assert every.exit_code == 0, every.output
    assert [r["name"] for r in json.loads(every.stdout)["rebuilt"]] == [p.name for p in PROJECTIONS]
    assert await read_models(redis) == before
    assert (await projections.recorded(redis))["orders"].version == 2


async def test_rebuild_usage_errors_and_a_busy_projection_fail_in_one_line(
    redis: Redis, settings: Settings
) -> None:
    neither = await sluice(settings, "projections", "rebuild")
    unknown = await sluice(settings, "projections", "rebuild", "nope")
    await redis.set(keys.projection_lock("users"), "another-run")
    busy = await sluice(settings, "projections", "rebuild", "users")

    assert neither.exit_code == 2 and "give a projection NAME or --all" in neither.stderr
    assert unknown.exit_code == 2 and "'nope' is not one of" in unknown.stderr
    assert busy.exit_code == 1
    assert busy.stderr.splitlines() == [
        "sluice: users is being rebuilt or checked by another run; try again later"
    ]
    for result in (neither, unknown, busy):
        no_traceback(result)

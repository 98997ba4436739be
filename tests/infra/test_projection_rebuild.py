"""`sluice projections rebuild` on a real redis-server: shadow copy, atomic switch, versions."""

import io
import logging

import pytest
from redis.asyncio import Redis

from infra import keys, projections
from infra.catalog_views import get_brand, list_brands
from infra.settings import Settings
from tests.infra.commerce_support import read_models
from tests.infra.projection_support import projected_store, story
from worker.deps import Deps
from worker.progress import TerminalProgress
from worker.projector import Projector
from worker.projectors import PROJECTIONS, named
from worker.rebuild import ProjectionBusy, rebuild


async def test_a_rebuild_ends_with_the_read_models_the_projector_built(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    built = await read_models(redis)
    assert {key.split(b":")[2] for key in built} == {
        b"users",
        b"catalog",
        b"orders",
        b"notifications",
    }

    reports = [await rebuild(redis, settings, projection) for projection in PROJECTIONS]

    assert await read_models(redis) == built
    assert [report.keys for report in reports] == [
        sum(key.split(b":")[2] == p.name.encode() for key in built) for p in PROJECTIONS
    ]
    assert all(report.events == len(story()) and report.stale == 0 for report in reports)
    recorded = await projections.recorded(redis)
    assert {name: r.version for name, r in recorded.items()} == {
        p.name: p.version for p in PROJECTIONS
    }
    assert await projections.scan_keys(redis, keys.shadow_root("rebuild")) == []


async def test_a_rebuild_repairs_damaged_views_and_drops_keys_no_event_explains(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    built = await read_models(redis)
    await redis.hset(keys.brand("b1"), "name", '"Damaged"')
    await redis.delete(keys.brand("b2"))
    await redis.zadd(keys.brands(), {"0000000000001:ghost": 0})
    await redis.set(keys.sku_product("NOBODY"), "stray")

    report = await rebuild(redis, settings, named("catalog"))

    assert await read_models(redis) == built
    assert report.stale == 1  # the stray SKU lookup; the rest was replaced by the rename
    brand = await get_brand(redis, "b1")
    assert brand is not None and brand.name == "Acme"


async def test_unreadable_log_entries_are_counted_and_skipped(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    await redis.xadd(keys.events(0), {"e": b"{not json"})
    await redis.xadd(keys.events(1), {"other": b"field"})

    report = await rebuild(redis, settings, named("catalog"))

    assert report.undecodable == 2
    assert [b.brand_id for b in (await list_brands(redis))[0]] == ["b2", "b1"]


async def test_a_second_rebuild_of_the_same_projection_is_refused_while_one_runs(
    redis: Redis, settings: Settings
) -> None:
    await redis.set(keys.projection_lock("orders"), "another-run")

    with pytest.raises(ProjectionBusy):
        await rebuild(redis, settings, named("orders"))

    assert await redis.get(keys.projection_lock("orders")) == b"another-run"


async def test_the_projector_warns_at_start_of_a_live_copy_built_by_another_version(
    redis: Redis, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    projector = await projected_store(redis, settings)  # an empty store: versions recorded
    assert await projector.check_versions() == []

    async with redis.pipeline(transaction=False) as pipe:
        projections.queue_record(pipe, "orders", named("orders").version - 1)
        await pipe.execute()
    with caplog.at_level(logging.WARNING, logger="sluice.worker.projector"):
        await projector.prepare()
    [warning] = [r.getMessage() for r in caplog.records if r.name == "sluice.worker.projector"]

    assert warning.startswith("projection orders: the live read models were built by version")
    assert warning.endswith("run `sluice projections rebuild orders`")
    assert await projector.check_versions() == ["orders"]
    await rebuild(redis, settings, named("orders"))
    assert await projector.check_versions() == []


async def test_the_projector_warns_of_copies_no_version_was_recorded_for(
    redis: Redis, settings: Settings
) -> None:
    await projected_store(redis, settings)
    await redis.delete(keys.projections_meta())

    projector = Projector(Deps(settings=settings, redis=redis, consumer="p2"))
    assert await projector.check_versions() == [p.name for p in PROJECTIONS]


def test_the_progress_line_shows_done_total_rate_and_time_left() -> None:
    out = io.StringIO()
    progress = TerminalProgress("rebuild users", out, plain_every=0)
    progress.start(200)
    progress.advance(50)
    progress.finish()

    first, *_, last = out.getvalue().splitlines()
    assert first.startswith("rebuild users [") and "0/200 events" in first
    assert "50/200 events  25%" in last and "/s" in last and "ETA " in last

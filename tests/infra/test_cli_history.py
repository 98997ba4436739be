"""`sluice aggregate show|history` and `sluice trace` in-process against a real redis-server."""

import asyncio
import json

import pytest
from arq.connections import ArqRedis
from click.testing import CliRunner, Result
from redis.asyncio import Redis

from infra.settings import Settings
from tests.infra.history_support import HASH, SKU, Story, alice, story_of
from worker.cli import cli


async def sluice(settings: Settings, *args: str) -> Result:
    """Runs the CLI in a thread: it runs its own event loop, as it does from a shell."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, ["--redis-url", settings.redis_url, *args])


def failed(result: Result, code: int) -> str:
    """The one line on stderr of a run that exited with `code`, and no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    [line] = result.stderr.strip().splitlines()[-1:]
    return line


@pytest.fixture
async def story(settings: Settings, redis: Redis, arq_pool: ArqRedis) -> Story:
    return await story_of(settings, redis, arq_pool)


async def test_trace_prints_the_story_as_an_indented_tree(story: Story) -> None:
    placed = await story.order("o1")
    await story.settle()

    shown = await sluice(story.settings, "trace", placed.command_id)
    as_json = await sluice(story.settings, "trace", placed.command_id, "--json")

    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == f"correlation {placed.command_id}: 3 commands"
    assert lines[1].startswith(f"PlaceOrder [succeeded] order:o1  {placed.command_id}  by cust-1")
    assert lines[1].endswith("<-")  # the command asked about
    layout = [(len(line) - len(line.lstrip()), line.split()[0]) for line in lines[1:]]
    assert layout == [
        (0, "PlaceOrder"),
        (2, "#1"),
        (4, "ReserveInventory"),
        (6, "#2"),
        (8, "RecordReservation"),
        (10, "#2"),
        (10, "#3"),
    ]
    assert f"ReserveInventory [succeeded] sku:{SKU}" in lines[3] and "by system" in lines[3]
    assert lines[4].split()[1] == "InventoryReserved"
    body = json.loads(as_json.stdout)
    assert body["correlation_id"] == placed.command_id and body["commands"] == 3
    assert body["roots"][0]["events"][0]["follow_ups"][0]["command"] == "ReserveInventory"


async def test_aggregate_history_and_show_print_tables_and_json(story: Story) -> None:
    await story.order("o1")
    await story.settle()
    sku = f"sku:{SKU}"

    table = await sluice(story.settings, "aggregate", "history", sku)
    page = await sluice(story.settings, "aggregate", "history", sku, "--after", "1", "--json")
    first = await sluice(story.settings, "aggregate", "show", sku, "--version", "1")
    now = await sluice(story.settings, "aggregate", "show", sku, "--json")

    assert table.exit_code == 0, table.output
    header, restocked, reserved, footer = table.stdout.splitlines()
    assert header.split() == ["VERSION", "AT", "(UTC)", "EVENT", "COMMAND", "ID", "DATA"]
    assert restocked.split()[0] == "1" and "InventoryRestocked" in restocked
    assert reserved.split()[0] == "2" and "InventoryReserved" in reserved
    assert header.index("EVENT") == reserved.index("InventoryReserved")  # aligned
    assert footer == f"2 of 2 events of {sku}"
    body = json.loads(page.stdout)
    assert [e["event"] for e in body["events"]] == ["InventoryReserved"]
    assert body["next"] is None
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[:2] == [f"aggregate: {sku} (sku)", "version:   1 of 2"]
    assert json.loads(now.stdout)["state"]["reservations"] == {"o1": 1}


async def test_a_private_event_shows_redacted(redis: Redis, settings: Settings) -> None:
    aggregate_id, _ = await alice(redis, settings)

    table = await sluice(settings, "aggregate", "history", aggregate_id)
    as_json = await sluice(settings, "aggregate", "history", aggregate_id, "--json")

    assert "UserPasswordSet" in table.stdout and "[redacted]" in table.stdout
    for result in (table, as_json):
        assert result.exit_code == 0, result.output
        assert HASH not in result.stdout


async def test_questions_without_answers_fail_with_one_line(
    redis: Redis, settings: Settings
) -> None:
    unknown = await sluice(settings, "aggregate", "show", "order:nope")
    kind = await sluice(settings, "aggregate", "history", "spaceship:1")
    command = await sluice(settings, "trace", "nope")
    bad_time = await sluice(settings, "aggregate", "show", "order:o1", "--at", "soon")
    both = await sluice(settings, "aggregate", "show", "order:o1", "--at", "1", "--version", "1")

    assert failed(unknown, 1) == "sluice: no aggregate order:nope"
    assert failed(kind, 1).startswith("sluice: no aggregate type 'spaceship'")
    assert failed(command, 1).startswith("sluice: no command nope")
    assert "not a time: 'soon'" in failed(bad_time, 2)
    assert "give --at or --version, not both" in failed(both, 2)


async def test_a_trace_tells_an_anonymous_sender_from_the_system(
    settings: Settings, redis: Redis
) -> None:
    """A registration sent by nobody signed in, and no follow-up: no actor, no cause."""
    _, sent = await alice(redis, settings)

    shown = await sluice(settings, "trace", sent[0].command_id)

    assert shown.exit_code == 0, shown.output
    head = shown.stdout.splitlines()[1]
    assert head.startswith("RegisterUser [succeeded]") and "by anonymous" in head

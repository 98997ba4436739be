"""The `sluice` CLI in-process against a real redis-server: tables, JSON, exit codes, prompts."""

import asyncio
import json

from click.testing import CliRunner, Result
from redis.asyncio import Redis

from infra.embedded_redis import free_port
from infra.settings import Settings
from tests.infra.operations_support import HASH, dead_lettered, drain, fixed, poison
from worker.cli import cli


async def sluice(settings: Settings, *args: str, answer: str | None = None) -> Result:
    """Runs the CLI in a thread: it runs its own event loop, as it does from a shell."""
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, cli, ["--redis-url", settings.redis_url, *args], input=answer
    )


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


async def test_dlq_list_prints_an_aligned_table_and_json(redis: Redis, settings: Settings) -> None:
    [alice] = await dead_lettered(redis, settings, "alice@example.com")

    table = await sluice(settings, "dlq", "list")
    as_json = await sluice(settings, "dlq", "list", "--json", "--limit", "5")

    assert table.exit_code == 0, table.output
    header, row, footer = table.stdout.splitlines()
    assert header.split()[:4] == ["ID", "COMMAND", "ATTEMPTS", "ERROR"]
    assert row.split()[1:4] == ["RegisterUser", "1", "transient"]
    assert header.index("COMMAND ID") == row.index(alice.command_id)  # aligned columns
    assert footer == "1 of 1 dead letters"
    body = json.loads(as_json.stdout)
    assert body["total"] == 1
    assert body["dead_letters"][0]["command_id"] == alice.command_id


async def test_dlq_show_redacts_the_password_hash(redis: Redis, settings: Settings) -> None:
    [alice] = await dead_lettered(redis, settings, "alice@example.com")

    shown = await sluice(settings, "dlq", "show", alice.command_id)
    as_json = await sluice(settings, "dlq", "show", alice.command_id, "--json")

    assert shown.exit_code == 0, shown.output
    assert "alice@example.com" in shown.stdout and "[redacted]" in shown.stdout
    assert "errors:" in shown.stdout and "TransientError" in shown.stdout
    for result in (shown, as_json):
        assert HASH not in result.stdout and "the-hash-nobody-may-see" not in result.stdout
    assert json.loads(as_json.stdout)["envelope"]["payload"]["password_hash"] == "[redacted]"


async def test_an_unknown_id_fails_with_one_line_and_exit_code_1(settings: Settings) -> None:
    for args in (
        ["dlq", "show", "0-1-0"],
        ["dlq", "redrive", "nope"],
        ["dlq", "purge", "x", "--yes"],
    ):
        result = await sluice(settings, *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.splitlines() == [f"sluice: no dead letter {args[2]}"]
        no_traceback(result)


async def test_an_unreachable_redis_fails_with_exit_code_2(settings: Settings) -> None:
    port = free_port()
    nowhere = Settings(redis_url=f"redis://:secret-password@127.0.0.1:{port}/0")

    for args in (["streams"], ["dlq", "list"], ["dlq", "redrive", "--all"]):
        result = await sluice(nowhere, *args)
        assert result.exit_code == 2, result.output
        [line] = result.stderr.splitlines()
        assert line.startswith(f"sluice: cannot reach Redis at 127.0.0.1:{port}/0: ")
        assert "secret-password" not in line
        no_traceback(result)


async def test_redrive_puts_one_command_back_or_all_and_refuses_poison(
    redis: Redis, settings: Settings
) -> None:
    alice, bob = await dead_lettered(redis, settings, "alice@example.com", "bob@example.com")
    await poison(redis, settings)

    one = await sluice(settings, "dlq", "redrive", alice.command_id)
    every = await sluice(settings, "dlq", "redrive", "--all")
    refused = await sluice(
        settings,
        "dlq",
        "redrive",
        json.loads((await sluice(settings, "dlq", "list", "--json")).stdout)["dead_letters"][0][
            "id"
        ],
    )
    neither = await sluice(settings, "dlq", "redrive")

    assert one.exit_code == 0 and f"command {alice.command_id} queued again" in one.stdout
    assert every.exit_code == 0
    assert every.stdout.startswith(
        "redriven 1, already settled 0, already queued 0, not redrivable 1"
    )
    assert refused.exit_code == 1 and "holds no readable command" in refused.stderr
    assert neither.exit_code == 2 and "give an ID or --all" in neither.stderr
    assert await drain(await fixed(redis, settings)) == 2
    no_traceback(refused)
    assert bob.command_id not in (await sluice(settings, "dlq", "list")).stdout


async def test_purge_asks_first_unless_told_yes(redis: Redis, settings: Settings) -> None:
    await dead_lettered(redis, settings, "alice@example.com", "bob@example.com")

    declined = await sluice(settings, "dlq", "purge", answer="n\n")
    assert declined.exit_code == 1
    assert "Delete all 2 dead letters?" in declined.stdout
    assert json.loads((await sluice(settings, "dlq", "list", "--json")).stdout)["total"] == 2

    confirmed = await sluice(settings, "dlq", "purge", answer="y\n")
    assert confirmed.exit_code == 0 and "deleted 2 dead letters" in confirmed.stdout

    await dead_lettered(redis, settings, "carol@example.com")
    told = await sluice(settings, "dlq", "purge", "--yes")
    assert told.exit_code == 0 and told.stdout == "deleted 1 dead letter\n"
    nothing = await sluice(settings, "dlq", "purge")
    assert (nothing.exit_code, nothing.stdout) == (0, "no dead letters\n")


async def test_streams_prints_one_line_per_stream_and_group(
    redis: Redis, settings: Settings
) -> None:
    [alice] = await dead_lettered(redis, settings, "alice@example.com")

    table = await sluice(settings, "streams")
    as_json = await sluice(settings, "streams", "--json")

    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "PARTITION", "STREAM", "LENGTH", "GROUP", "CONSUMERS", "PENDING", "LAG", "OLDEST",
        "PENDING", "OLDEST", "UNPROCESSED", "DEAD",
    ]  # fmt: skip
    assert lines[-1].startswith("Redis ")
    commands = [line.split() for line in lines[1:-1] if line.split()[1] == "commands"]
    assert [row[0] for row in commands] == [str(p) for p in range(settings.partitions)]
    mine = commands[alice.partition]
    assert (mine[2], mine[3], mine[5], mine[6], mine[-1]) == ("1", "workers", "0", "0", "1")
    body = json.loads(as_json.stdout)
    assert body["partitions"][alice.partition]["dead_letters"] == 1

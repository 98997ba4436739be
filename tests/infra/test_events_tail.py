"""`sluice events tail` as an operator runs it: a real process following a real redis-server."""

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from click.testing import CliRunner
from redis.asyncio import Redis

from events.codec import encoder, event_name
from events.envelope import EventRecord
from events.events import DisplayNameChanged, Event, UserPasswordSet, UserRegistered
from infra import keys
from infra.settings import Settings
from worker.cli import cli

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0
SECRET_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$the-hash-nobody-may-see"


class Tail:
    """A running `sluice events tail`; `following()` returns once it reads from the logs."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr: list[str] = []

    async def following(self) -> None:
        assert self.process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            while True:
                line = (await self.process.stderr.readline()).decode()
                assert line, f"the tail ended before following: {''.join(self.stderr)}"
                self.stderr.append(line)
                if "following" in line:
                    return

    async def lines(self, count: int) -> list[str]:
        assert self.process.stdout is not None
        out: list[str] = []
        async with asyncio.timeout(TIMEOUT):
            while len(out) < count:
                line = (await self.process.stdout.readline()).decode()
                assert line, f"the tail ended after {out}"
                out.append(line.rstrip("\n"))
        return out

    async def finished(self) -> tuple[int, str, str]:
        """Exit code, the rest of stdout and all of stderr."""
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), TIMEOUT)
        assert self.process.returncode is not None
        return self.process.returncode, stdout.decode(), "".join(self.stderr) + stderr.decode()


@asynccontextmanager
async def tail(settings: Settings, *args: str) -> AsyncIterator[Tail]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "REDIS_URL"))}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "worker.cli", "events", "tail", *args),
        cwd=ROOT,
        env={**env, "REDIS_URL": settings.redis_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield Tail(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def append(
    redis: Redis,
    settings: Settings,
    aggregate_id: str,
    event: Event,
    *,
    aggregate_version: int = 1,
    data: dict[str, Any] | None = None,
    version: int | None = None,
) -> str:
    """XADDs the event's record to its partition log, as the commit script stores it."""
    record = EventRecord(
        event=event_name(event),
        version=version or type(event).version,
        data=msgspec.Raw(encoder.encode(data if data is not None else event)),
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        command_id=f"cmd-{aggregate_id}-{aggregate_version}",
        correlation_id="corr-1",
        causation_id=None,
        actor=None,
        occurred_at=1_700_000_000_123,
    )
    partition = keys.partition_of_aggregate(aggregate_id, settings.partitions)
    entry_id = await redis.xadd(keys.events(partition), {"e": encoder.encode(record)})
    return str(entry_id.decode())


def two_users_on_two_partitions(settings: Settings) -> tuple[str, str]:
    users = [f"user:u{i}" for i in range(20)]
    first = users[0]
    partition = keys.partition_of_aggregate(first, settings.partitions)
    other = next(
        u for u in users if keys.partition_of_aggregate(u, settings.partitions) != partition
    )
    return first, other


def registered(user_id: str, given_name: str = "Ada") -> UserRegistered:
    return UserRegistered(
        user_id=user_id,
        email=f"{user_id[5:]}@example.com",
        given_name=given_name,
        roles=("customer",),
    )


async def test_new_events_of_every_partition_are_printed_and_private_data_never(
    redis: Redis, settings: Settings
) -> None:
    ada, bob = two_users_on_two_partitions(settings)
    await append(redis, settings, ada, registered(ada, "Before"))  # before the tail: not shown

    async with tail(settings, "--json", "--limit", "3") as running:
        await running.following()
        await append(redis, settings, ada, UserPasswordSet(user_id=ada, password_hash=SECRET_HASH))
        await append(
            redis,
            settings,
            bob,
            registered(bob),
            version=1,  # the old shape, upcast on reading
            data={"user_id": bob, "email": "b@example.com", "display_name": "Bob Old", "roles": []},
        )
        await append(redis, settings, ada, DisplayNameChanged(user_id=ada, display_name="Ada L"))
        lines = await running.lines(3)
        code, rest, stderr = await running.finished()

    assert code == 0, stderr
    assert rest == "" and "Traceback" not in stderr
    shown = [json.loads(line) for line in lines]
    private = next(e for e in shown if e["event"] == "UserPasswordSet")
    assert private["private"] is True and private["data"] == "[redacted]"
    assert (private["aggregate_id"], private["aggregate_version"]) == (ada, 1)
    assert private["command_id"] == f"cmd-{ada}-1"
    assert private["partition"] == keys.partition_of_aggregate(ada, settings.partitions)
    upcast = next(e for e in shown if e["event"] == "UserRegistered")
    assert upcast["stored_version"] == 1
    assert (upcast["data"]["given_name"], upcast["data"]["family_name"]) == ("Bob", "Old")
    renamed = next(e for e in shown if e["event"] == "DisplayNameChanged")
    assert renamed["data"] == {"user_id": ada, "display_name": "Ada L"}
    assert "Before" not in "".join(lines)
    assert SECRET_HASH not in "".join(lines) and "nobody-may-see" not in stderr


async def test_type_and_aggregate_filters_leave_every_other_event_out(
    redis: Redis, settings: Settings
) -> None:
    ada, bob = two_users_on_two_partitions(settings)

    async with tail(
        settings, "--json", "--limit", "1", "--type", "DisplayNameChanged", "--aggregate", ada
    ) as running:
        await running.following()
        await append(redis, settings, ada, registered(ada))  # wrong type
        await append(redis, settings, bob, DisplayNameChanged(user_id=bob, display_name="B"))
        await append(redis, settings, ada, DisplayNameChanged(user_id=ada, display_name="A"))
        [line] = await running.lines(1)
        code, rest, stderr = await running.finished()

    assert code == 0, stderr
    shown = json.loads(line)
    assert (shown["event"], shown["aggregate_id"], shown["data"]["display_name"]) == (
        "DisplayNameChanged",
        ada,
        "A",
    )
    assert rest == ""


async def test_text_lines_name_the_event_and_mark_an_unreadable_entry(
    redis: Redis, settings: Settings
) -> None:
    ada, _ = two_users_on_two_partitions(settings)
    partition = keys.partition_of_aggregate(ada, settings.partitions)
    first = await append(redis, settings, ada, registered(ada))
    broken = (await redis.xadd(keys.events(partition), {"e": b"{not json"})).decode()
    secret = UserPasswordSet(user_id=ada, password_hash=SECRET_HASH)
    await append(redis, settings, ada, secret, aggregate_version=2)

    # From the first entry on: what is already in the log is printed without waiting.
    async with tail(settings, "--from", first, "--limit", "3") as running:
        lines = await running.lines(3)
        code, _, stderr = await running.finished()

    assert code == 0, stderr
    event, unreadable, private = lines
    assert event.startswith("2023-11-14T22:13:20.123Z ")
    assert f"p{partition}/{first} {ada}@1 UserRegistered cmd=cmd-{ada}-1 " in event
    assert '"given_name":"Ada"' in event
    assert unreadable.startswith(f"- p{partition}/{broken} UNREADABLE: ")
    assert private.endswith(f"{ada}@2 UserPasswordSet cmd=cmd-{ada}-2 [private: data withheld]")
    assert SECRET_HASH not in "".join(lines)


async def test_ctrl_c_ends_a_tail_cleanly(settings: Settings) -> None:
    async with tail(settings) as running:
        await running.following()
        running.process.send_signal(signal.SIGINT)
        code, stdout, stderr = await running.finished()

    assert code == 0, stderr
    assert stdout == ""
    assert "Traceback" not in stderr and "Aborted" not in stderr


def test_bad_arguments_are_refused_with_one_line(settings: Settings) -> None:
    runner = CliRunner()
    for args, message in (
        (["--type", "NoSuchEvent"], "unknown event type NoSuchEvent"),
        (["--from", "yesterday"], "'yesterday' is not `now` or an entry id"),
        (["--aggregate", "nocolon"], "'nocolon' is not an aggregate id"),
    ):
        result = runner.invoke(cli, ["--redis-url", settings.redis_url, "events", "tail", *args])
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output

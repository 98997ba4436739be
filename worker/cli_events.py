"""`sluice events tail`: the partition logs, followed live, one line per event.

Reads every partition log from now on (or from `--from ID`; `--aggregate` reads that aggregate's
partition only) until Ctrl-C or `--limit` events. Private events are shown without their data.
"""

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime

import click
import orjson
from redis.asyncio import Redis

from events.events import EVENT_TYPES
from infra.event_tail import (
    BadStart,
    TailedEntry,
    TailFilter,
    follow,
    parse_start,
    start_positions,
)
from infra.settings import Settings
from worker.cli_runner import run


@click.group()
def events() -> None:
    """The partition logs: every event as it is committed."""


@events.command("tail")
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="NAME",
    help="Only events of this type (repeatable), e.g. UserRegistered.",
)
@click.option("--aggregate", "aggregate_id", metavar="ID", help="Only aggregate ID (<type>:<id>).")
@click.option(
    "--from",
    "start_text",
    default="now",
    show_default=True,
    metavar="ID|now",
    help="Start at this entry id (0: the beginning of every log) instead of now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N events.")
@click.pass_context
def tail(
    ctx: click.Context,
    types: tuple[str, ...],
    aggregate_id: str | None,
    start_text: str,
    as_json: bool,
    limit: int | None,
) -> None:
    """Follow every partition log and print each event (Ctrl-C stops)."""
    unknown = sorted(set(types) - EVENT_TYPES.keys())
    if unknown:
        known = ", ".join(sorted(EVENT_TYPES))
        raise click.BadParameter(f"unknown event type {', '.join(unknown)} (known: {known})")
    if aggregate_id is not None and ":" not in aggregate_id.strip(":"):
        raise click.BadParameter(f"{aggregate_id!r} is not an aggregate id <type>:<id>")
    try:
        start = parse_start(start_text)
    except BadStart as error:
        raise click.BadParameter(str(error), param_hint="--from") from None
    wanted = TailFilter(frozenset(types), aggregate_id)

    async def follow_logs(redis: "Redis", settings: Settings) -> bool:
        """Prints until stopped or the limit; False when stdout's reader went away."""
        partitions = wanted.partitions(settings.partitions)
        positions = await start_positions(redis, partitions, start)
        stopping = _stopped_by_signals()
        which = f"partition {partitions[0]}" if aggregate_id else f"{len(partitions)} partitions"
        click.echo(f"sluice: following {which} from {start}; Ctrl-C stops", err=True)
        shown = 0
        block_ms = settings.read_block_ms
        async for entry in follow(redis, positions, wanted, block_ms=block_ms, stopping=stopping):
            try:
                click.echo(as_json_line(entry) if as_json else as_text_line(entry))
            except BrokenPipeError:  # `| head` has read enough
                return False
            shown += 1
            if stopping.is_set() or (limit is not None and shown >= limit):
                break
        return True

    try:
        if not run(ctx, follow_logs):
            # Nothing more may be flushed into the closed pipe, not even at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        pass  # a Ctrl-C before the signal handlers were in place: still no traceback


def _stopped_by_signals() -> asyncio.Event:
    """Set by Ctrl-C or SIGTERM: the tail ends after the read in hand (within its block time).
    Cancelling the blocked read instead is not reliably seen through the Redis client."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stopping.set)
        except (ValueError, RuntimeError):  # not the main thread (an embedding test runner)
            break
    return stopping


def as_json_line(entry: TailedEntry) -> str:
    return orjson.dumps(entry.to_json()).decode()


def as_text_line(entry: TailedEntry) -> str:
    """`time pP/ID aggregate@version Event cmd=ID data`, or a marker for an unreadable entry."""
    where = f"p{entry.partition}/{entry.entry_id}"
    if entry.unreadable is not None:
        about = (
            f" {entry.event} {entry.aggregate_id}@{entry.aggregate_version}" if entry.event else ""
        )
        return f"{_time(entry.occurred_at)} {where}{about} UNREADABLE: {entry.unreadable}"
    name = entry.event or "?"
    current = EVENT_TYPES[name].version if name in EVENT_TYPES else None
    if current is not None and entry.stored_version != current:
        name += f" (stored v{entry.stored_version}, shown v{current})"
    data = "[private: data withheld]" if entry.private else orjson.dumps(entry.data).decode()
    return (
        f"{_time(entry.occurred_at)} {where} {entry.aggregate_id}@{entry.aggregate_version} "
        f"{name} cmd={entry.command_id} {data}"
    )


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    at = datetime.fromtimestamp(ms / 1000, UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")

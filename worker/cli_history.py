"""`sluice aggregate show|history` and `sluice trace`: an aggregate's past, a command's story."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import click
from redis.asyncio import Redis

from infra import aggregate_history as history
from infra.command_log import CommandStatus
from infra.settings import Settings
from infra.trace import CommandNotFound, Trace, TraceCommand, TraceEvent, trace
from worker import cli_tables as tables
from worker.cli_runner import Failure, run

T = TypeVar("T")
INDENT = "  "


@dataclass(frozen=True)
class _Refused:
    message: str


def answered(ctx: click.Context, job: Callable[["Redis", Settings], Awaitable[T]]) -> T:
    """Runs the job; a question with no answer (unknown id, version too far) is one line, exit 1."""

    async def caught(redis: "Redis", settings: Settings) -> T | _Refused:
        try:
            return await job(redis, settings)
        except (history.HistoryError, CommandNotFound) as error:
            return _Refused(str(error))

    outcome = run(ctx, caught)
    if isinstance(outcome, _Refused):
        raise Failure(outcome.message)
    return outcome


@click.group()
def aggregate() -> None:
    """An aggregate's stored history, and its state at any point of it."""


@aggregate.command("show")
@click.argument("aggregate_id", metavar="ID")
@click.option("--at", "at_text", metavar="TIME", help="As of a time: epoch ms or ISO-8601.")
@click.option("--version", type=click.IntRange(min=1), help="After its first N events.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def aggregate_show(
    ctx: click.Context, aggregate_id: str, at_text: str | None, version: int | None, as_json: bool
) -> None:
    """The state of aggregate ID (<type>:<id>), now or as of --at / --version."""
    if at_text is not None and version is not None:
        raise click.UsageError("give --at or --version, not both")
    try:
        at = history.parse_time(at_text) if at_text is not None else None
    except history.InvalidTime as error:
        raise click.BadParameter(str(error), param_hint="--at") from None
    found = answered(
        ctx, lambda r, s: history.state_as_of(r, s, aggregate_id, version=version, at=at)
    )
    if as_json:
        click.echo(tables.as_json(found.to_json()))
        return
    facts = [
        ("aggregate", f"{found.aggregate_id} ({found.type})"),
        ("version", f"{found.version} of {found.latest_version}"),
        ("as of", f"{history.iso(found.as_of)} ({found.as_of})"),
    ]
    click.echo("\n".join(f"{name + ':':<11}{value}" for name, value in facts))
    click.echo("state:")
    click.echo(_indent(json.dumps(found.state, indent=2, ensure_ascii=False)))


@aggregate.command("history")
@click.argument("aggregate_id", metavar="ID")
@click.option("--after", default=0, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--limit", default=history.MAX_PAGE, show_default=True, type=click.IntRange(1, history.MAX_PAGE)
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def aggregate_history(
    ctx: click.Context, aggregate_id: str, after: int, limit: int, as_json: bool
) -> None:
    """The events of aggregate ID after version --after, oldest first."""
    page = answered(
        ctx, lambda r, s: history.history_page(r, s, aggregate_id, after=after, limit=limit)
    )
    if as_json:
        click.echo(tables.as_json(page.to_json()))
        return
    rows = [
        [
            str(e.version),
            tables.when(e.occurred_at),
            e.event,
            e.command_id,
            "[redacted]" if e.redacted else tables.short(json.dumps(e.data, ensure_ascii=False)),
        ]
        for e in page.events
    ]
    click.echo(tables.table(["VERSION", "AT (UTC)", "EVENT", "COMMAND ID", "DATA"], rows))
    shown = f"{len(page.events)} of {page.latest_version} events of {page.aggregate_id}"
    more = f"; more with --after {page.next}" if page.next is not None else ""
    click.echo(shown + more)


@click.command("trace")
@click.argument("command_id", metavar="COMMAND_ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def trace_command(ctx: click.Context, command_id: str, as_json: bool) -> None:
    """Every command and event of COMMAND_ID's story, each follow-up under its cause."""
    found = answered(ctx, lambda r, s: trace(r, s, command_id))
    click.echo(tables.as_json(found.to_json()) if as_json else tree(found))


def tree(found: Trace) -> str:
    plural = "" if found.commands == 1 else "s"
    lines = [f"correlation {found.correlation_id}: {found.commands} command{plural}"]
    for root in found.roots:
        lines += _command_lines(root, 0, found.command_id)
    return "\n".join(lines)


def _sender(status: CommandStatus) -> str:
    """Who sent it: a user; the system (a follow-up names its cause); or nobody signed in."""
    if status.actor:
        return status.actor
    return "system" if status.causation_id else "anonymous"


def _command_lines(node: TraceCommand, depth: int, asked: str) -> list[str]:
    status = node.status
    marker = "  <-" if status.command_id == asked else ""
    head = (
        f"{INDENT * depth}{status.command or '?'} [{status.status}] "
        f"{status.aggregate_id or '?'}  {status.command_id}  by {_sender(status)}{marker}"
    )
    lines = [head]
    if status.error is not None:
        lines.append(f"{INDENT * (depth + 1)}! {status.error.code}: {status.error.message}")
    for event in node.events:
        lines += _event_lines(event, depth + 1, asked)
    for child in node.follow_ups:
        lines += _command_lines(child, depth + 1, asked)
    return lines


def _event_lines(event: TraceEvent, depth: int, asked: str) -> list[str]:
    e = event.event
    lines = [f"{INDENT * depth}#{e.version} {e.event}  {tables.when(e.occurred_at)}"]
    for child in event.follow_ups:
        lines += _command_lines(child, depth + 1, asked)
    return lines


def _indent(text: str) -> str:
    return "\n".join(f"{INDENT}{line}" for line in text.splitlines())

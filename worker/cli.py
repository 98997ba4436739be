"""The `sluice` operator CLI: dead letters and stream health, read from Redis directly.

Exit codes: 0 done, 1 failed (unknown id, not redrivable, refused), 2 Redis unreachable or
misconfigured (click's usage errors are 2 as well). Each command group beyond dead letters and
streams lives in a `cli_<topic>` module of its own and is added at the end of this file.
"""

from dataclasses import replace

import click

from infra import logs, operations
from infra.settings import SettingsError, get_settings
from worker import cli_events, cli_history, cli_projections, cli_snapshots
from worker import cli_tables as tables
from worker.cli_runner import EXIT_UNREACHABLE, Failure, run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--redis-url", metavar="URL", help="The data Redis (default: $REDIS_URL).")
@click.pass_context
def cli(ctx: click.Context, redis_url: str | None) -> None:
    """Operate a Sluice deployment: dead letters and streams."""
    logs.configure("cli", default_level="WARNING")  # what an operator asked for goes to stdout
    try:
        settings = get_settings()
    except SettingsError as error:
        raise Failure(str(error), EXIT_UNREACHABLE) from None
    ctx.obj = replace(settings, redis_url=redis_url) if redis_url else settings


@cli.group()
def dlq() -> None:
    """Dead letters: commands that could not be settled."""


@dlq.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def dlq_list(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The newest dead letters of every partition, newest first."""
    listing = run(ctx, lambda r, s: operations.list_dead_letters(r, s, limit=limit))
    click.echo(tables.as_json(listing.to_json()) if as_json else tables.dead_letters(listing))


@dlq.command("show")
@click.argument("ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def dlq_show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """One dead letter (ID, or a command id): its command and every error."""
    detail = run(ctx, lambda r, s: operations.show_dead_letter(r, s, ref))
    click.echo(tables.as_json(detail.to_json()) if as_json else tables.dead_letter(detail))


@dlq.command("redrive")
@click.argument("ref", metavar="[ID]", required=False)
@click.option("--all", "every", is_flag=True, help="Redrive every dead letter.")
@click.pass_context
def dlq_redrive(ctx: click.Context, ref: str | None, every: bool) -> None:
    """Put a command back on its stream, attempts reset (ID, a command id, or --all)."""
    if every == (ref is not None):
        raise click.UsageError("give an ID or --all")
    if ref is None:
        summary = run(ctx, operations.redrive_all)
        click.echo(
            f"redriven {summary.redriven}, already settled {summary.already_settled}, "
            f"already queued {summary.already_queued}, "
            f"not redrivable {len(summary.not_redrivable)}"
        )
        for poison in summary.not_redrivable:
            click.echo(f"  {poison}: no readable command; `sluice dlq purge {poison}` removes it")
        return
    done = run(ctx, lambda r, s: operations.redrive(r, s, ref))
    if done.outcome == "redriven":
        click.echo(f"{done.id}: command {done.command_id} queued again as entry {done.entry_id}")
    elif done.outcome == "already_settled":
        click.echo(
            f"{done.id}: command {done.command_id} was already settled ({done.status}); "
            "dead letter removed, nothing re-appended"
        )
    else:
        click.echo(f"{done.id}: command {done.command_id} is already queued; dead letter removed")


@dlq.command("purge")
@click.argument("ref", metavar="[ID]", required=False)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def dlq_purge(ctx: click.Context, ref: str | None, yes: bool) -> None:
    """Delete every dead letter, or one (ID or command id). Asks first without --yes."""
    if not yes:
        if ref is None:
            total = run(ctx, lambda r, s: operations.list_dead_letters(r, s, limit=1)).total
            if total == 0:
                click.echo("no dead letters")
                return
            question = f"Delete all {total} dead letters? Their commands stay failed."
        else:
            question = f"Delete dead letter {ref}? Its command stays failed."
        if not click.confirm(question):
            raise Failure("nothing deleted")
    deleted = run(ctx, lambda r, s: operations.purge(r, s, ref))
    click.echo(f"deleted {deleted} dead letter{'' if deleted == 1 else 's'}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def streams(ctx: click.Context, as_json: bool) -> None:
    """Per partition: stream lengths, consumer groups, pending entries, lag, dead letters."""
    report = run(ctx, operations.stream_stats)
    click.echo(tables.as_json(report.to_json()) if as_json else tables.streams(report))


# Command groups of their own modules.
cli.add_command(cli_history.aggregate)
cli.add_command(cli_history.trace_command)
cli.add_command(cli_snapshots.snapshots_group)
cli.add_command(cli_events.events)
cli.add_command(cli_projections.projections_group)
cli.add_command(cli_projections.check_command)


def main() -> None:
    cli(prog_name="sluice")


if __name__ == "__main__":
    main()

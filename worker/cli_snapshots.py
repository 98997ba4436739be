"""`sluice snapshots`: the aggregate snapshot cache, seen and cleared by an operator."""

import click

from infra import keys, snapshots
from worker.cli_runner import Failure, run


@click.group("snapshots")
def snapshots_group() -> None:
    """Aggregate snapshots: a cache of states, rebuilt from the histories."""


@snapshots_group.command("purge")
@click.option(
    "--batch",
    default=snapshots.PURGE_BATCH,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Keys per SCAN step and per UNLINK.",
)
@click.pass_context
def purge(ctx: click.Context, batch: int) -> None:
    """Delete every snapshot. Safe while workers run: loads replay whole histories until the
    next snapshots are written; no outcome changes."""
    deleted = run(ctx, lambda r, s: snapshots.purge(r, batch=batch))
    click.echo(f"deleted {deleted} snapshot{'' if deleted == 1 else 's'}")


@snapshots_group.command("show")
@click.argument("aggregate_id")
@click.pass_context
def show(ctx: click.Context, aggregate_id: str) -> None:
    """The stored snapshot of one aggregate (e.g. user:u-42): its version and whether this
    code can use it."""
    try:
        usable = snapshots.codec_of(aggregate_id).fingerprint
    except KeyError:
        raise Failure(f"no aggregate type {aggregate_id.partition(':')[0]!r}") from None
    found = run(
        ctx,
        lambda r, s: snapshots.read(
            r, keys.partition_of_aggregate(aggregate_id, s.partitions), aggregate_id
        ),
    )
    if found is None:
        raise Failure(f"no snapshot of {aggregate_id}")
    version, fingerprint = found
    verdict = "usable" if fingerprint == usable else "stale fingerprint, ignored"
    click.echo(f"{aggregate_id}: version {version}, fingerprint {fingerprint} ({verdict})")

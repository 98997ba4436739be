"""`sluice projections list|rebuild` and `sluice check`: read-model versions, rebuilds, checks.

Exit codes as for every `sluice` command: 0 done (for `check`: no difference), 1 failed (for
`check`: a difference found; a rebuild already running), 2 Redis unreachable or a usage error.
"""

import json
from dataclasses import dataclass
from typing import Any

import click
from redis.asyncio import Redis

from infra import keys
from infra import projections as copies
from infra.settings import Settings
from worker import cli_tables as tables
from worker.check import CheckReport, check
from worker.cli_runner import Failure, run
from worker.progress import TerminalProgress
from worker.projectors import BY_NAME, PROJECTIONS, Projection, named
from worker.rebuild import ProjectionBusy, RebuildReport, rebuild
from worker.replay import CHUNK

NAME = click.Choice(sorted(BY_NAME))
CHUNK_OPTION = click.option(
    "--chunk",
    default=CHUNK,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Log entries read and applied per round trip.",
)


@dataclass(frozen=True)
class Listed:
    name: str
    code_version: int
    live_version: int | None
    built_at: int | None
    keys: int
    status: str  # current | rebuild needed | unrecorded | rebuilding

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def listing(redis: "Redis", settings: Settings) -> list[Listed]:
    found = await copies.recorded(redis)
    rows = []
    for projection in PROJECTIONS:
        live = found.get(projection.name)
        count = len(await copies.scan_keys(redis, projection.prefix()))
        if await redis.exists(keys.projection_lock(projection.name)):
            status = "rebuilding"
        elif live is None:
            status = "unrecorded"
        else:
            status = "current" if live.version == projection.version else "rebuild needed"
        rows.append(
            Listed(
                name=projection.name,
                code_version=projection.version,
                live_version=None if live is None else live.version,
                built_at=None if live is None else live.built_at,
                keys=count,
                status=status,
            )
        )
    return rows


def listing_table(rows: list[Listed]) -> str:
    return tables.table(
        ["NAME", "CODE", "LIVE", "BUILT AT", "KEYS", "STATUS"],
        [
            [
                row.name,
                str(row.code_version),
                "-" if row.live_version is None else str(row.live_version),
                "-" if row.built_at is None else tables.when(row.built_at),
                str(row.keys),
                row.status,
            ]
            for row in rows
        ],
    )


@click.group("projections")
def projections_group() -> None:
    """Read-model projections: their versions, and rebuilds from the event logs."""


@projections_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Each projection: code version, live copy's version, keys, whether it needs a rebuild."""
    rows = run(ctx, listing)
    if as_json:
        click.echo(tables.as_json({"projections": [row.to_json() for row in rows]}))
    else:
        click.echo(listing_table(rows))


def _chosen(name: str | None, every: bool) -> list[Projection]:
    if every == (name is not None):
        raise click.UsageError("give a projection NAME or --all")
    return list(PROJECTIONS) if every else [named(name or "")]


@projections_group.command("rebuild")
@click.argument("name", type=NAME, required=False)
@click.option("--all", "every", is_flag=True, help="Rebuild every projection, one by one.")
@CHUNK_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def rebuild_command(
    ctx: click.Context, name: str | None, every: bool, chunk: int, as_json: bool
) -> None:
    """Replay the logs into a shadow copy and switch it in atomically; queries keep answering."""
    chosen = _chosen(name, every)

    async def job(redis: "Redis", settings: Settings) -> list[RebuildReport] | ProjectionBusy:
        reports = []
        for projection in chosen:
            progress = TerminalProgress(f"rebuild {projection.name}")
            try:
                done = await rebuild(redis, settings, projection, progress=progress, chunk=chunk)
            except ProjectionBusy as busy:
                return busy
            if not as_json:
                click.echo(rebuild_text(done))
            reports.append(done)
        return reports

    reports = run(ctx, job)
    if isinstance(reports, ProjectionBusy):
        raise Failure(str(reports))
    if as_json:
        click.echo(tables.as_json({"rebuilt": [report.to_json() for report in reports]}))


def rebuild_text(done: RebuildReport) -> str:
    skipped = f", {done.undecodable} unreadable events skipped" if done.undecodable else ""
    return (
        f"{done.name}: version {done.version} live; {done.events} events replayed, "
        f"{done.keys} keys switched in, {done.stale} stale keys deleted{skipped} "
        f"({done.seconds:.1f} s)"
    )


@click.command("check")
@click.argument("name", type=NAME, required=False)
@CHUNK_OPTION
@click.option(
    "--settle",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="Seconds to wait for the live projector to reach the rebuilt copy's positions.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def check_command(
    ctx: click.Context, name: str | None, chunk: int, settle: float, as_json: bool
) -> None:
    """Rebuild each projection (or NAME) aside and compare it with the live read models.

    Prints every difference; exits 1 if there is any, 0 when the read models are consistent.
    """
    chosen = list(PROJECTIONS) if name is None else [named(name)]

    async def job(redis: "Redis", settings: Settings) -> list[CheckReport] | ProjectionBusy:
        reports = []
        for projection in chosen:
            progress = TerminalProgress(f"check {projection.name}")
            try:
                done = await check(
                    redis,
                    settings,
                    projection,
                    progress=progress,
                    chunk=chunk,
                    settle_seconds=settle,
                )
            except ProjectionBusy as busy:
                return busy
            if not as_json:
                click.echo(check_text(done))
            reports.append(done)
        return reports

    reports = run(ctx, job)
    if isinstance(reports, ProjectionBusy):
        raise Failure(str(reports))
    clean = all(report.clean for report in reports)
    if as_json:
        body = {"clean": clean, "projections": [report.to_json() for report in reports]}
        click.echo(tables.as_json(body))
    if not clean:
        ctx.exit(1)


def _shown(value: Any) -> str:
    return "(missing)" if value is None else json.dumps(value, ensure_ascii=False)


def check_text(report: CheckReport) -> str:
    head = f"{report.name}: {report.events} events replayed"
    if report.undecodable:
        head += f", {report.undecodable} unreadable skipped"
    if report.clean:
        return f"{head}; consistent"
    lines = [f"{head}; {len(report.differences)} differences"]
    if report.live_behind:
        lines.append("  (the live projector is behind: some differences may be its lag)")
    for d in report.differences:
        where = d.key if d.field is None else f"{d.key} [{d.field}]"
        lines.append(f"  {where}: live {_shown(d.live)}, rebuilt {_shown(d.rebuilt)}")
    return "\n".join(lines)

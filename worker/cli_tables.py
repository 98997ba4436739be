"""How the `sluice` CLI shows things to a person: aligned tables and short timestamps."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from infra.operations import DeadLetterDetail, DeadLetters, StreamsReport

MESSAGE_WIDTH = 60


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def short(text: str, width: int = MESSAGE_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def dead_letters(listing: DeadLetters) -> str:
    if not listing.items:
        return "no dead letters"
    rows = [
        [
            item.id,
            item.command or "?",
            str(item.attempts),
            item.error.code,
            when(item.at),
            item.command_id or "-",
            short(item.error.message),
        ]
        for item in listing.items
    ]
    headers = ["ID", "COMMAND", "ATTEMPTS", "ERROR", "WHEN (UTC)", "COMMAND ID", "MESSAGE"]
    return f"{table(headers, rows)}\n{len(listing.items)} of {listing.total} dead letters"


def dead_letter(detail: DeadLetterDetail) -> str:
    item = detail.summary
    facts = [
        ("id", item.id),
        ("command", item.command or "?"),
        ("command id", item.command_id or "-"),
        ("status", detail.status or "unknown"),
        ("attempts", str(item.attempts)),
        ("error", f"{item.error.code}: {item.error.message}"),
        ("dead-lettered", f"{when(item.at)} UTC (was entry {item.source})"),
        ("redrivable", "yes" if detail.redrivable else "no: it can only be purged"),
    ]
    out = [f"{name + ':':<15}{value}" for name, value in facts]
    if detail.envelope is not None:
        out += ["", "envelope:", _indent(json.dumps(detail.envelope, indent=2))]
    else:
        out += ["", "raw entry (not JSON):", _indent(detail.raw or "(empty)")]
    if detail.errors:
        rows = [
            [str(e.attempt), when(e.at), e.code, short(f"{e.type}: {e.message}", 80)]
            for e in detail.errors
        ]
        out += ["", "errors:", _indent(table(["ATTEMPT", "AT (UTC)", "CODE", "MESSAGE"], rows))]
    return "\n".join(out)


def streams(report: StreamsReport) -> str:
    rows: list[list[str]] = []
    for p in report.partitions:
        for label, stream in (("commands", p.commands), ("events", p.events)):
            dead = str(p.dead_letters) if label == "commands" else ""
            if not stream.groups:
                rows.append([str(p.partition), label, str(stream.length), "-", *[""] * 5, dead])
            for g in stream.groups:
                lag = f"{g.lag}+" if g.lag_capped else str(g.lag)
                rows.append(
                    [
                        str(p.partition),
                        label,
                        str(stream.length),
                        g.name,
                        str(g.consumers),
                        str(g.pending),
                        lag,
                        _seconds(g.oldest_pending_age_s),
                        _seconds(g.oldest_unprocessed_age_s),
                        dead,
                    ]
                )
    headers = [
        "PARTITION",
        "STREAM",
        "LENGTH",
        "GROUP",
        "CONSUMERS",
        "PENDING",
        "LAG",
        "OLDEST PENDING",
        "OLDEST UNPROCESSED",
        "DEAD",
    ]
    return f"{table(headers, rows)}\nRedis {report.redis_version}"


def as_json(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())

"""Counting what happened, from Redis itself: final statuses, and effects per command id.

An effect is a `DisplayNameChanged` in a user's aggregate history (`sluice:{p<n>}:agg:user:<id>`),
which carries the `command_id` that caused it. More than one for a command is a doubled effect;
an accepted command with no final status, or a succeeded one with no effect, is lost.
"""

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from infra import keys
from tests.chaos.load import Sent, Tally, User

FINAL = frozenset({"succeeded", "rejected", "failed"})
EFFECT = "DisplayNameChanged"
HEADER = (
    "scenario",
    "sent",
    "accepted",
    "final",
    "succeeded",
    "rejected",
    "failed",
    "duplicated-effects",
    "lost",
)
WIDTHS = (19, 6, 8, 6, 9, 8, 6, 18, 4)


@dataclass
class Figures:
    """One line of the table, and whatever the scenario's own checks found wrong."""

    scenario: str = ""  # the runner names it
    sent: int = 0
    accepted: int = 0
    final: int = 0
    succeeded: int = 0
    rejected: int = 0
    failed: int = 0
    duplicated: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    def check(self, holds: bool, problem: str) -> None:
        if not holds:
            self.problems.append(problem)

    @property
    def passed(self) -> bool:
        return not self.problems and self.lost == 0 and self.duplicated == 0

    def row(self) -> str:
        values = (
            self.scenario,
            *map(str, (self.sent, self.accepted, self.final, self.succeeded, self.rejected)),
            *map(str, (self.failed, self.duplicated, self.lost)),
        )
        return format_row(values)


def format_row(values: Iterable[str]) -> str:
    return " | ".join(
        v.ljust(w) if i == 0 else v.rjust(w)
        for i, (v, w) in enumerate(zip(values, WIDTHS, strict=True))
    )


def status_key(partitions: int, sent: Sent) -> str:
    return keys.command_status(
        keys.partition_of(sent.user.aggregate_id, partitions), sent.command_id
    )


async def statuses(redis: "Redis", partitions: int, commands: list[Sent]) -> dict[str, str]:
    """Each command's status as the status hash says it ("" when there is none)."""
    async with redis.pipeline(transaction=False) as pipe:
        for sent in commands:
            pipe.hget(status_key(partitions, sent), "status")
        found: list[bytes | None] = await pipe.execute()
    return {s.command_id: (raw or b"").decode() for s, raw in zip(commands, found, strict=True)}


async def results(redis: "Redis", partitions: int, commands: list[Sent]) -> dict[str, Any]:
    """Each command's recorded result (the JSON the worker committed), where there is one."""
    async with redis.pipeline(transaction=False) as pipe:
        for sent in commands:
            pipe.hget(status_key(partitions, sent), "result")
        found: list[bytes | None] = await pipe.execute()
    return {s.command_id: orjson.loads(raw) for s, raw in zip(commands, found, strict=True) if raw}


async def wait_final(
    redis: "Redis",
    partitions: int,
    commands: list[Sent],
    within: float,
    wanted: frozenset[str] = FINAL,
) -> dict[str, str]:
    """The statuses once every command's is one of `wanted` (final, by default), or as they
    stand after `within` seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while True:
        found = await statuses(redis, partitions, commands)
        if all(status in wanted for status in found.values()) or loop.time() >= give_up:
            return found
        # Nothing pushes "all settled" to a checker that is not their sender: poll, briefly.
        await asyncio.sleep(0.1)


async def effects(redis: "Redis", partitions: int, users: list[User]) -> Counter[str]:
    """`DisplayNameChanged` events per command id, over every user's whole history."""
    counts: Counter[str] = Counter()
    for user in users:
        for record in await history(redis, partitions, user):
            if record["event"] == EFFECT:
                counts[record["command_id"]] += 1
    return counts


async def history(redis: "Redis", partitions: int, user: User) -> list[dict[str, Any]]:
    """The user's aggregate history, oldest first, as stored records."""
    partition = keys.partition_of(user.aggregate_id, partitions)
    raw: list[bytes] = await redis.lrange(keys.history(partition, user.aggregate_id), 0, -1)
    return [orjson.loads(item) for item in raw]


def tally_figures(tally: Tally, found: dict[str, str], counts: Counter[str]) -> Figures:
    """The table's line for a load (`found`: the status of every command sent); also flags
    any 500, any effect without a success and any effect of a command nobody sent."""
    accepted = tally.accepted
    figures = Figures(sent=len(tally.sent), accepted=len(accepted))
    for sent in accepted:
        status = found.get(sent.command_id, "")
        figures.final += status in FINAL
        figures.succeeded += status == "succeeded"
        figures.rejected += status == "rejected"
        figures.failed += status == "failed"
        if status not in FINAL or (status == "succeeded" and counts[sent.command_id] == 0):
            figures.lost += 1
    figures.duplicated = sum(1 for n in counts.values() if n > 1)
    tried = {s.command_id for s in tally.sent}
    unknown = [c for c in counts if c not in tried]
    figures.check(not unknown, f"{len(unknown)} effects come from commands nobody sent")
    stray = [c for c in counts if found.get(c) in ("rejected", "failed")]
    figures.check(not stray, f"{len(stray)} commands have effects but did not succeed")
    figures.check(tally.answers["500"] == 0, f"{tally.answers['500']} answers were 500")
    return figures

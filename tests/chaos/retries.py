"""Scenario 3: injected faults. Transient ones are retried with backoff until the command
succeeds; permanent ones end `failed` in the dead-letter stream, and after the fix the operator
redrives them (`python -m worker.cli dlq redrive --all`): each then succeeds, exactly once.
"""

import asyncio
import sys
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from infra import keys
from infra.child_process import ROOT
from tests.chaos.cluster import Cluster
from tests.chaos.common import Sizes, checker, note, settle
from tests.chaos.load import Sent, Tally, run_load, sign_up
from tests.chaos.verify import Figures, results, wait_final

WORKER = "worker-1"
TRANSIENT = "ChangeDisplayName=transient:3"
ALWAYS = "ChangeDisplayName=always"
MAX_ATTEMPTS = 3
SETTLE_WITHIN = 30.0
REDRIVE = [sys.executable, "-m", "worker.cli", "dlq", "redrive", "--all"]
SHOWN = 3  # commands whose attempt times are printed


async def retries(cluster: Cluster, sizes: Sizes) -> Figures:
    await cluster.start(workers=0)
    await cluster.start_worker(WORKER, SLUICE_FAULTS=TRANSIENT)  # registrations are not faulted
    users = await sign_up(cluster, 2)
    tally = Tally()
    problems: list[str] = []

    transient = await _send(cluster, users, tally, "transient", sizes.retried)
    problems += await _check_retried(cluster, transient)

    await cluster.stop_process(WORKER)
    await cluster.start_worker(WORKER, SLUICE_FAULTS=ALWAYS, SLUICE_MAX_ATTEMPTS=str(MAX_ATTEMPTS))
    doomed = await _send(cluster, users, tally, "always", sizes.retried)
    problems += await _check_dead_lettered(cluster, doomed)

    await cluster.stop_process(WORKER)
    await cluster.start_worker(WORKER)  # the fix: no fault any more
    problems += await _redrive(cluster, doomed)

    figures = await settle(cluster, tally, users, within=SETTLE_WITHIN)
    figures.problems += problems
    return figures


async def _send(
    cluster: Cluster, users: list[Any], tally: Tally, label: str, count: int
) -> list[Sent]:
    before = len(tally.sent)
    await run_load(cluster, users, label=label, count=count, concurrency=4, within=60, tally=tally)
    sent = [s for s in tally.sent[before:] if s.accepted]
    async with checker(cluster) as redis:
        await wait_final(redis, cluster.partitions, sent, SETTLE_WITHIN)
    return sent


async def _check_retried(cluster: Cluster, commands: list[Sent]) -> list[str]:
    """Succeeded on the 4th attempt, after three failures spaced by the backoff, as
    `GET /commands/{id}` shows (and the result recorded in the status hash agrees)."""
    problems: list[str] = []
    async with checker(cluster) as redis:
        recorded = await results(redis, cluster.partitions, commands)
    async with httpx.AsyncClient(base_url=cluster.web, timeout=10) as web:
        for n, sent in enumerate(commands):
            view = (await web.get(f"/commands/{sent.command_id}", headers=sent.user.auth)).json()
            errors = view.get("errors", [])
            times = [error["at"] for error in errors]
            if (view.get("status"), view.get("attempts")) != ("succeeded", 4):
                problems.append(f"transient {sent.command_id}: {view}")
            if errors != recorded.get(sent.command_id, {}).get("errors"):
                problems.append(f"transient {sent.command_id}: GET shows other errors than stored")
            if [e["attempt"] for e in errors] != [1, 2, 3] or any(
                e["code"] != "transient" for e in errors
            ):
                problems.append(f"transient {sent.command_id}: errors {errors}")
            if times != sorted(times) or len(set(times)) != len(times):
                problems.append(f"transient {sent.command_id}: attempt times {times}")
            if n < SHOWN and times:
                done = recorded[sent.command_id].get("completed_at", 0)
                offsets = ", ".join(f"+{t - times[0]}" for t in times)
                note(
                    f"{sent.command_id[:8]}: GET /commands: {view.get('status')}, attempts "
                    f"{view.get('attempts')}; attempts failed at {offsets} ms, "
                    f"the 4th succeeded at +{done - times[0]} ms"
                )
    note(
        "(backoff: full jitter under 50, 100, 200 ms ceilings, then up to 100 ms until arq "
        "polls for the deferred retry job)"
    )
    return problems


async def _check_dead_lettered(cluster: Cluster, commands: list[Sent]) -> list[str]:
    """Failed after MAX_ATTEMPTS, each in its partition's dead-letter stream with its errors."""
    problems: list[str] = []
    async with checker(cluster) as redis:
        recorded = await results(redis, cluster.partitions, commands)
        dead = await _dead_letters(redis, cluster.partitions)
    for sent in commands:
        result = recorded.get(sent.command_id, {})
        if (result.get("status"), result.get("attempts")) != ("failed", MAX_ATTEMPTS):
            problems.append(f"always {sent.command_id}: result {result}")
        letter = dead.get(sent.command_id)
        if letter is None:
            problems.append(f"always {sent.command_id}: not in the dead-letter stream")
        elif (letter["code"], letter["attempts"]) != ("transient", MAX_ATTEMPTS):
            problems.append(f"always {sent.command_id}: dead letter {letter}")
    note(
        f"{len(commands)} commands failed after {MAX_ATTEMPTS} attempts; "
        f"{sum(s.command_id in dead for s in commands)} of them in the dead-letter streams"
    )
    return problems


async def _dead_letters(redis: "Redis", partitions: int) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for partition in range(partitions):
        for _, fields in await redis.xrange(keys.dead_letters(partition)):
            command_id = fields[b"command_id"].decode()
            found[command_id] = {
                "code": orjson.loads(fields[b"error"])["code"],
                "attempts": int(fields[b"attempts"]),
            }
    return found


async def _redrive(cluster: Cluster, commands: list[Sent]) -> list[str]:
    """The operator's redrive, after the fix: every dead-lettered command then succeeds."""
    process = await asyncio.create_subprocess_exec(
        *REDRIVE,
        cwd=ROOT,
        env=cluster.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    for line in output.decode(errors="replace").splitlines():
        note(f"redrive | {line}")
    if process.returncode != 0:
        return [f"`{' '.join(REDRIVE[1:])}` exited {process.returncode}"]
    async with checker(cluster) as redis:
        found = await wait_final(
            redis, cluster.partitions, commands, SETTLE_WITHIN, wanted=frozenset({"succeeded"})
        )
    redriven = sum(status == "succeeded" for status in found.values())
    note(f"redriven after the fix: {redriven} of {len(commands)} succeeded")
    return [] if redriven == len(commands) else [f"only {redriven} redriven commands succeeded"]

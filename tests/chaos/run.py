"""`make chaos`: every fault scenario on real processes; exits 1 if anything was lost or doubled.

    python -m tests.chaos.run [--short] [--scenario N]

Each scenario gets a fresh cluster (its own redis-server, web, relay and workers on loopback)
in a temporary directory, kept with every process's log when the scenario fails.
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tests.chaos.cluster import Cluster
from tests.chaos.common import FULL, SHORT, Scenario, Sizes
from tests.chaos.full import redis_full
from tests.chaos.relay import relay_kill
from tests.chaos.retries import retries
from tests.chaos.scenarios import poison, redis_restart, worker_kills
from tests.chaos.verify import HEADER, WIDTHS, Figures, format_row

SCENARIOS: dict[int, tuple[str, Scenario]] = {
    1: ("worker SIGKILLs", worker_kills),
    2: ("Redis SIGKILL", redis_restart),
    3: ("retries + redrive", retries),
    4: ("poison messages", poison),
    5: ("relay SIGKILL", relay_kill),
    6: ("Redis full", redis_full),
}


async def run_scenario(number: int, sizes: Sizes) -> Figures:
    title, scenario = SCENARIOS[number]
    print(f"[{number}] {title}", flush=True)
    root = Path(tempfile.mkdtemp(prefix=f"sluice-chaos-{number}-"))
    cluster = Cluster(root)
    started = time.monotonic()
    try:
        figures = await asyncio.wait_for(scenario(cluster, sizes), sizes.time_limit)
    except Exception as error:
        traceback.print_exc()
        figures = Figures()
        figures.problems.append(f"{type(error).__name__}: {error}")
    finally:
        unclean = await cluster.stop()
    figures.scenario = f"{number} {title}"
    figures.check(not unclean, f"unclean exits: {unclean}")
    print(f"    {time.monotonic() - started:.1f}s", flush=True)
    if figures.passed:
        shutil.rmtree(root, ignore_errors=True)
    else:
        for problem in figures.problems:
            print(f"    PROBLEM: {problem}", flush=True)
        print(f"    logs kept in {root}", flush=True)
    return figures


async def run_all(numbers: list[int], sizes: Sizes) -> list[Figures]:
    return [await run_scenario(number, sizes) for number in numbers]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the reduced run of `make test`")
    parser.add_argument("--scenario", type=int, choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args(argv)
    sizes = SHORT if args.short else FULL
    started = time.monotonic()
    table = asyncio.run(run_all(args.scenario or sorted(SCENARIOS), sizes))
    print()
    print(format_row(HEADER))
    print(format_row("-" * w for w in WIDTHS))
    for figures in table:
        print(figures.row())
    failed = [f.scenario for f in table if not f.passed]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "passed"
    kind = "short" if args.short else "full"
    print(f"\nchaos ({kind}): {verdict} in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

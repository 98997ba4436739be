"""The fault suite's short run, inside `make test`: every scenario, reduced, as a subprocess."""

import subprocess
import sys

from infra.child_process import ROOT

SHORT_RUN_LIMIT = 120  # seconds; the short run takes about a minute on two cores


def test_the_short_fault_suite_loses_and_doubles_nothing() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.chaos.run", "--short"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SHORT_RUN_LIMIT,
        check=False,
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"

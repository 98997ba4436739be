"""What the benchmark's processes share: the payload size, the timing record, small helpers."""

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PAYLOAD_BYTES = 200
CONSUMER_GROUP = "bench"
READ_COUNT = 100
# Every child process is bounded in time: a stuck run fails instead of hanging `make bench`.
CHILD_TIMEOUT_SECONDS = 600.0
# Every benchmark's Redis: appendonly as configured, but no automatic AOF rewrite. A rewrite (a
# fork writing out the whole dataset) falls on whichever row happens to grow the file past its
# threshold, and on two cores it takes a share of that row's CPU: noise, not the row's cost.
REDIS_OPTIONS = ("--auto-aof-rewrite-percentage", "0")


def payload(i: int) -> bytes:
    """A ~200-byte message body, distinct per message."""
    head = f"msg-{i}-".encode()
    return head + b"x" * (PAYLOAD_BYTES - len(head))


@dataclass(frozen=True)
class Timing:
    """What a consumer process reports: how many it settled, in how long (first read to last
    commit), and anything the parent should check."""

    processed: int
    elapsed: float
    detail: dict[str, int]

    @property
    def rate(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0


def report(timing: Timing) -> None:
    """The child's one line of output, read by `bench.run`."""
    sys.stdout.write(json.dumps(asdict(timing)) + "\n")
    sys.stdout.flush()


def parse_report(stdout: str) -> Timing:
    last = stdout.strip().splitlines()[-1]
    data = json.loads(last)
    return Timing(
        processed=int(data["processed"]),
        elapsed=float(data["elapsed"]),
        detail={k: int(v) for k, v in data["detail"].items()},
    )


class ChildFailed(RuntimeError):
    """A load or consumer process exited with an error: its output says why."""


def child(module: str, *args: str) -> "Timing":
    """Runs `python -m module args` to the end (bounded) and returns the timing it reported."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise ChildFailed(f"{module} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return parse_report(done.stdout)

"""Real Sluice processes for end-to-end tests, started like the Procfile starts them."""

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """A child process whose output goes to a log file; `started` waits for a line it prints."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._marker_seen = threading.Event()
        self._marker = ""
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

    def wait_for(self, marker: str, timeout: float = 30.0) -> None:
        self._marker = marker
        self._reader = threading.Thread(target=self._follow, daemon=True)
        self._reader.start()
        if not self._marker_seen.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.output()}")

    def _follow(self) -> None:
        assert self.process.stdout is not None
        with self.log_path.open("w") as log:
            for raw in self.process.stdout:
                line = raw.decode(errors="replace")
                log.write(line)
                log.flush()
                self._lines.append(line)
                if self._marker in line:
                    self._marker_seen.set()
        self._marker_seen.set()

    def output(self) -> str:
        return "".join(self._lines)

    def stop(self, timeout: float = 20.0) -> bool:
        """SIGTERM, as a platform would; True when the process shut down cleanly.

        uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is clean too.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"{self.name} ignored SIGTERM:\n{self.output()}") from None
        if self._reader is not None:
            self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode in (0, -signal.SIGTERM)


def uvicorn(app: str, port: int, extra: list[str] | None = None) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        "--ws-max-size", "65536", "--ws-per-message-deflate", "false", *(extra or []),
    ]  # fmt: skip


def worker() -> list[str]:
    return [sys.executable, "-m", "worker"]


@dataclass
class Stack:
    redis_url: str
    web: str
    admin: str
    relay: str
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)
    worker_metrics: str = ""  # the stack's worker's /metrics URL


def base_env(redis_url: str, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "REDIS_URL"))}
    env.update(REDIS_URL=redis_url, PYTHONUNBUFFERED="1", **overrides)
    return env

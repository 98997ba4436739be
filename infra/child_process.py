"""A Sluice process run as a child: its output logged to a file, its start awaited, SIGTERM to stop.

The end-to-end tests, the fault suite and the benchmarks run the real processes this way, each
started as the Procfile starts it, each awaited until it prints the line it prints once it
serves (as `infra.embedded_redis` does for the redis-server they run against).
"""

import signal
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Process:
    """A child process whose output goes to a log file; `wait_for` returns once it printed a
    marker line (each call its own marker: a process may be followed from one line to the
    next)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self._lines: list[str] = []
        self._ended = False
        self._printed = threading.Condition()  # notified at each line, and at the end
        self._reader = threading.Thread(target=self._follow, daemon=True)
        self._reader.start()

    def wait_for(self, marker: str, timeout: float = 30.0) -> None:
        """Returns once a line holding `marker` was printed, now or before; stops the process
        and raises with its output if it exits or stays silent for `timeout` seconds first."""

        def printed() -> bool:
            return any(marker in line for line in self._lines)

        with self._printed:
            self._printed.wait_for(lambda: self._ended or printed(), timeout)
            seen = printed()
        if not seen or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.output()}")

    def _follow(self) -> None:
        assert self.process.stdout is not None
        with self.log_path.open("w") as log:
            for raw in self.process.stdout:
                line = raw.decode(errors="replace")
                log.write(line)
                log.flush()
                with self._printed:
                    self._lines.append(line)
                    self._printed.notify_all()
        with self._printed:  # exited: let `wait_for` see it
            self._ended = True
            self._printed.notify_all()

    def output(self) -> str:
        """Everything the process printed so far."""
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
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode in (0, -signal.SIGTERM)

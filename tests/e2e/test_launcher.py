"""`make run`'s launcher as a supervisor runs it: started, then stopped by SIGTERM alone."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from infra.embedded_redis import free_port

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_every_process_the_launcher_started(tmp_path: Path) -> None:
    """Also: each Procfile entry is one process, whatever worker count a platform suggests."""
    ports = {name: free_port() for name in ("PORT", "ADMIN_PORT", "RELAY_PORT", "redis")}
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SLUICE_ADMIN_EMAIL")} | {
        "PORT": str(ports["PORT"]),
        "ADMIN_PORT": str(ports["ADMIN_PORT"]),
        "RELAY_PORT": str(ports["RELAY_PORT"]),
        "SLUICE_REDIS_PORT": str(ports["redis"]),
        "SLUICE_DATA_DIR": str(tmp_path / "data"),
        "SLUICE_WORKER_METRICS_PORT": "0",
        "WEB_CONCURRENCY": "2",  # as some platforms set it; uvicorn would fork that many
    }
    launcher = subprocess.Popen(
        [sys.executable, "-m", "infra.launcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: nothing can outlive the test
    )
    try:
        assert launcher.stdout is not None
        serving: set[str] = set()
        printed: list[str] = []
        deadline = time.monotonic() + 60
        for line in launcher.stdout:
            printed.append(line)
            for name in ("PORT", "ADMIN_PORT", "RELAY_PORT"):
                if f"127.0.0.1:{ports[name]}" in line and "Uvicorn running on" in line:
                    serving.add(name)
            if len(serving) == 3 or time.monotonic() > deadline:
                break
        assert serving == {"PORT", "ADMIN_PORT", "RELAY_PORT"}
        assert all(listening(port) for port in ports.values())
        # One server process per entry: no uvicorn supervisor forking several (each would serve
        # its own /metrics behind one port).
        assert not [line for line in printed if "Started parent process" in line]
        assert sum("Started server process" in line for line in printed) == 3

        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 0  # a stop asked for is no failure

        # Its children may take a moment to close their sockets after it returns: poll, bounded.
        deadline = time.monotonic() + 15
        while any(listening(port) for port in ports.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [name for name, port in ports.items() if listening(port)] == []
    finally:
        if launcher.poll() is None:  # the test failed before stopping it: it stops its own
            launcher.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                launcher.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # whatever is left of its group
            os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()
        if launcher.stdout is not None:
            launcher.stdout.close()

"""Sluice's real processes for the gateway and end-to-end benchmarks, started from the Procfile.

Each process runs the Procfile's own command line (variables filled in from the environment
given), on free loopback ports, against an embedded redis-server with the appendfsync asked for.
Output goes to a log file per process; a start waits for the line the process prints once it
serves; a stop is SIGTERM, as a platform would send it.
"""

import json
import os
import re
import shlex
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from bench.common import REDIS_OPTIONS
from infra import keys
from infra.child_process import ROOT, Process
from infra.embedded_redis import EmbeddedRedis, free_port
from infra.identity import normalise_email

PROCFILE = ROOT / "Procfile"
START_TIMEOUT_SECONDS = 60.0
SETTLE_TIMEOUT_SECONDS = 60.0
# What each process prints once it serves ("Application startup complete." comes too early).
READY = {"web": "Uvicorn running on", "admin": "Uvicorn running on", "relay": "Uvicorn running on"}
READY_WORKER = "consuming"
PASSWORD = "a bench password, long enough"


def procfile() -> dict[str, str]:
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.startswith("#"):
            entries[name.strip()] = command.strip()
    return entries


def expand(command: str, env: dict[str, str]) -> list[str]:
    """The Procfile's shell words with `${NAME:-default}` filled in, run by this interpreter."""

    def fill(match: re.Match[str]) -> str:
        return env.get(match.group(1)) or match.group(2)

    words = shlex.split(re.sub(r"\$\{(\w+):-([^}]*)\}", fill, command))
    if words[0] == "uvicorn":
        return [sys.executable, "-m", "uvicorn", *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    return words


@dataclass(frozen=True)
class Account:
    """A registered user with an open session."""

    user_id: str
    token: str


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time a process has used so far (Linux `/proc`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stack:
    """One redis-server and whichever of the Procfile's processes were started against it."""

    def __init__(self, root: Path, redis: EmbeddedRedis) -> None:
        self.root = root
        self.redis = redis
        self.ports = {"web": free_port(), "admin": free_port(), "relay": free_port()}
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "REDIS_URL"))
        }
        self.env = inherited | {
            "REDIS_URL": redis.url,
            "PORT": str(self.ports["web"]),
            "ADMIN_PORT": str(self.ports["admin"]),
            "RELAY_PORT": str(self.ports["relay"]),
            "HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            "RATE_LIMIT_PER_MINUTE": "0",  # off: the load comes from one address
        }
        self.processes: dict[str, Process] = {}
        self._commands = procfile()

    def start(self, name: str, **env: str) -> None:
        """Starts one Procfile process (e.g. "web"), waits until it serves."""
        args = expand(self._commands[name], self.env | env)
        process = Process(name, args, self.env | env, self.root)
        self.processes[name] = process
        process.wait_for(READY.get(name, READY_WORKER), START_TIMEOUT_SECONDS)

    def start_bare_gateway(self, port: int, coalesce: bool) -> None:
        """`bench.bare_gateway` under the web process's uvicorn options."""
        args = expand(self._commands["web"], self.env | {"PORT": str(port)})
        args[args.index("api.public:create_app")] = "bench.bare_gateway:create_app"
        env = self.env | {"BENCH_REDIS_URL": self.redis.url, "BENCH_COALESCE": str(int(coalesce))}
        process = Process("bare", args, env, self.root)
        self.processes["bare"] = process
        process.wait_for(READY["web"], START_TIMEOUT_SECONDS)

    def stop(self, name: str) -> None:
        self.processes.pop(name).stop()

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each process started and by the redis-server."""
        assert self.redis.process is not None
        pids = {name: p.process.pid for name, p in self.processes.items()}
        return {
            name: cpu_seconds(pid)
            for name, pid in (pids | {"redis": self.redis.process.pid}).items()
        }

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)

    def web(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ports['web']}{path}"

    def sign_up(self, email: str) -> Account:
        """Registers a user through `POST /command` and logs in: needs the worker running."""
        accepted = http_json(
            self.web("/command"),
            {
                "command": "RegisterUser",
                "payload": {"email": email, "password": PASSWORD, "display_name": "bench"},
            },
        )
        self._settled(accepted["command_id"])
        with Redis.from_url(self.redis.url) as redis:
            until(
                lambda: bool(redis.exists(keys.user_by_email(normalise_email(email)))),
                "the user's credentials to be projected",
            )
        session = http_json(self.web("/auth/login"), {"email": email, "password": PASSWORD})
        return Account(user_id=session["user_id"], token=session["token"])

    def _settled(self, command_id: str) -> None:
        def settled() -> bool:
            status = http_json(self.web(f"/commands/{command_id}"))["status"]
            if status not in ("accepted", "succeeded"):
                raise RuntimeError(f"command {command_id} {status}")
            return bool(status == "succeeded")

        until(settled, f"command {command_id} to succeed")


def http_json(url: str, body: dict[str, Any] | None = None, token: str = "") -> Any:
    """One request to the stack (GET, or POST with a JSON body); the answer's JSON if 2xx."""
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{url}: {error.code} {error.read()[:300]!r}") from None


def until(condition: Any, what: str, timeout: float = SETTLE_TIMEOUT_SECONDS) -> None:
    """Polls with a deadline: the setup waits on work other processes do asynchronously."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def running(appendfsync: str) -> Iterator[Stack]:
    """A fresh redis-server (its own data directory, appendonly) and, on exit, every process
    started on it stopped, Redis last."""
    with tempfile.TemporaryDirectory(prefix="sluice-bench-stack-") as root:
        redis = EmbeddedRedis(
            Path(root) / "redis", free_port(), appendfsync=appendfsync, options=REDIS_OPTIONS
        ).start()
        stack = Stack(Path(root), redis)
        try:
            yield stack
        finally:
            try:
                stack.stop_all()
            finally:
                redis.stop()

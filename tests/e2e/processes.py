"""Real Sluice processes for end-to-end tests, started like the Procfile starts them."""

import os
import sys
from dataclasses import dataclass, field

from infra.child_process import Process


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

"""The whole system on free ports: its own redis-server, web, admin, relay and a worker."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from infra.child_process import Process
from infra.embedded_redis import free_port
from tests.e2e.processes import Stack, base_env, uvicorn, worker
from tests.redis_servers import own_server

ADMIN_EMAIL = "root@sluice.test"
ADMIN_PASSWORD = "the root password, long enough"
# Printed once the socket listens ("Application startup complete." comes before that).
STARTED = "Uvicorn running on"
SESSION_CACHE_MS = 60_000


def start_http(name: str, app: str, port: int, env: dict[str, str], logs: Path) -> Process:
    process = Process(name, uvicorn(app, port), env, logs)
    process.wait_for(STARTED)
    return process


def start_worker(name: str, env: dict[str, str], logs: Path) -> Process:
    process = Process(name, worker(), env, logs)
    process.wait_for("consuming")
    return process


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    server = own_server(root).start()
    ports = {"web": free_port(), "admin": free_port(), "relay": free_port()}
    worker_metrics_port = free_port()
    env = base_env(
        server.url,
        PORT=str(ports["web"]),
        ADMIN_PORT=str(ports["admin"]),
        RELAY_PORT=str(ports["relay"]),
        SLUICE_WORKER_METRICS_PORT=str(worker_metrics_port),
        RATE_LIMIT_PER_MINUTE="0",
        SLUICE_ADMIN_EMAIL=ADMIN_EMAIL,
        SLUICE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        SLUICE_CLAIM_IDLE_MS="1000",
        SLUICE_READ_BLOCK_MS="200",
        SLUICE_LOGIN_ATTEMPTS_PER_IP="1000",
        # Longer than any wait of a test: only a logout or a role change drops a kept caller.
        SLUICE_SESSION_CACHE_MS=str(SESSION_CACHE_MS),
    )
    stack = Stack(
        redis_url=server.url,
        web=f"http://127.0.0.1:{ports['web']}",
        admin=f"http://127.0.0.1:{ports['admin']}",
        relay=f"ws://127.0.0.1:{ports['relay']}/ws",
        worker_metrics=f"http://127.0.0.1:{worker_metrics_port}/metrics",
        env=env,
    )
    try:
        # One at a time, so that a failed start still stops those started before it.
        stack.processes.append(start_worker("worker", env, root))
        for name, app in (
            ("web", "api.public:create_app"),
            ("admin", "api.admin:create_app"),
            ("relay", "api.relay:create_app"),
        ):
            stack.processes.append(start_http(name, app, ports[name], env, root))
        yield stack
    finally:
        codes = {p.name: p.stop() for p in reversed(stack.processes)}
        server.stop()
    assert all(codes.values()), f"unclean exits: {codes}"


@pytest.fixture
async def web(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.web, timeout=10) as client:
        yield client


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.admin, timeout=10) as client:
        yield client

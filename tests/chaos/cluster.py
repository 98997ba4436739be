"""The system under test: its own redis-server (AOF, fsync always), web, relay and workers.

Every process is real and started like the Procfile starts it; each can be SIGKILLed and
started again. A start returns once the process printed its readiness line, never after a sleep.
"""

import asyncio
import os
from collections import Counter
from pathlib import Path

from infra.child_process import Process
from infra.embedded_redis import EmbeddedRedis, free_port
from tests.e2e.processes import Stack, base_env, uvicorn, worker

HTTP_READY = "Uvicorn running on"  # printed once it listens (startup completes before)
WORKER_READY = "consuming"
START_TIMEOUT = 60.0  # two cores shared by a dozen processes: starts can be slow
PARTITIONS = 4


class ChaosRedis(EmbeddedRedis):
    """An embedded redis-server that can also die without warning."""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final AOF flush; only what was fsynced survives."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait()
        if self._reader is not None:
            self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


class Cluster:
    """Redis plus named processes (`web`, `relay`, `worker-<n>`), each restartable."""

    def __init__(self, root: Path, **overrides: str) -> None:
        self.root = root
        self.redis = self._new_redis(free_port())
        ports = {"web": free_port(), "relay": free_port()}
        self.web = f"http://127.0.0.1:{ports['web']}"
        self.relay = f"ws://127.0.0.1:{ports['relay']}/ws"
        self.ports = ports
        self.partitions = PARTITIONS
        self.env = base_env(
            self.redis.url,
            PORT=str(ports["web"]),
            RELAY_PORT=str(ports["relay"]),
            SLUICE_PARTITIONS=str(PARTITIONS),
            RATE_LIMIT_PER_MINUTE="0",
            SLUICE_LOGIN_ATTEMPTS_PER_IP="1000",
            SLUICE_CLAIM_IDLE_MS="1000",
            SLUICE_READ_BLOCK_MS="200",
            SLUICE_RETRY_BASE="0.05",
            SLUICE_RETRY_CAP="0.5",
            SLUICE_SHUTDOWN_GRACE="5",
            SLUICE_WORKER_METRICS_PORT="0",  # many workers on one host: no metrics port each
            **overrides,
        )
        self.live: dict[str, Process] = {}
        self.starts: Counter[str] = Counter()
        self.worker_env: dict[str, dict[str, str]] = {}
        self.unclean: list[str] = []

    def _new_redis(self, port: int) -> ChaosRedis:
        return ChaosRedis(
            self.root / "redis",
            port,
            appendonly=True,
            appendfsync="always",
            executable=os.environ.get("SLUICE_TEST_REDIS_SERVER") or None,
        )

    @property
    def stack(self) -> Stack:
        """The e2e helpers' view of it (no admin app here)."""
        return Stack(
            redis_url=self.redis.url, web=self.web, admin="", relay=self.relay, env=self.env
        )

    async def start(self, workers: int, **worker_env: str) -> None:
        await asyncio.to_thread(self.redis.start)
        await asyncio.gather(
            self.start_http("web"),
            self.start_http("relay"),
            *(self.start_worker(f"worker-{n}", **worker_env) for n in range(1, workers + 1)),
        )

    async def start_http(self, name: str) -> None:
        app = {"web": "api.public:create_app", "relay": "api.relay:create_app"}[name]
        await self._launch(name, uvicorn(app, self.ports[name]), HTTP_READY, self.env)

    async def start_worker(self, name: str, **extra: str) -> None:
        """A worker under the stable consumer name `name`, with extra settings if any."""
        self.worker_env[name] = extra
        env = {**self.env, "SLUICE_CONSUMER_NAME": name, **extra}
        await self._launch(name, worker(), WORKER_READY, env)

    async def _launch(self, name: str, args: list[str], ready: str, env: dict[str, str]) -> None:
        if name in self.live:
            raise RuntimeError(f"{name} is already running")
        self.starts[name] += 1
        process = Process(f"{name}.{self.starts[name]}", args, env, self.root)
        self.live[name] = process  # from now on stop() owns it, even if it never gets ready
        await asyncio.to_thread(process.wait_for, ready, START_TIMEOUT)

    async def kill(self, name: str) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        process = self.live.pop(name)
        process.process.kill()
        await asyncio.to_thread(process.process.wait)
        await asyncio.to_thread(process.stop)  # reaps the log reader and the pipe

    async def restart_worker(self, name: str) -> None:
        """Killed, then started again under the same consumer name and settings."""
        await self.kill(name)
        await self.start_worker(name, **self.worker_env[name])

    async def stop_process(self, name: str) -> None:
        """SIGTERM, as a platform would; an unclean exit is remembered."""
        process = self.live.pop(name)
        try:
            clean = await asyncio.to_thread(process.stop)
        except RuntimeError:  # it ignored SIGTERM and was killed
            clean = False
        if not clean:
            self.unclean.append(f"{process.name} (exit {process.process.returncode})")

    def alive(self, name: str) -> bool:
        process = self.live.get(name)
        return process is not None and process.process.poll() is None

    def kill_redis(self) -> None:
        self.redis.kill()

    async def restart_redis(self) -> None:
        """The same port and data directory: the server reloads its append-only file."""
        self.redis = self._new_redis(self.redis.port)
        await asyncio.to_thread(self.redis.start)

    async def stop(self) -> list[str]:
        """Stops everything still running (workers first, Redis last); the unclean exits."""
        for name in sorted(self.live, key=lambda n: not n.startswith("worker")):
            await self.stop_process(name)
        self.redis.stop()
        return self.unclean

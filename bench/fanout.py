"""Fan-out: one event stream pushed to S WebSocket subscribers, Sluice's relay beside a bare one.

The relay runs as the Procfile runs it (uvicorn, its own process); every subscriber is an
authenticated admin on `admin:events`, so each receives every event. The bare relay
(`bench.bare_relay`) reads the same stream and speaks the same handshake. The subscribers and
the appends come from `bench.load_fanout`, a process of its own.
"""

import os
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis

from bench.common import ROOT, Timing, child
from infra import keys
from infra.embedded_redis import free_port
from infra.read_models import UserView, queue_user
from infra.scripts import load_all
from infra.sessions import open_session

STARTUP_SECONDS = 30.0


class FanoutFailed(RuntimeError):
    """A relay did not start, or the subscribers did not each get every event once."""


@contextmanager
def serving(factory: str, env: dict[str, str]) -> Iterator[str]:
    """A relay under uvicorn as the Procfile starts it; yields its WebSocket URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--ws-max-size",
        "65536",
        "--ws-per-message-deflate",
        "false",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Read its output for as long as it runs: a full pipe would block a server that logs
        # each WebSocket it accepts.
        said: deque[str] = deque(maxlen=20)
        ready = threading.Event()
        threading.Thread(target=_follow, args=(process, said, ready), daemon=True).start()
        if not ready.wait(STARTUP_SECONDS):
            tail = "".join(said)
            raise FanoutFailed(f"{factory} not serving after {STARTUP_SECONDS:.0f} s:\n{tail}")
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _follow(process: "subprocess.Popen[str]", said: "deque[str]", ready: threading.Event) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        said.append(line)
        if "Uvicorn running on" in line:
            ready.set()


async def admin_token(redis: Redis) -> str:
    """An admin with an open session, written as the projector and the login would."""
    await load_all(redis)
    user_id = str(uuid.uuid4())
    view = UserView(
        user_id=user_id, email=f"{user_id}@bench.example", display_name="bench", roles=("admin",)
    )
    async with redis.pipeline(transaction=True) as pipe:
        queue_user(pipe, view, 1)
        await pipe.execute()
    token, _ = await open_session(redis, user_id, 3600)
    return token


def subscribers(url: str, token: str, s: int, m: int, redis_url: str, stream: str) -> Timing:
    timing = child("bench.load_fanout", url, token, str(s), str(m), redis_url, stream)
    if timing.processed != s * m:
        raise FanoutFailed(f"{timing.processed} deliveries, {s * m} expected")
    return timing


async def fanout(redis: Redis, redis_url: str, s: int, m: int, *, bare: bool) -> Timing:
    await redis.flushall()
    stream = keys.events(0)
    if bare:
        env = {"BENCH_REDIS_URL": redis_url, "BENCH_STREAM": stream}
        with serving("bench.bare_relay:create_app", env) as url:
            return subscribers(url, "bare", s, m, redis_url, stream)
    token = await admin_token(redis)
    limit = str(max(s, 10))
    env = {
        "REDIS_URL": redis_url,
        "SLUICE_WS_MAX_PER_USER": limit,
        "SLUICE_WS_MAX_PER_IP": limit,
        "SLUICE_LOG_LEVEL": "WARNING",
    }
    with serving("api.relay:create_app", env) as url:
        return subscribers(url, token, s, m, redis_url, stream)

"""Whether the Redis server keeps what it acknowledges: read once at start-up, told in the log.

A 202 is only as durable as the server behind it. Two settings can lose acknowledged commands
without any error reaching Sluice: an append-only file turned off (a restart of Redis goes back
to its last snapshot, or to nothing) and an eviction policy (under memory pressure Redis drops
keys, streams and histories among them). The processes that write say so when they start. A
managed server may refuse CONFIG; then nothing can be known, and the log says that instead.
"""

import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

CHECKED = ("appendonly", "appendfsync", "maxmemory-policy")


async def server_settings(redis: "Redis") -> dict[str, str] | None:
    """The settings durability depends on; None when the server refuses to tell."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for name in CHECKED:
                pipe.config_get(name)  # one name a call: Redis 6 takes no list
            replies: list[dict[Any, Any]] = await pipe.execute()
    except ResponseError:  # CONFIG renamed away or not allowed to this user
        return None
    found: dict[str, str] = {}
    for reply in replies:
        for name, value in reply.items():
            found[_text(name)] = _text(value)
    return found


def risks(settings: dict[str, str]) -> list[str]:
    """What in these settings can lose commands the server has acknowledged."""
    found = []
    if settings.get("appendonly") != "yes":
        found.append(
            "appendonly is off: a restart of Redis loses every command, event and result "
            "written since its last snapshot; set appendonly yes"
        )
    policy = settings.get("maxmemory-policy", "noeviction")
    if policy != "noeviction":
        found.append(
            f"maxmemory-policy is {policy}: under memory pressure Redis may evict streams, "
            "histories and statuses; set it to noeviction"
        )
    return found


async def report(redis: "Redis", log: logging.Logger) -> None:
    """Logs the server's durability once: a warning per risk, else what it promises."""
    try:
        settings = await server_settings(redis)
    except Exception:  # Redis not up yet: the process says so elsewhere and retries
        return
    if settings is None:
        log.info("Redis refused CONFIG GET: its durability settings are unchecked")
        return
    found = risks(settings)
    for risk in found:
        log.warning("Redis may lose acknowledged commands: %s", risk)
    if not found:
        log.info(
            "Redis keeps what it acknowledges: appendonly yes, appendfsync %s, noeviction",
            settings.get("appendfsync", "unknown"),
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

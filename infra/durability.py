"""Whether the Redis server keeps what it acknowledges: checked at start-up and then again,
told in the log and in a gauge.

A 202 is only as durable as the server behind it. Two settings can lose acknowledged commands
without any error reaching Sluice: an append-only file turned off (a restart of Redis goes back
to its last snapshot, or to nothing) and an eviction policy (under memory pressure Redis drops
keys, streams and histories among them). Either can change while Sluice runs (a `CONFIG SET`,
a managed service's maintenance), so the processes that serve metrics check again: the worker
every minute, admin at each scrape. Each check sets `sluice_redis_durability_risks`; the log
hears the whole state once, then of each change. A managed server may refuse CONFIG; then
nothing can be known, the log says that instead and the gauge is withheld.
"""

import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from infra.metrics import REDIS_DURABILITY_RISKS

CHECKED = ("appendonly", "appendfsync", "maxmemory-policy")
# The gauge's label values: every way the settings above can lose what Redis acknowledged.
APPENDONLY_OFF, EVICTION = "appendonly_off", "eviction"
RISK_NAMES = (APPENDONLY_OFF, EVICTION)


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


def risks(settings: dict[str, str]) -> dict[str, str]:
    """What in these settings can lose commands the server has acknowledged, by risk name."""
    found = {}
    if settings.get("appendonly") != "yes":
        found[APPENDONLY_OFF] = (
            "appendonly is off: a restart of Redis loses every command, event and result "
            "written since its last snapshot; set appendonly yes"
        )
    policy = settings.get("maxmemory-policy", "noeviction")
    if policy != "noeviction":
        found[EVICTION] = (
            f"maxmemory-policy is {policy}: under memory pressure Redis may evict streams, "
            "histories and statuses; set it to noeviction"
        )
    return found


class Watch:
    """Checks the server again and again; logs the first state whole, then each change."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._seen: dict[str, str] | None = None  # the risks at the last check; None: no check yet
        self._unchecked_said = False

    async def check(self, redis: "Redis") -> None:
        try:
            settings = await server_settings(redis)
        except Exception:  # Redis away: the process says so elsewhere, and checks again later
            return
        if settings is None:
            REDIS_DURABILITY_RISKS.clear()  # nothing known: no figure rather than a guess
            if not self._unchecked_said:
                self._log.info("Redis refused CONFIG GET: its durability settings are unchecked")
                self._unchecked_said = True
            return
        found = risks(settings)
        for name in RISK_NAMES:
            REDIS_DURABILITY_RISKS.labels(name).set(1 if name in found else 0)
        if self._seen is None:
            self._say_all(found, settings)
        else:
            self._say_changes(self._seen, found, settings)
        self._seen = found

    def _say_all(self, found: dict[str, str], settings: dict[str, str]) -> None:
        for risk in found.values():
            self._log.warning("Redis may lose acknowledged commands: %s", risk)
        if not found:
            self._log.info(
                "Redis keeps what it acknowledges: appendonly yes, appendfsync %s, noeviction",
                settings.get("appendfsync", "unknown"),
            )

    def _say_changes(
        self, before: dict[str, str], found: dict[str, str], settings: dict[str, str]
    ) -> None:
        for name, risk in found.items():
            if name not in before:
                self._log.warning(
                    "Redis's settings changed; it may lose acknowledged commands: %s", risk
                )
        gone = [name for name in before if name not in found]
        if gone and not found:
            self._log.info(
                "Redis's settings changed; it keeps what it acknowledges again: appendonly yes, "
                "appendfsync %s, noeviction",
                settings.get("appendfsync", "unknown"),
            )
        elif gone:
            self._log.info("Redis's settings changed; no longer a risk: %s", ", ".join(gone))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

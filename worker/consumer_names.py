"""Stable consumer names: the same slot after a restart, never two live processes on one.

A process leases the first free `<base>-<n>` and keeps the lease fresh; a restarted process
finds its old slot free again and takes it back, with its pending entries. An explicit name
(`SLUICE_CONSUMER_NAME`, or a platform's `DYNO`) is used as is.
"""

import socket

from redis.asyncio import Redis

from infra import keys
from infra.tokens import new_token

LEASE_SECONDS = 30
MAX_SLOTS = 1024


class ConsumerName:
    def __init__(self, redis: "Redis", group: str, explicit: str = "") -> None:
        self._redis = redis
        self._group = group
        self._explicit = explicit
        self._token = new_token()
        self.name = explicit

    async def acquire(self) -> str:
        if self._explicit:
            return self.name
        base = f"{socket.gethostname()}-{self._group}"
        for slot in range(1, MAX_SLOTS + 1):
            name = f"{base}-{slot}"
            key = keys.consumer_lease(self._group, name)
            if await self._redis.set(key, self._token, nx=True, ex=LEASE_SECONDS):
                self.name = name
                return name
        raise RuntimeError(f"no free consumer slot under {base}")

    async def renew(self) -> bool:
        """Extends the lease; False when another process took the name over meanwhile."""
        if self._explicit:
            return True
        key = keys.consumer_lease(self._group, self.name)
        holder = await self._redis.get(key)
        if holder is None:  # lapsed while we stalled, and nobody took it
            return bool(await self._redis.set(key, self._token, nx=True, ex=LEASE_SECONDS))
        if holder != self._token.encode():
            return False
        return bool(await self._redis.expire(key, LEASE_SECONDS))

    async def release(self) -> None:
        if self._explicit:
            return
        key = keys.consumer_lease(self._group, self.name)
        if await self._redis.get(key) == self._token.encode():
            await self._redis.delete(key)


async def is_leased(redis: "Redis", group: str, name: str) -> bool:
    return bool(await redis.exists(keys.consumer_lease(group, name)))


async def remove_stale(
    redis: "Redis", streams: list[tuple[str, str]], current: str, idle_ms: int
) -> int:
    """Deletes consumers idle longer than `idle_ms` that hold nothing and whose process is gone.

    A consumer holding pending entries is never deleted: XGROUP DELCONSUMER would drop them;
    they are reclaimed by a live consumer first, and the empty consumer goes on a later pass.
    """
    removed = 0
    for stream, group in streams:
        for info in await redis.xinfo_consumers(stream, group):
            name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
            if (
                info["pending"] == 0
                and info["idle"] >= idle_ms
                and name != current
                and not await is_leased(redis, "worker", name)
            ):
                await redis.xgroup_delconsumer(stream, group, name)
                removed += 1
    return removed

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

    async def renew(self) -> None:
        if self._explicit:
            return
        await self._redis.set(
            keys.consumer_lease(self._group, self.name), self._token, ex=LEASE_SECONDS
        )

    async def release(self) -> None:
        if self._explicit:
            return
        key = keys.consumer_lease(self._group, self.name)
        if await self._redis.get(key) == self._token.encode():
            await self._redis.delete(key)


async def is_leased(redis: "Redis", group: str, name: str) -> bool:
    return bool(await redis.exists(keys.consumer_lease(group, name)))

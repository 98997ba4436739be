"""Redis client factory: one asyncio client per process, with bounded timeouts."""

from redis.asyncio import Redis

from infra.settings import Settings


def connect(settings: Settings, *, socket_timeout: float | None = 5.0) -> "Redis":
    """A client for the data Redis. Blocking reads pass their own, longer, timeout."""
    client: Redis = Redis.from_url(
        settings.redis_url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        max_connections=256,
    )
    return client

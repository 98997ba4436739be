"""The typed dependencies of a worker process, built once at start-up."""

from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.asyncio import Redis

from infra.settings import Settings


@dataclass(frozen=True)
class Deps:
    settings: Settings
    redis: "Redis"
    consumer: str
    arq: ArqRedis | None = None  # schedules retries; without it, a failure is dead-lettered

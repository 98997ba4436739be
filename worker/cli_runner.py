"""What every `sluice` command shares: a Redis connection per run, and one-line failures."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from redis.asyncio import Redis

from infra import operations, partition_count
from infra.errors import Unavailable, translated
from infra.redis import connect
from infra.settings import Settings

T = TypeVar("T")

EXIT_FAILED = 1
EXIT_UNREACHABLE = 2


class Failure(click.ClickException):
    """One line on stderr and an exit code; never a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"sluice: {self.message}", err=True)


def run(ctx: click.Context, job: Callable[["Redis", Settings], Awaitable[T]]) -> T:
    settings: Settings = ctx.obj

    async def with_redis() -> T:
        redis = connect(settings)
        try:
            async with translated():
                await partition_count.check(redis, settings.partitions, record=False)
            return await job(redis, settings)
        finally:
            await redis.aclose()

    try:
        return asyncio.run(with_redis())
    except Unavailable as error:
        where = _where(settings.redis_url)
        raise Failure(f"cannot reach Redis at {where}: {error}", EXIT_UNREACHABLE) from None
    except (
        operations.DeadLetterNotFound,
        operations.NotRedrivable,
        partition_count.PartitionCountMismatch,
    ) as error:
        raise Failure(str(error)) from None
    except Exception as error:  # e.g. a key of the wrong type: still one line, not a traceback
        raise Failure(f"{type(error).__name__}: {error}") from None


def _where(url: str) -> str:
    """Host, port and database only: a URL may carry a password."""
    parts = urlsplit(url)
    return f"{parts.hostname or '?'}:{parts.port or 6379}{parts.path or ''}"

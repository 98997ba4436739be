"""Translates redis-py failures into Sluice's own: nothing else imports `redis.exceptions`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import exceptions as redis_errors


class Unavailable(Exception):
    """Redis could not be reached or did not answer in time: a transient failure."""


TRANSIENT = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    OSError,
)


# A connection lost inside a WATCH comes back as WatchError, not as a connection error.
TRANSIENT_IN_TRANSACTION = (*TRANSIENT, redis_errors.WatchError)


def is_no_script(error: BaseException) -> bool:
    return isinstance(error, redis_errors.NoScriptError)


def is_no_group(error: BaseException) -> bool:
    """The stream or its group vanished (deleted, or the server lost its data)."""
    return isinstance(error, redis_errors.ResponseError) and "NOGROUP" in str(error)


def is_watch_failed(error: BaseException) -> bool:
    """A MULTI/EXEC not run because a WATCHed key changed (or the connection dropped)."""
    return isinstance(error, redis_errors.WatchError)


def is_group_exists(error: BaseException) -> bool:
    return isinstance(error, redis_errors.ResponseError) and "BUSYGROUP" in str(error)


def translate(error: Exception) -> Exception:
    """The error a caller should see: `Unavailable` for a transient one, else the error itself."""
    if isinstance(error, TRANSIENT):
        unavailable = Unavailable(str(error) or type(error).__name__)
        unavailable.__cause__ = error
        return unavailable
    return error


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    try:
        yield
    except TRANSIENT as error:
        raise translate(error) from error


def own_copy(error: Exception) -> Exception:
    """One exception object per waiter of a shared round trip: a shared `Unavailable` would
    collect every caller's traceback. Anything else is a bug: every caller reports the same."""
    if not isinstance(error, Unavailable):
        return error
    copy = Unavailable(*error.args)
    copy.__cause__ = error.__cause__
    return copy

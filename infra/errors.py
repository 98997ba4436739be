"""Translates redis-py failures into Sluice's own: nothing else imports `redis.exceptions`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import exceptions as redis_errors


class Unavailable(Exception):
    """Redis could not be reached, did not answer in time, or refuses writes for now: a
    transient failure."""


TRANSIENT = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    OSError,
)


# The server is up but refuses writes for now: full under `noeviction` (OOM), a replica since a
# failover (READONLY), a failed snapshot with stop-writes-on-bgsave-error (MISCONF), too few
# replicas (NOREPLICAS, MASTERDOWN). The write did not happen, and may once the operator acts:
# an outage, not a bug. Inside a script the error comes wrapped, its code within the message.
REFUSED_WRITE_CODES = ("OOM", "READONLY", "MISCONF", "NOREPLICAS", "MASTERDOWN")
REFUSED_WRITES = (redis_errors.OutOfMemoryError, redis_errors.ReadOnlyError)


def refuses_writes(error: BaseException) -> bool:
    if isinstance(error, REFUSED_WRITES):
        return True
    if not isinstance(error, redis_errors.ResponseError):
        return False
    text = str(error)
    return any(text.startswith(code) or f"-{code} " in text for code in REFUSED_WRITE_CODES)


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
    if isinstance(error, TRANSIENT) or refuses_writes(error):
        unavailable = Unavailable(str(error) or type(error).__name__)
        unavailable.__cause__ = error
        return unavailable
    return error


def is_unavailable(error: Exception) -> bool:
    """Whether the error is an outage (translated or not yet): retried, not a bug."""
    return isinstance(error, (Unavailable, *TRANSIENT)) or refuses_writes(error)


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    try:
        yield
    except TRANSIENT as error:
        raise translate(error) from error
    except redis_errors.ResponseError as error:
        if refuses_writes(error):
            raise translate(error) from error
        raise


def own_copy(error: Exception) -> Exception:
    """One exception object per waiter of a shared round trip: a shared `Unavailable` would
    collect every caller's traceback. Anything else is a bug: every caller reports the same."""
    if not isinstance(error, Unavailable):
        return error
    copy = Unavailable(*error.args)
    copy.__cause__ = error.__cause__
    return copy

"""Every Redis key and stream name Sluice uses; built here and nowhere else.

Keys of partition `p` share the hash tag `{p<p>}` so one Lua script may touch them all, on a
single server and on Redis Cluster alike.
"""

import zlib

PREFIX = "sluice"
WORKERS_GROUP = "workers"
PROJECTOR_GROUP = "projector"


def partition_of(routing_key: str, partitions: int) -> int:
    """Stable across processes and restarts (unlike `hash()`)."""
    return zlib.crc32(routing_key.encode()) % partitions


def _p(partition: int) -> str:
    return f"{PREFIX}:{{p{partition}}}"


def commands(partition: int) -> str:
    return f"{_p(partition)}:commands"


def events(partition: int) -> str:
    return f"{_p(partition)}:events"


def results(partition: int) -> str:
    return f"{_p(partition)}:results"


def dead_letters(partition: int) -> str:
    return f"{_p(partition)}:dead"


def history(partition: int, aggregate_id: str) -> str:
    return f"{_p(partition)}:agg:{aggregate_id}"


def command_status(partition: int, command_id: str) -> str:
    return f"{_p(partition)}:cmd:{command_id}"


def claim(partition: int, name: str) -> str:
    return f"{_p(partition)}:claim:{name}"


def idempotency(scope: str, key: str) -> str:
    return f"{PREFIX}:idem:{scope}:{key}"


def session(token_hash: str) -> str:
    return f"{PREFIX}:session:{token_hash}"


def revocations() -> str:
    return f"{PREFIX}:revocations"


def rate_limit(scope: str, window: int) -> str:
    return f"{PREFIX}:rl:{scope}:{window}"


def user(user_id: str) -> str:
    return f"{PREFIX}:rm:user:{user_id}"


def user_by_email(email: str) -> str:
    return f"{PREFIX}:rm:email:{email}"


def credentials(user_id: str) -> str:
    return f"{PREFIX}:rm:credentials:{user_id}"


def consumer_lease(group: str, name: str) -> str:
    return f"{PREFIX}:consumer:{group}:{name}"

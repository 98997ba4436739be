"""Ids the gateway chooses for new aggregates: derived from the command id, and co-located.

Deriving an id from the command id (UUIDv5) makes a repeated command (same `command_id` or
`Idempotency-Key`) name the same brand, product or order, and lets the 202 answer say which.
A unique claim is checked in the partition of the aggregate that claims it, so an aggregate
whose creation claims a value must live in the partition that owns that value: every attempt to
claim it then meets in one partition, as users meet their email's (`infra.ids`).
"""

import uuid

from infra.keys import partition_of

# Fixed forever: changing it would give a repeated command a new id.
NAMESPACE = uuid.UUID("6f1c3c52-52a4-5b07-9a53-0a1d8f3e9b11")
MAX_TRIES = 10_000  # each try lands in the wanted partition with odds 1/partitions


def derived(kind: str, command_id: str, attempt: int = 0) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}\x1f{command_id}\x1f{attempt}"))


def colocated(kind: str, command_id: str, routing_key: str, partitions: int) -> str:
    """An id whose aggregate `<kind>:<id>` lives in the partition of `routing_key`."""
    target = partition_of(routing_key, partitions)
    for attempt in range(MAX_TRIES):
        candidate = derived(kind, command_id, attempt)
        if partition_of(f"{kind}:{candidate}", partitions) == target:
            return candidate
    raise RuntimeError(f"no {kind} id found for partition {target}")  # odds (3/4)**10000

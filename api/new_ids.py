"""Ids the gateway chooses for new aggregates, derived from the command id.

Deriving an id from the command id (UUIDv5) makes a repeated command (same `command_id` or
`Idempotency-Key`) name the same brand, product or order, and lets the 202 answer say which.
"""

import uuid

# Fixed forever: changing it would give a repeated command a new id.
NAMESPACE = uuid.UUID("6f1c3c52-52a4-5b07-9a53-0a1d8f3e9b11")


def derived(kind: str, command_id: str, attempt: int = 0) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}\x1f{command_id}\x1f{attempt}"))

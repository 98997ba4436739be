"""Identifiers that must land in a chosen partition."""

import uuid

from infra.keys import partition_of


def email_routing_key(email: str) -> str:
    return f"email:{email}"


def user_id_for_email(email: str, partitions: int, seed: str | None = None) -> str:
    """A new user id whose aggregate lives in the partition that owns `email`'s claim.

    Every registration of one email then meets in one partition, where a single commit both
    claims the email and creates the user. With `seed`, the id is deterministic.
    """
    target = partition_of(email_routing_key(email), partitions)
    for attempt in range(10_000):
        candidate = (
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"sluice:{seed}:{attempt}"))
            if seed is not None
            else str(uuid.uuid4())
        )
        if partition_of(f"user:{candidate}", partitions) == target:
            return candidate
    raise RuntimeError("no user id found for the partition")  # 1 in 4**10000 with 4 partitions

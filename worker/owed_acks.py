"""Acknowledgements owed: sent in the same round trip as the consumer's next read.

A projector or reactor batch is acknowledged only once it is applied; sent on its own, that
XACK is a round trip per batch, as many as the reads themselves. Owed instead, it goes out
ahead of the next XREADGROUP in one pipeline: Redis runs it at once, before the read blocks,
so nothing stays pending longer, and under light load each event costs one round trip fewer.
An acknowledgement that does not go through leaves its entry pending, to be delivered again;
every consumer that owes them is idempotent.
"""

from typing import Any

Acks = dict[int, list[str]]  # partition -> entry ids


class OwedAcks:
    def __init__(self) -> None:
        self._owed: Acks = {}

    def __bool__(self) -> bool:
        return bool(self._owed)

    def owe(self, acks: Acks) -> None:
        for partition, ids in acks.items():
            self._owed.setdefault(partition, []).extend(ids)

    def take(self) -> Acks:
        """What is owed, now the caller's to send (`owe` it back if it could not)."""
        taken, self._owed = self._owed, {}
        return taken


def acks_of(batch: list[tuple[int, tuple[str, Any]]]) -> Acks:
    acks: Acks = {}
    for partition, (entry_id, _) in batch:
        acks.setdefault(partition, []).append(entry_id)
    return acks


def queue_acks(pipe: Any, streams: list[str], group: str, acks: Acks) -> int:
    """One XACK per partition; returns how many commands were queued."""
    for partition, ids in acks.items():
        pipe.xack(streams[partition], group, *ids)
    return len(acks)

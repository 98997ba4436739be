"""Acknowledgements owed: sent in the round trip of one of the consumer's next reads.

A projector or reactor batch is acknowledged only once it is applied; sent on its own, that
XACK is a round trip per batch, as many as the reads themselves. Owed instead, it goes out
ahead of a later XREADGROUP in one pipeline, and Redis runs it before the read blocks.

Not always the very next read: under light load every read blocks, and an XACK arriving on its
own is a write of its own, so with `appendfsync always` an fsync of its own (each one stalls
the server for the disk's flush: a quarter of a millisecond or more). The acknowledgements owed
wait up to `ack_linger_ms` (`SLUICE_ACK_LINGER_MS`) for a read to go with, and the blocking
reads meanwhile wait no longer than that: a consumer's acknowledgements then cost one write per
linger instead of one per event. Busy, they go out with the first read after the linger, all
the batches' since at once.

An acknowledgement that does not go through, or is still owed when the process dies, leaves its
entry pending, to be delivered again; every consumer that owes them is idempotent.
"""

import math
import time
from collections.abc import Mapping
from typing import Any

Acks = dict[int, list[str]]  # partition -> entry ids


class OwedAcks:
    def __init__(self, linger_seconds: float = 0.0) -> None:
        self._owed: Acks = {}
        self._linger = linger_seconds
        self._due = 0.0  # on the monotonic clock: when the oldest owed should go out

    def __bool__(self) -> bool:
        return bool(self._owed)

    def owe(self, acks: Acks) -> None:
        if acks and not self._owed:
            self._due = time.monotonic() + self._linger
        for partition, ids in acks.items():
            self._owed.setdefault(partition, []).extend(ids)

    def wait_ms(self) -> int:
        """How long what is owed may still wait for a read to go with; 0: send it now."""
        if not self._owed:
            return 0
        return max(0, math.ceil((self._due - time.monotonic()) * 1000))

    def take(self) -> Acks:
        """What is owed, now the caller's to send (`owe` it back if it could not)."""
        taken, self._owed = self._owed, {}
        return taken


def acks_of(batch: list[tuple[int, tuple[str, Any]]]) -> Acks:
    acks: Acks = {}
    for partition, (entry_id, _) in batch:
        acks.setdefault(partition, []).append(entry_id)
    return acks


def queue_acks(pipe: Any, streams: Mapping[int, str], group: str, acks: Acks) -> int:
    """One XACK per partition; returns how many commands were queued."""
    for partition, ids in acks.items():
        pipe.xack(streams[partition], group, *ids)
    return len(acks)

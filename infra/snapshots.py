"""Aggregate snapshots: an aggregate's state at a version, so a load replays only the tail.

A snapshot is a cache. The history list stays complete and is the truth: the load script uses
a snapshot only when its fingerprint matches and its version lies within the history, and a
snapshot that cannot be read is dropped and the whole history replayed. Deleting every snapshot
changes no outcome, only the time a load takes.

The fingerprint names the shape of the state: a hash of the state type's JSON schema and of the
aggregate's `snapshot_version`, so a snapshot written by other code is ignored, never misread.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from redis.asyncio import Redis

from domain.aggregate import AggregateRules, State
from domain.registry import AGGREGATES, aggregate_type
from events.codec import decode_event, record_decoder
from infra import keys
from infra.errors import is_no_script
from infra.partition_calls import Layout, by_partition
from infra.scripts import LOAD_AGGREGATE, PUT_SNAPSHOT, load_all

PURGE_BATCH = 500


class SnapshotUnreadable(Exception):
    """A stored snapshot whose state does not decode as the state type it claims to be."""


def fingerprint(rules: AggregateRules) -> str:
    schema = msgspec.json.encode(msgspec.json.schema(rules.state_type))
    digest = hashlib.sha256(schema + f"|{rules.snapshot_version}".encode())
    return digest.hexdigest()[:16]


_encoder = msgspec.json.Encoder()


class SnapshotCodec:
    """Encodes an aggregate type's state as JSON and decodes it back, equal to the original."""

    def __init__(self, rules: AggregateRules) -> None:
        self.fingerprint = fingerprint(rules)
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(rules.state_type | None)

    def encode(self, state: State) -> bytes:
        return _encoder.encode(state)

    def decode(self, raw: bytes) -> State:
        try:
            return self._decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise SnapshotUnreadable(str(error)) from error


# Built once: the fingerprint hashes a schema, which is no work for every load.
CODECS: dict[str, SnapshotCodec] = {
    name: SnapshotCodec(rules) for name, rules in AGGREGATES.items()
}


def codec_of(aggregate_id: str) -> SnapshotCodec:
    return CODECS[aggregate_type(aggregate_id)]


@dataclass(frozen=True)
class Restored:
    """An aggregate as loaded: its state at `version`, rebuilt from the snapshot at `base`."""

    state: State
    version: int
    base: int  # the snapshot's version; 0: no snapshot, the whole history replayed


def queue_loads(pipe: Any, aggregates: Sequence[tuple[int, str]]) -> Layout:
    """Queues one load script call per partition: each aggregate's usable snapshot and its
    history after it. Returns, per call, the indexes in `aggregates` it loads, in reply order
    (`partition_calls.per_item` gives each aggregate its own)."""
    calls = by_partition([partition for partition, _ in aggregates])
    for partition, indexes in calls.items():
        load_keys: list[str] = []
        fingerprints: list[str] = []
        for i in indexes:
            aggregate_id = aggregates[i][1]
            load_keys += [
                keys.snapshot(partition, aggregate_id),
                keys.history(partition, aggregate_id),
            ]
            fingerprints.append(codec_of(aggregate_id).fingerprint)
        LOAD_AGGREGATE.queue(pipe, load_keys, fingerprints)
    return list(calls.values())


def queue_drop(pipe: Any, partition: int, aggregate_id: str) -> None:
    pipe.unlink(keys.snapshot(partition, aggregate_id))


def restore(rules: AggregateRules, aggregate_id: str, reply: Sequence[Any]) -> Restored:
    """The state from the load script's reply. Raises `SnapshotUnreadable` for a bad snapshot."""
    base = int(reply[0])
    state = codec_of(aggregate_id).decode(reply[1]) if base else None
    return Restored(_replay(rules, state, reply[2:]), base + len(reply) - 2, base)


def restore_history(rules: AggregateRules, entries: Sequence[bytes]) -> Restored:
    """The state from the whole history, no snapshot."""
    return Restored(_replay(rules, None, entries), len(entries), 0)


def _replay(rules: AggregateRules, state: State, entries: Sequence[bytes]) -> State:
    for raw in entries:
        state = rules.evolve(state, decode_event(record_decoder.decode(raw)))
    return state


@dataclass(frozen=True)
class Snapshot:
    partition: int
    aggregate_id: str
    version: int
    state: State


async def write(redis: "Redis", snapshots: Sequence[Snapshot]) -> list[bool]:
    """Stores the snapshots in one pipeline; each is written only if newer than the stored one.

    Returns, per snapshot, whether it was written.
    """
    if not snapshots:
        return []
    try:
        return await _write(redis, snapshots)
    except Exception as error:
        if not is_no_script(error):
            raise
        await load_all(redis)  # the server restarted and forgot the scripts
        return await _write(redis, snapshots)


async def _write(redis: "Redis", snapshots: Sequence[Snapshot]) -> list[bool]:
    async with redis.pipeline(transaction=False) as pipe:
        for snap in snapshots:
            codec = codec_of(snap.aggregate_id)
            PUT_SNAPSHOT.queue(
                pipe,
                [
                    keys.snapshot(snap.partition, snap.aggregate_id),
                    keys.history(snap.partition, snap.aggregate_id),
                ],
                [snap.version, codec.fingerprint, codec.encode(snap.state)],
            )
        replies = await pipe.execute()
    return [bool(reply) for reply in replies]


async def read(redis: "Redis", partition: int, aggregate_id: str) -> tuple[int, str] | None:
    """The stored snapshot's version and fingerprint, if there is one (for operators, tests)."""
    stored = await redis.hmget(keys.snapshot(partition, aggregate_id), ["v", "fp"])
    if stored[0] is None:
        return None
    return int(stored[0]), (stored[1] or b"").decode()


async def purge(redis: "Redis", *, batch: int = PURGE_BATCH) -> int:
    """Deletes every snapshot of every partition (SCAN, then UNLINK in batches); returns how many.

    Safe while workers run: a load that finds no snapshot replays the whole history.
    """
    deleted = 0
    found: list[bytes] = []
    async for key in redis.scan_iter(match=keys.SNAPSHOT_PATTERN, count=batch):
        found.append(key)
        if len(found) >= batch:
            deleted += await redis.unlink(*found)
            found.clear()
    if found:
        deleted += await redis.unlink(*found)
    return deleted

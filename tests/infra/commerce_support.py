"""Helpers for the commerce tests: commands sent, events appended by hand, read models dumped."""

import asyncio
from typing import Any

import msgspec
from redis.asyncio import Redis

from events.aggregate_ids import aggregate_id_of
from events.codec import encoder, record_decoder
from events.commands import Command
from events.envelope import Envelope, EventRecord
from events.events import Event
from infra import keys
from infra.command_log import envelope_for, submit
from infra.settings import Settings
from worker.consumer import StreamConsumer


async def send(
    redis: Redis, settings: Settings, command: Command, actor: str | None, *roles: str
) -> Envelope:
    """Appends the command as the gateway would, with the actor's roles stamped."""
    envelope = envelope_for(
        settings=settings,
        command=command,
        aggregate_id=aggregate_id_of(command),
        actor=actor,
        actor_roles=roles,
    )
    assert await submit(redis, settings, envelope)
    return envelope


def record_of(
    event: Event, aggregate_id: str, version: int, *, at: int = 1, command_id: str = ""
) -> EventRecord:
    command_id = command_id or f"cmd-{aggregate_id}-{version}"
    return EventRecord(
        event=type(event).__name__,
        version=type(event).version,
        data=msgspec.Raw(encoder.encode(event)),
        aggregate_id=aggregate_id,
        aggregate_version=version,
        command_id=command_id,
        correlation_id=f"corr-{command_id}",
        causation_id=None,
        actor=None,
        occurred_at=at,
    )


async def append(redis: Redis, settings: Settings, record: EventRecord) -> None:
    """Puts a record on its partition log, as a commit would."""
    partition = keys.partition_of(record.aggregate_id, settings.partitions)
    await redis.xadd(keys.events(partition), {"e": encoder.encode(record)})


async def event_log(redis: Redis, settings: Settings) -> list[EventRecord]:
    return [
        record_decoder.decode(fields[b"e"])
        for partition in range(settings.partitions)
        for _, fields in await redis.xrange(keys.events(partition))
    ]


async def settle(*consumers: StreamConsumer, rounds: int = 200) -> None:
    """Runs the consumers side by side, batch after batch, until none finds anything new."""
    for _ in range(rounds):
        counts = await asyncio.gather(*(c._read_once(">", block=False) for c in consumers))
        if not any(counts):
            return
    raise AssertionError(f"still busy after {rounds} rounds")


async def project_all(
    redis: Redis, settings: Settings, projector: StreamConsumer, records: list[EventRecord]
) -> None:
    for record in records:
        await append(redis, settings, record)
    await settle(projector)


def history(aggregate_id: str, *events: Event, start: int = 1) -> list[EventRecord]:
    """Records of one aggregate's events at consecutive versions, one millisecond apart."""
    return [
        record_of(event, aggregate_id, version, at=1_000 + version)
        for version, event in enumerate(events, start)
    ]


async def read_models(redis: Redis) -> dict[bytes, Any]:
    """Every read-model key and its whole content, whatever its type."""
    found: dict[bytes, Any] = {}
    async for key in redis.scan_iter(match=f"{keys.PREFIX}:rm:*"):
        match await redis.type(key):
            case b"hash":
                found[key] = await redis.hgetall(key)
            case b"zset":
                found[key] = await redis.zrange(key, 0, -1, withscores=True)
            case b"set":
                found[key] = await redis.smembers(key)
            case _:
                found[key] = await redis.get(key)
    return found


async def drop_read_models(redis: Redis) -> None:
    async for key in redis.scan_iter(match=f"{keys.PREFIX}:rm:*"):
        await redis.delete(key)

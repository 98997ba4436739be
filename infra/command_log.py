"""Appending commands to their partition streams, and reading their status back."""

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import msgspec
from redis.asyncio import Redis

from events.codec import encoder, result_decoder
from events.envelope import AttemptError, Envelope, ErrorInfo, PublicEvent
from infra import keys
from infra.errors import translated
from infra.partition_calls import Layout, ScriptCall, by_partition, queue_calls
from infra.scripts import SUBMIT
from infra.settings import Settings

attempt_error_decoder = msgspec.json.Decoder(AttemptError)


def new_id() -> str:
    return str(uuid.uuid4())


def now_ms() -> int:
    return int(time.time() * 1000)


def envelope_for(
    *,
    settings: Settings,
    command: msgspec.Struct,
    aggregate_id: str,
    command_id: str | None = None,
    actor: str | None = None,
    actor_roles: tuple[str, ...] = (),
    reply_to: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Envelope:
    command_id = command_id or new_id()
    return Envelope(
        command_id=command_id,
        command=type(command).__name__,
        payload=msgspec.Raw(encoder.encode(command)),
        aggregate_id=aggregate_id,
        partition=keys.partition_of_aggregate(aggregate_id, settings.partitions),
        correlation_id=correlation_id or command_id,
        causation_id=causation_id,
        actor=actor,
        actor_roles=actor_roles,
        reply_to=reply_to,
        submitted_at=now_ms(),
    )


async def submit(redis: "Redis", settings: Settings, envelope: Envelope) -> bool:
    """Appends the command unless its id is already known. True when it was appended.

    Returns only after Redis acknowledged the append; raises `Unavailable` if it could not.
    One round trip per call: the gateway batches its calls through `GroupCommitter` instead.
    """
    [call] = submit_calls(settings, [envelope])
    async with translated():
        [appended] = await SUBMIT(redis, call.keys, call.args)
    return bool(appended)


# One SUBMIT script call: a partition's appends of a batch, encoded, ready to queue.
SubmitCall = ScriptCall


def submit_calls(settings: Settings, envelopes: Sequence[Envelope]) -> list[SubmitCall]:
    """One SUBMIT call per partition, appending that partition's envelopes in order; each
    call's reply holds one answer per envelope (1: appended, 0: its id was known)."""
    calls: list[SubmitCall] = []
    for p, indexes in by_partition([envelope.partition for envelope in envelopes]).items():
        call_keys = [keys.commands(p)]
        args: list[Any] = [settings.result_ttl_seconds, len(indexes)]
        for i in indexes:
            envelope = envelopes[i]
            call_keys += [
                keys.command_status(p, envelope.command_id),
                keys.correlation(p, envelope.correlation_id),
                keys.taken_id(p, envelope.command_id),
            ]
            args += [
                encoder.encode(envelope),
                envelope.command,
                envelope.submitted_at,
                envelope.actor or "",
                envelope.command_id,
                envelope.aggregate_id,
                envelope.correlation_id,
                envelope.causation_id or "",
            ]
        calls.append(SubmitCall(call_keys, args, indexes))
    return calls


def queue_submits(pipe: Any, calls: Sequence[SubmitCall]) -> Layout:
    """Queues the calls; returns, per call, the indexes of the envelopes it appends
    (`partition_calls.per_item` gives each its own answer)."""
    return queue_calls(pipe, SUBMIT, calls)


@dataclass(frozen=True)
class CommandStatus:
    command_id: str
    status: str
    command: str
    actor: str | None
    events: list[PublicEvent]
    error: ErrorInfo | None
    attempts: int
    errors: list[AttemptError] = field(default_factory=list)
    # Stamped at acceptance; None for a status written before they were recorded.
    aggregate_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    submitted_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "command_id": self.command_id,
            "command": self.command,
            "status": self.status,
            "attempts": self.attempts,
        }
        if self.status == "succeeded":
            body["events"] = msgspec.to_builtins(self.events)
        if self.error is not None:
            body["error"] = msgspec.to_builtins(self.error)
        if self.errors:
            body["errors"] = msgspec.to_builtins(self.errors)  # each failed attempt, timed
        return body


def queue_known(pipe: Any, settings: Settings, command_id: str) -> None:
    """Queues one EXISTS per partition: any reply of 1 means the command id is taken."""
    for partition in range(settings.partitions):
        pipe.exists(keys.command_status(partition, command_id))


def queue_taken_marks(pipe: Any, settings: Settings, envelope: Envelope) -> None:
    """Queues the marks that the command's id is taken, one in every other partition, for as
    long as its status lives: a command of another aggregate sent later with the same id (a
    client's mistake) is then found known by its own partition's append, as a repeat is.

    Queued after the append, in its round trip: a client that names its commands pays no
    lookup across partitions before appending. Marks never overwrite one another."""
    owner = envelope.partition
    for partition in range(settings.partitions):
        if partition != owner:
            pipe.set(
                keys.taken_id(partition, envelope.command_id),
                owner,
                nx=True,
                ex=settings.result_ttl_seconds,
            )


async def find_status(redis: "Redis", settings: Settings, command_id: str) -> CommandStatus | None:
    """Looks the command up in every partition in one round trip."""
    async with translated():
        async with redis.pipeline(transaction=False) as pipe:
            for partition in range(settings.partitions):
                pipe.hgetall(keys.command_status(partition, command_id))
            found: list[dict[bytes, bytes]] = await pipe.execute()
    for fields in found:
        if fields:
            return status_from(command_id, fields)
    return None


def status_from(command_id: str, fields: dict[bytes, bytes]) -> CommandStatus:
    """The status of a command from its status hash (as `HGETALL` gives it, not empty)."""
    actor = fields.get(b"actor", b"").decode() or None
    stamped = _Stamped(
        aggregate_id=_text(fields, b"aggregate_id"),
        correlation_id=_text(fields, b"correlation_id"),
        causation_id=_text(fields, b"causation_id"),
        submitted_at=int(fields[b"submitted_at"]) if b"submitted_at" in fields else None,
    )
    raw_result = fields.get(b"result")
    if raw_result is None:
        # Still in flight: the failed attempts so far, if a retry is scheduled.
        last_error = fields.get(b"last_error")
        return CommandStatus(
            command_id=command_id,
            status=fields[b"status"].decode(),
            command=fields.get(b"command", b"").decode(),
            actor=actor,
            events=[],
            error=None,
            attempts=int(fields.get(b"attempts", b"0")),
            errors=[attempt_error_decoder.decode(last_error)] if last_error else [],
            **stamped,
        )
    result = result_decoder.decode(raw_result)
    return CommandStatus(
        command_id=command_id,
        status=result.status,
        command=fields.get(b"command", b"").decode(),
        actor=actor,
        events=result.events,
        error=result.error,
        attempts=result.attempts,
        errors=result.errors,
        **stamped,
    )


class _Stamped(TypedDict):
    aggregate_id: str | None
    correlation_id: str | None
    causation_id: str | None
    submitted_at: int | None


def _text(fields: dict[bytes, bytes], name: bytes) -> str | None:
    return fields.get(name, b"").decode() or None

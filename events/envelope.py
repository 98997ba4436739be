"""The records that travel on the streams: command envelopes, stored events and results."""

from typing import Any

import msgspec

SCHEMA_VERSION = 1


class AttemptError(msgspec.Struct, frozen=True, kw_only=True):
    """One failed attempt at a command: what went wrong, and when."""

    attempt: int
    # transient | handler_error | conflict_storm | too_many_deliveries | poison_message
    # | unreadable_history
    code: str
    type: str
    message: str
    at: int  # epoch milliseconds


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """A command as appended by the gateway: the payload plus who, why, where and when."""

    command_id: str
    command: str
    payload: msgspec.Raw
    aggregate_id: str
    partition: int
    correlation_id: str
    causation_id: str | None = None
    actor: str | None = None
    actor_roles: tuple[str, ...] = ()  # the actor's roles when the command was accepted
    reply_to: str | None = None
    submitted_at: int  # epoch milliseconds
    schema_version: int = SCHEMA_VERSION
    attempts: int = 0  # attempts made before this delivery
    errors: tuple[AttemptError, ...] = ()


class EventRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An event as stored in the partition log and the aggregate's history."""

    event: str
    version: int
    data: msgspec.Raw
    aggregate_id: str
    aggregate_version: int
    command_id: str
    correlation_id: str
    causation_id: str | None
    actor: str | None
    occurred_at: int  # epoch milliseconds


class PublicEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as clients see it in results."""

    event: str
    data: Any


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str


class Result(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A command's final outcome, recorded by the commit and pushed to its listeners."""

    command_id: str
    status: str  # succeeded | rejected | failed
    events: list[PublicEvent] = []
    error: ErrorInfo | None = None
    actor: str | None = None
    reply_to: str | None = None
    aggregate_id: str | None = None
    completed_at: int = 0
    attempts: int = 0
    errors: list[AttemptError] = []
    submitted_at: int = 0  # the envelope's, copied for the relay's end-to-end latency

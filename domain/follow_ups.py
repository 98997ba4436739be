"""Follow-up commands, and ids derived from the event that causes them so a replay repeats them.

An event is identified by its aggregate id and version (its place in that aggregate's history),
which every re-read of it shares. A follow-up's command id is a UUIDv5 of that place, the
command's name and the aggregate it targets: the reactor that sees the same event twice issues
the same command ids twice, and the command log's done marks turn the second into a no-op.
The domain's own idempotency (a second reservation for one order records nothing) covers a
replay that comes after those marks have expired.
"""

import uuid
from dataclasses import dataclass
from typing import Protocol

from domain.roles import SYSTEM_ROLES
from events.aggregate_ids import aggregate_id_of
from events.commands import Command

# Fixed forever: changing it would give every replayed event new follow-up ids.
NAMESPACE = uuid.UUID("20da4d90-e460-5040-b83f-fc216d6da06e")


class Cause(Protocol):
    """What a follow-up needs of the event record that causes it (`EventRecord` has it all)."""

    @property
    def aggregate_id(self) -> str: ...

    @property
    def aggregate_version(self) -> int: ...

    @property
    def command_id(self) -> str: ...

    @property
    def correlation_id(self) -> str: ...


@dataclass(frozen=True)
class FollowUp:
    """A command for the reactor to append, as the system, optionally after a delay.

    The reactor stamps `causation_id` with the cause's command id and keeps its correlation id,
    so a whole order's story shares one correlation id.
    """

    command: Command
    aggregate_id: str
    command_id: str
    causation_id: str
    correlation_id: str
    roles: frozenset[str] = SYSTEM_ROLES
    delay_ms: int = 0  # > 0: scheduled (an arq deferred job whose job id is `command_id`)


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def follow_up(cause: Cause, command: Command, *, delay_ms: int = 0) -> FollowUp:
    aggregate_id = aggregate_id_of(command)
    return FollowUp(
        command=command,
        aggregate_id=aggregate_id,
        command_id=derived_id(
            "follow-up",
            cause.aggregate_id,
            str(cause.aggregate_version),
            type(command).__name__,
            aggregate_id,
        ),
        causation_id=cause.command_id,
        correlation_id=cause.correlation_id,
        delay_ms=delay_ms,
    )

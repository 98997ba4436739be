"""The dead-letter streams: where a command goes when it cannot be settled."""

from collections.abc import Sequence
from typing import Any

from events.codec import encoder
from events.envelope import AttemptError, ErrorInfo, Result
from infra import keys
from infra.command_log import now_ms
from infra.scripts import DEAD_LETTER


def queue_dead_letter(
    pipe: Any,
    *,
    partition: int,
    entry_id: str,
    raw_entry: bytes,
    error: ErrorInfo,
    command_id: str | None,
    actor: str | None = None,
    reply_to: str | None = None,
    errors: Sequence[AttemptError] = (),
    attempts: int = 0,
    submitted_at: int = 0,
    group: str,
    status_ttl: int,
    results_maxlen: int,
) -> None:
    now = now_ms()
    result = Result(
        command_id=command_id or "",
        status="failed",
        error=error,
        actor=actor,
        reply_to=reply_to,
        completed_at=now,
        attempts=attempts,
        errors=list(errors),
        submitted_at=submitted_at,
    )
    DEAD_LETTER.queue(
        pipe,
        [
            keys.command_status(partition, command_id or "-"),
            keys.results(partition),
            keys.commands(partition),
            keys.dead_letters(partition),
        ],
        [
            group,
            entry_id,
            raw_entry,
            encoder.encode(error),
            encoder.encode(result),
            status_ttl,
            results_maxlen,
            command_id or "",
            encoder.encode(list(errors)),
            attempts,
            now,
        ],
    )

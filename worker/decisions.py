"""A command decided: the commit that settles it, or the error that fails this attempt.

The domain decides on the aggregate's state (`Loaded`, moved on by the earlier decisions of the
batch); a business "no" becomes a rejected result, checked against the version like any other;
a transient error or a bug fails the attempt, to be retried. Each event is encoded once: the
same JSON goes into its stored record and into the command's result.
"""

import logging
from typing import Any

import msgspec

from domain.aggregate import Context
from domain.errors import DomainError, TransientError
from events.codec import encoder, event_name
from events.envelope import AttemptError, Envelope, ErrorInfo, EventRecord, PublicEvent, Result
from infra.command_log import now_ms
from infra.event_store import Commit
from worker.aggregates import Key, Loaded
from worker.faults import Fault, inject
from worker.retries import attempt_error
from worker.triage import Work

log = logging.getLogger("sluice.worker.commands")


def decide(
    item: Work, loaded: dict[Key, Loaded], faults: dict[str, Fault]
) -> Commit | AttemptError:
    """The commit that settles the command, decided on its aggregate as `loaded` has it
    (moved on by the decision, for the batch's later commands), or why this attempt failed."""
    env = item.envelope
    current = loaded[(item.partition, env.aggregate_id)]
    if current.unreadable:  # retried: a deployment that can read it may come
        return attempt_error(env, "unreadable_history", current.unreadable)
    try:
        inject(faults, env)
        now = now_ms()
        context = Context(
            actor=env.actor,
            roles=frozenset(env.actor_roles),
            owners=current.owners,
            now=now,
        )
        events = item.rules.decide(current.current_state(item.rules), item.command, context)
    except DomainError as error:
        if log.isEnabledFor(logging.DEBUG):  # a business "no" is routine: debug at most
            log.debug("command %s rejected: %s", env.command_id, error.code, extra=_ids(item))
        # Checked against the version too: a rejection is only as good as the state it saw.
        return Commit(
            envelope=env,
            entry_id=item.entry_id,
            result=_result(
                env, "rejected", now, error=ErrorInfo(code=error.code, message=error.message)
            ),
            expected_version=current.version,
            after_command=current.after,
        )
    except TransientError as error:
        return attempt_error(env, "transient", error)
    except Exception as error:  # a bug: logged, then retried and dead-lettered like the rest
        log.exception("handler failed on command %s", env.command_id, extra=_ids(item))
        return attempt_error(env, "handler_error", error)
    claims = dict(item.rules.claims(item.command)) if events else {}
    occurred = now
    # Each event is encoded once: the same JSON goes into its record and into the result.
    encoded = [msgspec.Raw(encoder.encode(event)) for event in events]
    records = [
        EventRecord(
            event=event_name(event),
            version=type(event).version,
            data=data,
            aggregate_id=env.aggregate_id,
            aggregate_version=current.version + i + 1,
            command_id=env.command_id,
            correlation_id=env.correlation_id,
            causation_id=env.command_id,
            actor=env.actor,
            occurred_at=occurred,
        )
        for i, (event, data) in enumerate(zip(events, encoded, strict=True))
    ]
    public = [
        PublicEvent(event=event_name(e), data=data)
        for e, data in zip(events, encoded, strict=True)
        if not e.private
    ]
    commit = Commit(
        envelope=env,
        entry_id=item.entry_id,
        result=_result(env, "succeeded", now, events=public),
        expected_version=current.version,
        after_command=current.after,
        records=records,
        claims=claims,
    )
    current.advance(env.command_id, events, claims)  # seen by the batch's later commands
    return commit


def _result(
    env: Envelope,
    status: str,
    completed_at: int,
    *,
    events: list[PublicEvent] | None = None,
    error: ErrorInfo | None = None,
) -> Result:
    return Result(
        command_id=env.command_id,
        status=status,
        events=events or [],
        error=error,
        actor=env.actor,
        reply_to=env.reply_to,
        aggregate_id=env.aggregate_id,
        completed_at=completed_at,
        attempts=env.attempts + 1,
        errors=list(env.errors),
        submitted_at=env.submitted_at,
    )


def _ids(item: Work) -> dict[str, Any]:
    """A command's log context, built only when something is logged about it."""
    env = item.envelope
    return {
        "command_id": env.command_id,
        "correlation_id": env.correlation_id,
        "partition": item.partition,
    }

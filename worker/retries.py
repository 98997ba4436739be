"""Retries with exponential backoff and full jitter, as arq deferred jobs; then dead letters.

A failed attempt schedules an arq job with a deterministic id (command id and attempt), and only
then acknowledges the entry: a crash in between leaves the entry pending, and enqueueing the same
job again is a no-op. The job puts the command back on its stream, attempts counted.
"""

import logging
import random
from collections.abc import Sequence
from typing import Any

import msgspec
from arq import Retry
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.worker import func

from events.codec import encoder, envelope_decoder
from events.envelope import AttemptError, Envelope, ErrorInfo
from infra import keys
from infra.command_log import now_ms
from infra.dead_letters import queue_dead_letter
from infra.metrics import command_meters, dead_lettered
from infra.scripts import REAPPEND
from infra.settings import Settings

log = logging.getLogger("sluice.worker.retries")

RETRY_JOB = "retry_command"


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before attempt `attempt + 1`: full jitter over an exponential ceiling."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def retry_job_id(command_id: str, attempt: int) -> str:
    return f"sluice:retry:{command_id}:{attempt}"


def attempt_error(envelope: Envelope, code: str, error: BaseException | str) -> AttemptError:
    if isinstance(error, BaseException):
        kind, message = type(error).__name__, str(error)
    else:
        kind, message = code, error
    return AttemptError(
        attempt=envelope.attempts + 1, code=code, type=kind, message=message[:500], at=now_ms()
    )


class Retrier:
    def __init__(self, settings: Settings, redis: Any, arq: ArqRedis | None) -> None:
        self.settings = settings
        self.redis = redis
        self.arq = arq

    async def settle(self, failures: Sequence[tuple[int, str, Envelope, AttemptError]]) -> None:
        """Schedules another attempt for each failure, or dead-letters it after the last."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition, entry_id, envelope, error in failures:
                errors = (*envelope.errors, error)
                attempts = envelope.attempts + 1
                if attempts >= self.settings.max_attempts or self.arq is None:
                    log.warning(
                        "command %s failed %d times (%s); dead-lettered",
                        envelope.command_id,
                        attempts,
                        error.code,
                        extra={
                            "command_id": envelope.command_id,
                            "correlation_id": envelope.correlation_id,
                            "partition": partition,
                        },
                    )
                    self.dead_letter(pipe, partition, entry_id, envelope, errors, error)
                    dead_lettered(envelope.command, error.code)
                    continue
                again = msgspec.structs.replace(envelope, attempts=attempts, errors=errors)
                delay = backoff(
                    attempts, self.settings.retry_base_seconds, self.settings.retry_cap_seconds
                )
                job_id = retry_job_id(envelope.command_id, attempts)
                job = await self.arq.enqueue_job(
                    RETRY_JOB, encoder.encode(again).decode(), _job_id=job_id, _defer_by=delay
                )
                if job is None and not await self._job_known(job_id):
                    # arq answers None both for "already scheduled" and for a transaction that
                    # failed: acknowledging now could leave the command with no copy at all.
                    raise RuntimeError(f"retry {job_id} was not scheduled; entry left pending")
                status = keys.command_status(partition, envelope.command_id)
                pipe.hset(
                    status, mapping={"attempts": attempts, "last_error": encoder.encode(error)}
                )
                pipe.xack(keys.commands(partition), keys.WORKERS_GROUP, entry_id)
                command_meters(envelope.command).retries.inc()
            await pipe.execute()

    async def _job_known(self, job_id: str) -> bool:
        assert self.arq is not None
        found = await self.arq.exists(job_key_prefix + job_id, result_key_prefix + job_id)
        return bool(found)

    def dead_letter(
        self,
        pipe: Any,
        partition: int,
        entry_id: str,
        envelope: Envelope,
        errors: Sequence[AttemptError],
        last: AttemptError,
    ) -> None:
        queue_dead_letter(
            pipe,
            partition=partition,
            entry_id=entry_id,
            raw_entry=encoder.encode(envelope),
            error=ErrorInfo(
                code=last.code,
                message=last.message if last.type == last.code else f"{last.type}: {last.message}",
            ),
            command_id=envelope.command_id,
            actor=envelope.actor,
            reply_to=envelope.reply_to,
            errors=errors,
            attempts=len(errors),
            submitted_at=envelope.submitted_at,
            group=keys.WORKERS_GROUP,
            status_ttl=self.settings.result_ttl_seconds,
            results_maxlen=self.settings.results_maxlen,
        )


async def reappend(redis: Any, envelope_json: str) -> bool:
    """Puts the command back on its stream unless it was settled meanwhile."""
    envelope = envelope_decoder.decode(envelope_json)
    appended = await REAPPEND(
        redis,
        [
            keys.command_status(envelope.partition, envelope.command_id),
            keys.commands(envelope.partition),
        ],
        [envelope_json, envelope.attempts],
    )
    return bool(appended)


async def _retry_command(ctx: dict[str, Any], envelope_json: str) -> bool:
    try:
        return await reappend(ctx["deps"].redis, envelope_json)
    except Exception as error:
        # The entry was already acknowledged: this job is now the command's only copy.
        log.warning("could not put a command back (%s); trying again", error)
        raise Retry(defer=1.0) from error


# arq retries the job (not the command) until Redis takes it back.
retry_command = func(_retry_command, name=RETRY_JOB, max_tries=10_000)

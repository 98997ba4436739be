"""Delayed follow-up commands (the order confirmation timeout) as arq deferred jobs.

The job id is the follow-up's command id: scheduling it again (its event redelivered) is a
no-op while arq still knows the job, and the command log appends the command once after that.
The due time counts from the causing event, not from whenever the reactor got to it.
"""

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import msgspec
from arq import Retry
from arq.connections import ArqRedis
from arq.worker import func

from events.codec import encoder, envelope_decoder
from events.envelope import Envelope
from infra.command_log import now_ms, submit
from infra.errors import Unavailable
from worker.deps import Deps

log = logging.getLogger("sluice.worker.delayed")

FOLLOW_UP_JOB = "submit_follow_up"


async def schedule(arq: ArqRedis, due: Sequence[tuple[Envelope, int]]) -> None:
    """Enqueues each envelope to be submitted at its due time (epoch ms)."""
    now = now_ms()
    await asyncio.gather(
        *(
            arq.enqueue_job(
                FOLLOW_UP_JOB,
                encoder.encode(envelope).decode(),
                _job_id=envelope.command_id,
                # Already due (the reactor lagged): now. arq's expiry math breaks on past times.
                _defer_by=timedelta(milliseconds=max(0, at - now)),
            )
            for envelope, at in due
        )
    )


async def _submit_follow_up(ctx: dict[str, Any], envelope_json: str) -> bool:
    deps: Deps = ctx["deps"]
    envelope = msgspec.structs.replace(
        envelope_decoder.decode(envelope_json), submitted_at=now_ms()
    )
    try:
        return await submit(deps.redis, deps.settings, envelope)
    except Unavailable as error:
        # The event that asked for it is long acknowledged: this job is the command's only copy.
        log.warning("could not submit follow-up %s (%s); trying again", envelope.command_id, error)
        raise Retry(defer=1.0) from error


# arq retries the job until Redis takes the command.
submit_follow_up = func(_submit_follow_up, name=FOLLOW_UP_JOB, max_tries=10_000)

"""The arq worker that hosts Sluice's consumers, hardened against a Redis outage mid-poll.

arq's poll loop writes to Redis at every turn: it takes jobs (watching a key in a pipeline),
starts and settles them, records its health and queues its cron jobs. It handles none of those
writes failing: a connection lost while watching (`WatchError`), or a server refusing writes
(full under `noeviction`, a read-only replica), raises out of the loop and ends the process,
the stream consumers it hosts with it. Here each costs one turn instead:

- a job slot taken but not started is given back, and the job is taken again on a later poll;
- a job that could not be run or settled is run again once its in-progress mark expires (the
  jobs are idempotent: a retry re-appends a command, a follow-up submits one, each once);
- a heartbeat that could not be recorded, and the cron jobs it would have queued, wait for the
  next heartbeat (the cron jobs are periodic sweeps);
- a poll for due jobs that found Redis away for longer than the connection's retries (a few
  seconds) is logged and polled again: an outage of any length costs turns, never the process,
  and the operator sees a line every few seconds until Redis is back;
- a stop during an outage still runs the shutdown hook (the consumers finish or give back what
  they hold), though arq could not delete its health key, which expires on its own.
"""

import asyncio
import logging
import signal
from collections.abc import Awaitable

from arq.worker import Worker

from infra.errors import TRANSIENT_IN_TRANSACTION, is_unavailable

log = logging.getLogger("sluice.worker")


def is_outage(error: Exception) -> bool:
    return isinstance(error, TRANSIENT_IN_TRANSACTION) or is_unavailable(error)


async def _one_turn(step: Awaitable[object], lost: str, *args: object) -> bool:
    """Runs `step`; an outage is logged (`lost`, its last `%s` the error) and costs this turn
    only. True when the step ran through."""
    try:
        await step
    except Exception as error:
        if not is_outage(error):
            raise
        log.warning(lost, *args, error)
        return False
    return True


class SluiceWorker(Worker):
    async def _poll_iteration(self) -> None:
        await _one_turn(super()._poll_iteration(), "could not poll for jobs (%s); polling again")

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        started = await _one_turn(
            super().start_jobs(job_ids),
            "could not start queued jobs (%s); retrying on the next poll",
        )
        if not started:
            # Raised between taking a job slot and starting the job's task: give the slot back.
            self.job_counter -= 1
            self.sem.release()

    async def run_job(self, job_id: str, score: int) -> None:
        await _one_turn(
            super().run_job(job_id, score),
            "job %s could not be run or settled (%s); it runs again later",
            job_id,
        )

    async def heart_beat(self) -> None:
        await _one_turn(
            super().heart_beat(), "could not record the heartbeat or queue cron jobs (%s)"
        )

    async def close(self) -> None:
        """arq's own close, but for a health key it cannot delete: that must not keep the
        shutdown hook from running."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values())
        await _one_turn(
            self.pool.delete(self.health_check_key),
            "could not delete the health check key (%s); it expires",
        )
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        await self.pool.aclose(close_connection_pool=True)
        self._pool = None

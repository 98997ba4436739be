"""The arq worker that hosts Sluice's consumers, hardened against a Redis outage mid-poll.

arq's `start_jobs` watches a key in a pipeline; a connection lost while watching raises
`WatchError` out of its poll loop and ends the process. Here that costs one poll: the job slot
it took is given back and the job is picked up again on a later poll, once Redis is back.
"""

import logging

from arq.worker import Worker

from infra.errors import TRANSIENT_IN_TRANSACTION, Unavailable

log = logging.getLogger("sluice.worker")


class SluiceWorker(Worker):
    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except (Unavailable, *TRANSIENT_IN_TRANSACTION) as error:
            # Raised between taking a job slot and starting the job's task: give the slot back.
            self.job_counter -= 1
            self.sem.release()
            log.warning("could not start queued jobs (%s); retrying on the next poll", error)

"""Two batches at once: the next batch is loaded and decided while the last one commits.

A command worker's time goes to two places that need not wait for each other: Python loading
and deciding a batch, and Redis running that batch's commit scripts. Done strictly in turn,
each idles while the other works. `Pipeline` holds back one decided batch; when the next batch
is read, the held batch's commits are sent and, while Redis runs them, the new batch is loaded
and decided. The new batch is held in its place only once the held one is wholly settled.

Why this gives up none of the guarantees of one batch at a time:

- Commits keep their order. A batch's commits are sent only after the batch before it is wholly
  settled: its replies handled, its conflicts decided again and committed, its failures retried
  or dead-lettered. Only preparing (read, triage, load, decide) overlaps committing.
- The new batch decides on top of the held batch's decisions for the aggregates they share (it
  speculates; loading them from Redis would find the history before those commits, and every
  busy aggregate would conflict). Each decision names the version it expects and the command
  whose events the history must end with, and the commit script checks both.
- Those checks count events and look at the last one's command, so they cannot tell apart a
  command that conflicted and was decided again into different events of the same number. So
  whatever the held batch did not settle exactly as decided (a conflict, a lost claim, a
  duplicate) is distrusted: every decision of the new batch on such an aggregate is decided again
  on a fresh load instead of being sent. Claims need no such care: the commit script checks
  every claim's owner again.
- Failures lose nothing and double nothing. When settling the held batch fails, the new batch is
  dropped unsent; when preparing the new batch fails, the held one still settles. What is dropped
  stays pending in the consumer group and is reclaimed, as is any batch an error interrupts.
  A cancellation (the iteration timeout, a shutdown) cancels both.
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar

from worker.aggregates import Key
from worker.consumer import Batch


class Prepared(Protocol):
    """A batch decided and ready to commit."""

    def distrust(self, unsettled: set[Key]) -> None:
        """The batch it was decided on top of did not settle these aggregates as decided."""


P = TypeVar("P", bound=Prepared)

# Loads and decides a batch, on top of the held batch if there is one.
Prepare = Callable[[Batch, P | None], Coroutine[Any, Any, P]]
# Commits a batch and settles whatever did not go in; returns the aggregates it did not settle
# exactly as first decided.
Settle = Callable[[P], Coroutine[Any, Any, set[Key]]]


class Pipeline(Generic[P]):
    """Holds back at most one decided batch, settled when the next one is ready or by `flush`."""

    def __init__(self, prepare: Prepare[P], settle: Settle[P]) -> None:
        self._prepare = prepare
        self._settle = settle
        self.held: P | None = None

    @property
    def holding(self) -> bool:
        return self.held is not None

    async def push(self, entries: Batch) -> None:
        """Prepares `entries` while the held batch commits, then holds them in its place."""
        held, self.held = self.held, None
        if held is None:
            self.held = await self._prepare(entries, None)
            return
        # The commit task first runs when this one first waits, on its way to sending the new
        # batch's loads: both go out about together (the loads first, as a rule), and Redis runs
        # the commits while this task decides. Nothing hangs on that order: the loads never
        # read an aggregate of the held batch, and claim owners are checked again on commit.
        committing = asyncio.create_task(self._settle(held), name="sluice-commit")
        try:
            following = await self._prepare(entries, held)
        except asyncio.CancelledError:
            committing.cancel()
            await asyncio.gather(committing, return_exceptions=True)
            raise
        except Exception:
            await committing  # the held batch settles as it would have; this one stays pending
            raise
        # Awaited, not shielded: a cancellation here cancels the commit too. Should settling
        # fail, the new batch is dropped unsent, its entries left pending.
        unsettled = await committing
        following.distrust(unsettled)
        self.held = following

    async def flush(self) -> None:
        """Settles the held batch, if any."""
        held, self.held = self.held, None
        if held is not None:
            await self._settle(held)

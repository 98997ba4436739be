"""What every scenario shares: its sizes, a Redis client for the checks, and the settling step."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from tests.chaos.cluster import Cluster
from tests.chaos.load import Tally, User
from tests.chaos.verify import Figures, effects, statuses, tally_figures, wait_final


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does: `make chaos` runs FULL, `make test` runs SHORT."""

    users: int
    clients: int  # concurrent HTTP clients
    kill_load: int  # 1: commands while workers are SIGKILLed
    kill_every: float  # 1: seconds between two worker kills
    kill_spread: float  # 1: at least this many seconds of load (clients pause between sends)
    redis_load: int  # 2: commands across a Redis SIGKILL
    retried: int  # 3: commands per phase (transient, always failing)
    poison_load: int  # 4: real commands among the garbage
    poison_rounds: int  # 4: how many times garbage goes into every stream
    relay_load: int  # 5: renames of the one subscribed user
    time_limit: float  # seconds one scenario may take, start to stop


FULL = Sizes(
    users=20,
    clients=32,
    kill_load=5000,
    kill_every=2.0,
    kill_spread=0.0,  # 5,000 commands take long enough by themselves
    redis_load=2000,
    retried=20,
    poison_load=2000,
    poison_rounds=3,
    relay_load=300,
    time_limit=240.0,
)
SHORT = Sizes(
    users=6,
    clients=16,
    kill_load=400,
    kill_every=0.75,  # the short load lasts seconds: kill more often to get several kills
    kill_spread=4.0,
    redis_load=300,
    retried=5,
    poison_load=300,
    poison_rounds=1,
    relay_load=60,
    time_limit=60.0,
)

Scenario = Callable[[Cluster, Sizes], Awaitable[Figures]]


def note(text: str) -> None:
    """A detail line printed under the scenario that is running."""
    print(f"    {text}", flush=True)


@asynccontextmanager
async def checker(cluster: Cluster) -> AsyncIterator["Redis"]:
    """A Redis client for reading the truth behind the API."""
    client = Redis.from_url(cluster.redis.url)
    try:
        yield client
    finally:
        await client.aclose()


async def settle(cluster: Cluster, tally: Tally, users: list[User], *, within: float) -> Figures:
    """Waits (bounded) until every accepted command is final, then counts statuses and effects."""
    async with checker(cluster) as redis:
        await wait_final(redis, cluster.partitions, tally.accepted, within)
        found = await statuses(redis, cluster.partitions, tally.sent)
        counts = await effects(redis, cluster.partitions, users)
    return tally_figures(tally, found, counts)


async def reached(event: asyncio.Event, within: float, what: str) -> None:
    """Waits for `event`; a TimeoutError names what never happened."""
    try:
        await asyncio.wait_for(event.wait(), within)
    except TimeoutError:
        raise TimeoutError(f"{what} (waited {within:.0f}s)") from None


async def stopped(task: "asyncio.Task[object]") -> None:
    """Cancels a helper task that outlived a failure, and waits for it to end."""
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)

"""The partition count a server's data was written with: recorded by the first process that
starts on it, checked by every one after.

`SLUICE_PARTITIONS` is fixed for the life of the data: a command goes to partition
crc32(aggregate id) % partitions, and an aggregate's history, claims and status live there. A
process started with another count would look for every aggregate in the wrong partition: it
would find no history where there is one and decide on an empty state, a registration twice,
an order from nothing. So a process whose count is not the data's refuses to start.
"""

import logging

from redis.asyncio import Redis

from infra import keys


class PartitionCountMismatch(Exception):
    """This process's SLUICE_PARTITIONS is not the one the server's data was written with."""


async def check(redis: "Redis", partitions: int, *, record: bool = True) -> None:
    """Records `partitions` on a server that has no count yet (unless `record` is off: an
    operator's look must not decide the count of a deployment to come); raises
    `PartitionCountMismatch` on one whose data has another, recorded or (for data older than
    the record) seen in its command streams."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(keys.partition_count())
        pipe.exists(keys.commands(0))
        pipe.exists(keys.commands(partitions - 1))
        pipe.exists(keys.commands(partitions))
        recorded, first, last, beyond = await pipe.execute()
    if recorded is None:
        # Data from before the record: every worker creates all its partitions' streams.
        if beyond:
            raise PartitionCountMismatch(_refusal(f"more than {partitions}", partitions))
        if first and not last:
            raise PartitionCountMismatch(_refusal(f"fewer than {partitions}", partitions))
        if not record:
            return
        await redis.set(keys.partition_count(), partitions, nx=True)
        recorded = await redis.get(keys.partition_count())  # whoever set it first
    if int(recorded) != partitions:
        raise PartitionCountMismatch(_refusal(recorded.decode(), partitions))


def _refusal(data: str, partitions: int) -> str:
    return (
        f"this Redis holds data written with SLUICE_PARTITIONS={data}, and this process has "
        f"{partitions}: the partition count is fixed for the life of the data (start every "
        "process with the data's count)"
    )


async def check_at_start(redis: "Redis", partitions: int, log: logging.Logger) -> None:
    """`check` as a process starts: a mismatch is logged and raised (the process must not
    serve); a server not up yet is left to the rest of start-up, checked on the next start."""
    try:
        await check(redis, partitions)
    except PartitionCountMismatch as error:
        log.error("refusing to start: %s", error)
        raise
    except Exception as error:
        log.warning("could not check the data's partition count yet: %s", error)

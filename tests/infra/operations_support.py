"""Dead letters made the way production makes them: a real consumer whose handler fails."""

from dataclasses import replace

from redis.asyncio import Redis

from events.envelope import Envelope
from infra import keys
from infra.command_log import envelope_for, submit
from infra.identity import registration
from infra.ids import email_routing_key
from infra.settings import Settings
from worker.commands import CommandConsumer
from worker.deps import Deps

HASH = "$argon2id$v=19$m=65536,t=3,p=4$the-hash-nobody-may-see"


async def register(redis: Redis, settings: Settings, email: str) -> Envelope:
    command, aggregate_id = registration(
        email=email, password_hash=HASH, display_name=None, partitions=settings.partitions
    )
    envelope = envelope_for(settings=settings, command=command, aggregate_id=aggregate_id)
    assert await submit(redis, settings, envelope)
    return envelope


def emails_on(partition: int, count: int, settings: Settings, prefix: str = "user") -> list[str]:
    """Distinct emails whose users live in `partition`."""
    found: list[str] = []
    n = 0
    while len(found) < count:
        email = f"{prefix}{n}@example.com"
        if keys.partition_of(email_routing_key(email), settings.partitions) == partition:
            found.append(email)
        n += 1
    return found


async def consumer(
    redis: Redis, settings: Settings, name: str, faults: str = ""
) -> CommandConsumer:
    """No arq: a failure is dead-lettered at once instead of being retried later."""
    made = CommandConsumer(
        Deps(settings=replace(settings, faults=faults), redis=redis, consumer=name, arq=None)
    )
    await made.prepare()
    return made


async def failing(redis: Redis, settings: Settings) -> CommandConsumer:
    """The bug: every RegisterUser fails."""
    return await consumer(redis, settings, "failing", faults="RegisterUser=always")


async def fixed(redis: Redis, settings: Settings) -> CommandConsumer:
    """After the fix."""
    return await consumer(redis, settings, "fixed")


async def drain(consumer: CommandConsumer) -> int:
    total = 0
    while read := await consumer._read_once(">", block=False):
        total += read
    return total


async def dead_lettered(redis: Redis, settings: Settings, *emails: str) -> list[Envelope]:
    """Registrations that went to the dead letters, `failed`, after one attempt each."""
    envelopes = [await register(redis, settings, email) for email in emails]
    assert await drain(await failing(redis, settings)) == len(emails)
    return envelopes


async def poison(redis: Redis, settings: Settings, partition: int = 0) -> str:
    """A dead letter with no readable command; returns its source entry id."""
    entry_id = await redis.xadd(keys.commands(partition), {"e": b"\xff{not json"})
    await drain(await consumer(redis, settings, "poisoned"))
    return str(entry_id.decode())

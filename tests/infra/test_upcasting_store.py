"""Entries stored by the v1 code, read by today's: the worker and the projector upcast them.

The v1 entries are written byte for byte as the v1 code committed them (`scripts/commit.lua`):
the record pushed onto the aggregate's history and added to the partition log, the email
claimed. They are never rewritten; every read upcasts them.
"""

import logging

import msgspec
import pytest
from redis.asyncio import Redis

from domain.identity import email_claim
from events.codec import encoder
from events.commands import ChangeDisplayName
from events.envelope import PublicEvent
from events.events import UserPasswordSet, UserRegistered
from events.names import split_display_name
from infra import keys
from infra.command_log import CommandStatus, envelope_for, find_status, submit
from infra.event_store import load_history
from infra.read_models import UserView, get_user
from infra.settings import Settings
from tests.infra.commerce_support import append, drop_read_models, read_models, record_of, settle
from worker.commands import CommandConsumer
from worker.deps import Deps
from worker.projector import Projector

USER = "u-ada"
AGGREGATE = f"user:{USER}"
EMAIL = "ada@example.com"
REGISTERED_AT = 1_700_000_000_000


def v1_entries(display_name: str) -> list[bytes]:
    """A registration as the v1 code recorded it: UserRegistered v1, then UserPasswordSet v1."""
    registered = {
        "event": "UserRegistered",
        "version": 1,
        "data": {
            "user_id": USER,
            "email": EMAIL,
            "display_name": display_name,
            "roles": ["customer"],
        },
        "aggregate_id": AGGREGATE,
        "aggregate_version": 1,
        "command_id": "cmd-register",
        "correlation_id": "cmd-register",
        "causation_id": "cmd-register",
        "actor": None,
        "occurred_at": REGISTERED_AT,
    }
    password = {
        **registered,
        "event": "UserPasswordSet",
        "data": {"user_id": USER, "password_hash": "$argon2id$v1-hash"},
        "aggregate_version": 2,
    }
    return [msgspec.json.encode(registered), msgspec.json.encode(password)]


async def store_v1_registration(redis: Redis, settings: Settings, display_name: str) -> int:
    """Writes what the v1 commit wrote; returns the aggregate's partition."""
    partition = keys.partition_of_aggregate(AGGREGATE, settings.partitions)
    for entry in v1_entries(display_name):
        await redis.rpush(keys.history(partition, AGGREGATE), entry)
        await redis.xadd(keys.events(partition), {"e": entry})
    await redis.set(keys.claim(partition, email_claim(EMAIL)), USER)
    return partition


@pytest.fixture
async def consumer(settings: Settings, redis: Redis) -> CommandConsumer:
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1"))
    await consumer.prepare()
    return consumer


@pytest.fixture
async def projector(settings: Settings, redis: Redis) -> Projector:
    projector = Projector(Deps(settings=settings, redis=redis, consumer="p1"))
    await projector.prepare()
    return projector


async def change_display_name(
    redis: Redis, settings: Settings, consumer: CommandConsumer, display_name: str
) -> CommandStatus:
    command = ChangeDisplayName(user_id=USER, display_name=display_name)
    envelope = envelope_for(settings=settings, command=command, aggregate_id=AGGREGATE, actor=USER)
    assert await submit(redis, settings, envelope)
    assert await consumer._read_once(">", block=False) == 1
    found = await find_status(redis, settings, envelope.command_id)
    assert found is not None
    return found


async def test_a_user_registered_by_the_v1_code_changes_their_display_name(
    redis: Redis, settings: Settings, consumer: CommandConsumer
) -> None:
    partition = await store_v1_registration(redis, settings, "Ada Lovelace")

    found = await change_display_name(redis, settings, consumer, "Ada King")

    assert (found.status, found.error) == ("succeeded", None)
    assert found.events == [
        PublicEvent(event="DisplayNameChanged", data={"user_id": USER, "display_name": "Ada King"})
    ]
    history = await load_history(redis, partition, AGGREGATE)
    assert [(r.event, r.version, r.aggregate_version) for r in history] == [
        ("UserRegistered", 1, 1),
        ("UserPasswordSet", 1, 2),
        ("DisplayNameChanged", 1, 3),
    ]
    # The old entries are read through the upcaster, never rewritten.
    stored = await redis.lrange(keys.history(partition, AGGREGATE), 0, 1)
    assert stored == v1_entries("Ada Lovelace")


@pytest.mark.parametrize("display_name", ["Ada", "Ada King Lovelace", " Ada ", "Zoë  Ångström"])
async def test_a_v1_user_keeps_exactly_the_display_name_they_registered_with(
    redis: Redis, settings: Settings, consumer: CommandConsumer, display_name: str
) -> None:
    """Renaming to the same name records nothing: the upcast state holds the very same string."""
    partition = await store_v1_registration(redis, settings, display_name)

    found = await change_display_name(redis, settings, consumer, display_name)

    assert (found.status, found.events) == ("succeeded", [])
    assert len(await load_history(redis, partition, AGGREGATE)) == 2


@pytest.mark.parametrize("display_name", ["Ada", "Ada King Lovelace", " Ada ", "Zoë  Ångström"])
async def test_the_projector_builds_the_same_user_from_a_v1_entry_as_from_a_v2_entry(
    redis: Redis, settings: Settings, projector: Projector, display_name: str
) -> None:
    await store_v1_registration(redis, settings, display_name)
    await settle(projector)
    from_v1 = await read_models(redis)
    assert await get_user(redis, USER) == UserView(
        user_id=USER, email=EMAIL, display_name=display_name, roles=("customer",)
    )

    await drop_read_models(redis)
    given_name, family_name = split_display_name(display_name)
    v2 = UserRegistered(
        user_id=USER,
        email=EMAIL,
        given_name=given_name,
        family_name=family_name,
        roles=("customer",),
    )
    password = UserPasswordSet(user_id=USER, password_hash="$argon2id$v1-hash")
    for version, event in enumerate((v2, password), 1):
        await append(redis, settings, record_of(event, AGGREGATE, version, at=REGISTERED_AT))
    await settle(projector)

    assert await read_models(redis) == from_v1


async def test_a_registration_newer_than_this_code_is_skipped_by_the_projector_with_an_error(
    redis: Redis,
    settings: Settings,
    projector: Projector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A newer writer's entry is logged and left out; the entries after it are still projected."""
    newer = msgspec.structs.replace(
        record_of(
            UserRegistered(user_id=USER, email=EMAIL, given_name="Ada", roles=()), AGGREGATE, 1
        ),
        version=UserRegistered.version + 1,
    )
    await append(redis, settings, newer)
    later = UserRegistered(user_id="u-bob", email="bob@example.com", given_name="Bob", roles=())
    await append(redis, settings, record_of(later, "user:u-bob", 1))

    with caplog.at_level(logging.ERROR, logger="sluice.worker.projector"):
        await settle(projector)

    assert await get_user(redis, USER) is None
    assert await get_user(redis, "u-bob") is not None
    [logged] = [r for r in caplog.records if r.name == "sluice.worker.projector"]
    assert logged.exc_info is not None
    assert f"cannot read UserRegistered v{UserRegistered.version + 1}" in str(logged.exc_info[1])
    for partition in range(settings.partitions):
        pending = await redis.xpending(keys.events(partition), keys.PROJECTOR_GROUP)
        assert pending["pending"] == 0


def test_the_v1_entries_written_here_are_what_the_v1_code_encoded() -> None:
    """Guards the fixture itself: the same bytes as an EventRecord of the v1 shape encodes to."""

    class UserRegisteredV1(msgspec.Struct, frozen=True, kw_only=True):
        user_id: str
        email: str
        display_name: str
        roles: tuple[str, ...]

    old = UserRegisteredV1(user_id=USER, email=EMAIL, display_name="Ada", roles=("customer",))
    record = msgspec.structs.replace(
        record_of(
            UserRegistered(user_id=USER, email=EMAIL, given_name="Ada", roles=()), AGGREGATE, 1
        ),
        version=1,
        data=msgspec.Raw(encoder.encode(old)),
        command_id="cmd-register",
        correlation_id="cmd-register",
        causation_id="cmd-register",
        occurred_at=REGISTERED_AT,
    )
    assert encoder.encode(record) == v1_entries("Ada")[0]

"""The reactor against a real redis-server and arq: events in, follow-up commands out, once."""

from dataclasses import replace

import pytest
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import Redis

from domain.follow_ups import FollowUp
from domain.reactions import react
from events.codec import decode_command, envelope_decoder
from events.commands import (
    AssignRole,
    ClearCart,
    ExpireOrder,
    GrantSuperAdmin,
    ReserveInventory,
)
from events.envelope import Envelope
from events.events import (
    Event,
    ModeratorInviteAccepted,
    Money,
    OrderLine,
    OrderPlaced,
    UserRegistered,
)
from infra import keys
from infra.command_log import find_status, now_ms
from infra.settings import Settings
from tests.infra.commerce_support import append, record_of
from worker.delayed import FOLLOW_UP_JOB, submit_follow_up
from worker.deps import Deps
from worker.reactor import Reactor

TEN = Money(amount=1000, currency="EUR")


def placed(order_id: str = "o1") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id="cust-1",
        lines=(
            OrderLine(product_id="p1", sku="TEE-M", quantity=2, unit_price=TEN),
            OrderLine(product_id="p1", sku="TEE-L", quantity=1, unit_price=TEN),
        ),
        total=Money(amount=3000, currency="EUR"),
        from_cart=True,
        placed_at=1,
    )


@pytest.fixture
async def reactor(settings: Settings, redis: Redis, arq_pool: ArqRedis) -> Reactor:
    reactor = Reactor(Deps(settings=settings, redis=redis, consumer="r1", arq=arq_pool))
    await reactor.prepare()
    return reactor


async def appended(redis: Redis, settings: Settings) -> list[Envelope]:
    """Every command on every partition's stream."""
    return [
        envelope_decoder.decode(fields[b"e"])
        for p in range(settings.partitions)
        for _, fields in await redis.xrange(keys.commands(p))
    ]


async def unacknowledged(redis: Redis, settings: Settings) -> int:
    pending = [
        await redis.xpending(keys.events(p), keys.REACTOR_GROUP) for p in range(settings.partitions)
    ]
    return sum(summary["pending"] for summary in pending)


async def test_an_order_placed_becomes_reservations_a_cleared_cart_and_a_timeout(
    redis: Redis, settings: Settings, arq_pool: ArqRedis, reactor: Reactor
) -> None:
    event = placed()
    record = record_of(event, "order:o1", 1, at=now_ms(), command_id="cmd-place")
    await append(redis, settings, record)

    assert await reactor._read_once(">", block=False) == 1

    expected = {f.command_id: f for f in react(record, event)}
    commands = {env.command_id: env for env in await appended(redis, settings)}
    immediate = {cid for cid, f in expected.items() if f.delay_ms == 0}
    assert set(commands) == immediate and len(immediate) == 3
    assert sorted(
        (type(decode_command(env)).__name__, env.aggregate_id) for env in commands.values()
    ) == [
        ("ClearCart", "cart:cust-1"),
        ("ReserveInventory", "sku:TEE-L"),
        ("ReserveInventory", "sku:TEE-M"),
    ]
    for env in commands.values():
        assert env.actor is None
        assert env.actor_roles == ("system",)
        assert env.causation_id == "cmd-place"
        assert env.correlation_id == record.correlation_id
        assert env.partition == keys.partition_of(env.aggregate_id, settings.partitions)
    assert decode_command(commands[_id_of(expected, "sku:TEE-M")]) == ReserveInventory(
        sku="TEE-M", order_id="o1", quantity=2
    )
    assert isinstance(decode_command(commands[_id_of(expected, "cart:cust-1")]), ClearCart)

    [job] = await arq_pool.queued_jobs()
    timeout = next(f for f in expected.values() if f.delay_ms > 0)
    assert (job.job_id, job.function) == (timeout.command_id, FOLLOW_UP_JOB)
    assert decode_command(envelope_decoder.decode(job.args[0])) == ExpireOrder(order_id="o1")
    due = record.occurred_at + settings.order_confirmation_timeout_ms
    assert (
        job.score is not None and abs(job.score - due) < 1000
    )  # counted from the event, not from the reactor's clock
    assert await unacknowledged(redis, settings) == 0


def _id_of(expected: dict[str, FollowUp], aggregate_id: str) -> str:
    return next(cid for cid, f in expected.items() if f.aggregate_id == aggregate_id)


async def test_the_same_event_delivered_again_submits_and_schedules_nothing_new(
    redis: Redis, settings: Settings, arq_pool: ArqRedis, reactor: Reactor
) -> None:
    await append(redis, settings, record_of(placed(), "order:o1", 1, at=now_ms()))
    await reactor._read_once(">", block=False)
    before = await appended(redis, settings)

    # What a crash between the appends and the acknowledgement amounts to: a redelivery.
    for p in range(settings.partitions):
        await redis.xgroup_setid(keys.events(p), keys.REACTOR_GROUP, id="0")
    assert await reactor._read_once(">", block=False) == 1

    assert await appended(redis, settings) == before
    assert len(await arq_pool.queued_jobs()) == 1
    assert await unacknowledged(redis, settings) == 0


@pytest.mark.parametrize(
    ("event", "aggregate_id", "command", "target"),
    [
        (
            ModeratorInviteAccepted(brand_id="b1", user_id="u1"),
            "brand:b1",
            AssignRole(user_id="u1", role="brand_moderator:b1"),
            "user:u1",
        ),
        (
            UserRegistered(user_id="u1", email="a@b.c", given_name="A", roles=("super_admin",)),
            "user:u1",
            GrantSuperAdmin(user_id="u1"),
            "roles:super_admins",
        ),
    ],
)
async def test_role_hand_offs_become_system_commands_on_their_aggregate(
    redis: Redis,
    settings: Settings,
    reactor: Reactor,
    event: Event,
    aggregate_id: str,
    command: object,
    target: str,
) -> None:
    await append(redis, settings, record_of(event, aggregate_id, 1))

    await reactor._read_once(">", block=False)

    [env] = await appended(redis, settings)
    assert (decode_command(env), env.aggregate_id, env.actor_roles) == (
        command,
        target,
        ("system",),
    )


async def test_events_calling_for_nothing_are_acknowledged_with_nothing_appended(
    redis: Redis, settings: Settings, reactor: Reactor
) -> None:
    registered = UserRegistered(user_id="u1", email="a@b.c", given_name="A", roles=("customer",))
    await append(redis, settings, record_of(registered, "user:u1", 1))
    await redis.xadd(keys.events(0), {"e": b"{not a record"})

    assert await reactor._read_once(">", block=False) == 2

    assert await appended(redis, settings) == []
    assert await unacknowledged(redis, settings) == 0


async def test_a_timeout_job_submits_its_command_once_when_due(
    redis: Redis, settings: Settings, arq_pool: ArqRedis
) -> None:
    settings = replace(settings, order_confirmation_timeout_ms=1)
    deps = Deps(settings=settings, redis=redis, consumer="r1", arq=arq_pool)
    reactor = Reactor(deps)
    await reactor.prepare()
    event = placed()
    record = record_of(event, "order:o1", 1, at=now_ms())
    await append(redis, settings, record)
    await reactor._read_once(">", block=False)

    worker = Worker(
        functions=[submit_follow_up],
        redis_pool=arq_pool,
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
        ctx={"deps": deps},
    )
    assert await worker.run_check() == 1

    timeout = next(f for f in react(record, event, confirmation_timeout_ms=1) if f.delay_ms)
    status = await find_status(redis, settings, timeout.command_id)
    assert status is not None and status.status == "accepted"
    queued = [env for env in await appended(redis, settings) if env.aggregate_id == "order:o1"]
    assert [(env.command_id, env.actor_roles) for env in queued] == [
        (timeout.command_id, ("system",))
    ]
    # The event again: arq still knows the job (its result is kept), so nothing is scheduled.
    for p in range(settings.partitions):
        await redis.xgroup_setid(keys.events(p), keys.REACTOR_GROUP, id="0")
    await reactor._read_once(">", block=False)
    assert await arq_pool.queued_jobs() == []


async def test_the_reactor_needs_arq_for_its_timeouts(settings: Settings, redis: Redis) -> None:
    with pytest.raises(ValueError, match="arq"):
        Reactor(Deps(settings=settings, redis=redis, consumer="r1"))

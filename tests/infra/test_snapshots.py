"""Aggregate snapshots against a real redis-server, written and read by the real command consumer.

Snapshots are a cache: the same commands give the same results, events and versions with
snapshots, without them, and with snapshots deleted, stale, foreign or corrupted in between.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import pytest
from click.testing import CliRunner
from redis.asyncio import Redis

from domain import cart
from domain.aggregate import replay
from events.codec import decode_event, record_decoder
from events.commands import AddToCart, ClearCart, Command, RemoveFromCart
from events.envelope import PublicEvent
from events.events import CartItemAdded
from infra import keys, snapshots
from infra.command_log import envelope_for, find_status, submit
from infra.event_store import load_history
from infra.scripts import LOAD_AGGREGATE
from infra.settings import Settings
from tests.infra.interference_support import InterferingConsumer, intruding
from worker.cli import cli
from worker.commands import CommandConsumer
from worker.deps import Deps

CAROL = "user-carol"
CART = f"cart:{CAROL}"
SKUS = ("BEANS-S", "BEANS-L", "RICE-1", "OATS-2")

Tamper = Callable[[Redis, int], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    """What a run of commands decided, without its ids and clocks."""

    results: list[tuple[str, str | None, list[PublicEvent]]]  # status, error, events
    history: list[tuple[str, int, bytes]]  # event, aggregate version, data


def cart_commands(count: int, seed: int = 7) -> list[Command]:
    """A customer's cart changes, some of which depend on the state: adds accumulate a line's
    quantity (the event carries the total), removals and clears of nothing decide nothing, and
    a line over its limit is refused."""
    rng = random.Random(seed)
    commands: list[Command] = []
    for _ in range(count):
        roll = rng.random()
        sku = rng.choice(SKUS)
        if roll < 0.65:
            quantity = rng.choice([1, 2, 5, 400])
            commands.append(
                AddToCart(user_id=CAROL, product_id="prod-tin", sku=sku, quantity=quantity)
            )
        elif roll < 0.9:
            commands.append(RemoveFromCart(user_id=CAROL, sku=sku))
        else:
            commands.append(ClearCart(user_id=CAROL))
    return commands


BATCHES = [1, 1, 1, 2, 3, 1, 4, 1, 1, 5, 2, 1, 3, 6, 1, 1, 2]  # commands per read


async def run_commands(
    redis: Redis,
    settings: Settings,
    commands: list[Command],
    *,
    tamper: Tamper | None = None,
    after_batch: Callable[[int], Awaitable[None]] | None = None,
) -> Outcome:
    """Submits the commands a batch at a time, each batch read and settled by one consumer read."""
    await redis.flushall()
    consumer = CommandConsumer(Deps(settings=settings, redis=redis, consumer="c1"))
    await consumer.prepare()
    partition = keys.partition_of_aggregate(CART, settings.partitions)
    envelopes = []
    pending = list(commands)
    for number, size in enumerate(BATCHES):
        if tamper is not None:
            await tamper(redis, number)
        batch = [pending.pop(0) for _ in range(min(size, len(pending)))]
        for command in batch:
            envelope = envelope_for(
                settings=settings,
                command=command,
                aggregate_id=CART,
                actor=CAROL,
                actor_roles=("customer",),
            )
            assert await submit(redis, settings, envelope)
            envelopes.append(envelope)
        assert await consumer._read_once(">", block=False) == len(batch)
        if after_batch is not None:
            await after_batch(number)
    assert not pending
    results = []
    for envelope in envelopes:
        found = await find_status(redis, settings, envelope.command_id)
        assert found is not None
        results.append(
            (
                found.status,
                found.error.code if found.error else None,
                list(found.events),
            )
        )
    history = [
        (r.event, r.aggregate_version, bytes(r.data))
        for r in await load_history(redis, partition, CART)
    ]
    return Outcome(results, history)


def every(settings: Settings, n: int) -> Settings:
    """Snapshots every n events, and every batch loading from Redis: a worker that kept the
    state it settled would not look at the snapshots these tests spoil between batches."""
    return replace(settings, snapshot_every=n, state_cache_size=0)


COMMANDS = cart_commands(sum(BATCHES))


async def test_snapshots_appear_when_a_version_crosses_a_multiple_and_loads_read_only_the_tail(
    redis: Redis, settings: Settings
) -> None:
    settings = every(settings, 3)
    partition = keys.partition_of_aggregate(CART, settings.partitions)
    seen: list[int | None] = []
    versions: list[int] = []

    async def record(_: int) -> None:
        stored = await snapshots.read(redis, partition, CART)
        seen.append(stored[0] if stored else None)
        versions.append(await redis.llen(keys.history(partition, CART)))

    outcome = await run_commands(redis, settings, COMMANDS, after_batch=record)

    # Expected: at each batch's end version, once it has crossed a multiple of 3 since the last.
    expected: list[int | None] = []
    last = 0
    for version in versions:
        if version // 3 > last // 3:
            last = version
        expected.append(last or None)
    assert seen == expected
    assert len({v for v in seen if v}) >= 5  # the scenario really snapshots, several times
    assert any(v % 3 for v in seen if v)  # including a batch that went past a multiple
    assert len(outcome.history) == versions[-1]

    # The load script gives the snapshot and only the entries after it.
    snapshot_version = seen[-1]
    assert snapshot_version is not None
    fingerprint = snapshots.codec_of(CART).fingerprint
    [reply] = await LOAD_AGGREGATE(
        redis, [keys.snapshot(partition, CART), keys.history(partition, CART)], [fingerprint]
    )
    assert reply[0] == snapshot_version
    assert len(reply) - 2 == versions[-1] - snapshot_version
    history = await load_history(redis, partition, CART)
    assert [record_decoder.decode(raw) for raw in reply[2:]] == history[snapshot_version:]
    restored = snapshots.restore(cart.RULES, CART, reply)
    assert restored.state == replay(cart.RULES, [decode_event(r) for r in history])
    assert (restored.version, restored.base) == (len(history), snapshot_version)

    # A fingerprint the stored snapshot does not carry: no snapshot, the whole history.
    [other] = await LOAD_AGGREGATE(
        redis, [keys.snapshot(partition, CART), keys.history(partition, CART)], ["0" * 16]
    )
    assert other[:2] == [0, b""]
    assert [record_decoder.decode(raw) for raw in other[2:]] == history


async def drop(redis: Redis, partition: int) -> None:
    await redis.unlink(keys.snapshot(partition, CART))


async def refingerprint(redis: Redis, partition: int) -> None:
    """A snapshot written by code whose state had another shape, here an empty cart at the
    current version: read as this code's state, it would change the next decisions."""
    length = await redis.llen(keys.history(partition, CART))
    empty = snapshots.codec_of(CART).encode(cart.Cart(CAROL))
    mapping = {"v": length, "fp": "another-shape", "state": empty}
    await redis.hset(keys.snapshot(partition, CART), mapping=mapping)


async def corrupt(redis: Redis, partition: int) -> None:
    """The fingerprint matches, the state does not decode as a cart."""
    await redis.hset(keys.snapshot(partition, CART), "state", '{"user_id": 42, "lines": "x"}')


async def beyond_history(redis: Redis, partition: int) -> None:
    """A snapshot that claims more events than the history holds (the list is the truth)."""
    length = await redis.llen(keys.history(partition, CART))
    await redis.hset(keys.snapshot(partition, CART), "v", length + 5)


async def foreign_key(redis: Redis, partition: int) -> None:
    """A key of another type where the snapshot should be: loads ignore it, writes fail."""
    await redis.unlink(keys.snapshot(partition, CART))
    await redis.set(keys.snapshot(partition, CART), "not a hash")


async def rewind(redis: Redis, partition: int) -> None:
    """A late writer tries to put an older snapshot back."""
    stored = await snapshots.read(redis, partition, CART)
    if stored is None or stored[0] < 3:
        return
    history = await load_history(redis, partition, CART)
    old = replay(cart.RULES, [decode_event(r) for r in history[:2]])
    [written] = await snapshots.write(redis, [snapshots.Snapshot(partition, CART, 2, old)])
    assert not written
    assert (await snapshots.read(redis, partition, CART)) == stored


# In this order a foreign key is followed by a drop, which a snapshot read could not follow.
TAMPERS: list[Tamper] = [refingerprint, corrupt, beyond_history, rewind, foreign_key, drop]


async def test_snapshots_deleted_stale_foreign_or_corrupted_change_no_outcome(
    redis: Redis, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    partition = keys.partition_of_aggregate(CART, settings.partitions)

    async def tamper(redis: Redis, number: int) -> None:
        if number >= 3:  # after a few batches, a snapshot exists to spoil
            await TAMPERS[number % len(TAMPERS)](redis, partition)

    without = await run_commands(redis, every(settings, 0), COMMANDS)
    assert await redis.keys(keys.SNAPSHOT_PATTERN) == []
    with_snapshots = await run_commands(redis, every(settings, 3), COMMANDS)
    with caplog.at_level(logging.WARNING, logger="sluice.worker.commands"):
        tampered = await run_commands(redis, every(settings, 3), COMMANDS, tamper=tamper)

    statuses = {status for status, _, _ in without.results}
    assert statuses == {"succeeded", "rejected"}  # refusals that depend on the state, too
    assert with_snapshots == without
    assert tampered == without
    messages = [r.getMessage() for r in caplog.records]
    assert any("dropping the unreadable snapshot" in m for m in messages)
    assert any("could not write" in m for m in messages)  # at the foreign key, logged, ignored


async def test_an_older_snapshot_never_replaces_a_newer_one_of_the_same_shape(
    redis: Redis,
) -> None:
    partition = 1
    one = cart.Cart(CAROL)
    two = cart.Cart(CAROL, (cart.CartLine(product_id="p", sku="BEANS-S", quantity=2),))
    await redis.rpush(keys.history(partition, CART), *[b"an entry"] * 6)

    ahead = snapshots.Snapshot(partition, CART, 7, two)
    assert await snapshots.write(redis, [ahead]) == [False]  # never ahead of the history
    assert await snapshots.write(redis, [snapshots.Snapshot(partition, CART, 6, two)]) == [True]
    assert await snapshots.write(redis, [snapshots.Snapshot(partition, CART, 3, one)]) == [False]
    assert await snapshots.write(redis, [snapshots.Snapshot(partition, CART, 6, one)]) == [False]

    stored = await redis.hgetall(keys.snapshot(partition, CART))
    assert stored[b"v"] == b"6"
    assert snapshots.codec_of(CART).decode(stored[b"state"]) == two
    # A snapshot of another shape is of no use to this code: any version replaces it.
    await redis.hset(keys.snapshot(partition, CART), mapping={"v": 99, "fp": "another-shape"})
    assert await snapshots.write(redis, [snapshots.Snapshot(partition, CART, 3, one)]) == [True]
    assert await snapshots.read(redis, partition, CART) == (3, snapshots.codec_of(CART).fingerprint)


async def test_loads_and_snapshot_writes_survive_a_server_that_forgot_its_scripts(
    redis: Redis, settings: Settings
) -> None:
    settings = every(settings, 3)
    partition = keys.partition_of_aggregate(CART, settings.partitions)

    async def forget(redis: Redis, number: int) -> None:
        await redis.script_flush()

    outcome = await run_commands(redis, settings, COMMANDS[:6], tamper=forget)

    assert len(outcome.history) >= 3
    stored = await snapshots.read(redis, partition, CART)
    assert stored is not None and stored[0] >= 3


async def sluice(settings: Settings, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, cli, ["--redis-url", settings.redis_url, *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


async def test_snapshot_purge_deletes_every_snapshot_and_nothing_else(
    redis: Redis, settings: Settings
) -> None:
    state = cart.Cart(CAROL)
    written = [
        snapshots.Snapshot(p, f"cart:user-{n}", 3, state)
        for p in range(settings.partitions)
        for n in range(4)
    ]
    for snap in written:
        await redis.rpush(keys.history(snap.partition, snap.aggregate_id), *[b"an entry"] * 3)
    assert await snapshots.write(redis, written) == [True] * len(written)
    await redis.set(keys.claim(0, "snap:lookalike"), "owner")

    shown = await sluice(settings, "snapshots", "show", "cart:user-1")
    missing = await sluice(settings, "snapshots", "show", "cart:nobody")
    unknown = await sluice(settings, "snapshots", "show", "planet:mars")
    purged = await sluice(settings, "snapshots", "purge", "--batch", "3")
    again = await sluice(settings, "snapshots", "purge")

    assert shown[0] == 0 and "version 3" in shown[1] and "(usable)" in shown[1]
    assert missing[0] == 1 and "no snapshot of cart:nobody" in missing[1]
    assert unknown[0] == 1 and "no aggregate type 'planet'" in unknown[1]
    assert purged == (0, f"deleted {len(written)} snapshots\n")
    assert again == (0, "deleted 0 snapshots\n")
    assert await redis.keys(keys.SNAPSHOT_PATTERN) == []
    assert await redis.llen(keys.history(0, "cart:user-0")) == 3
    assert await redis.get(keys.claim(0, "snap:lookalike")) == b"owner"


async def test_an_attempt_whose_commit_conflicted_writes_no_snapshot_of_what_it_decided(
    redis: Redis, settings: Settings
) -> None:
    settings = every(settings, 2)
    partition = keys.partition_of_aggregate(CART, settings.partitions)
    first = AddToCart(user_id=CAROL, product_id="prod-tin", sku="BEANS-S", quantity=1)
    await run_commands(redis, settings, [first])  # version 1, no snapshot yet
    second = AddToCart(user_id=CAROL, product_id="prod-tin", sku="RICE-1", quantity=1)
    added_elsewhere = CartItemAdded(user_id=CAROL, product_id="prod-bag", sku="OATS-2", quantity=9)
    intruder = intruding(added_elsewhere, CART, 2)
    consumer = InterferingConsumer(Deps(settings=settings, redis=redis, consumer="c1"), intruder)
    envelope = envelope_for(settings=settings, command=second, aggregate_id=CART, actor=CAROL)
    assert await submit(redis, settings, envelope)

    # The first attempt decides on version 1 and conflicts: were it snapshotted, version 2
    # would hold its decision, not the intruder's event; the second attempt commits version 3.
    assert await consumer._read_once(">", block=False) == 1

    history = await load_history(redis, partition, CART)
    stored = await redis.hgetall(keys.snapshot(partition, CART))
    version = int(stored[b"v"])
    assert consumer.loads == 2
    assert decode_event(history[1]) == added_elsewhere
    assert (version, len(history)) == (3, 3)
    assert snapshots.codec_of(CART).decode(stored[b"state"]) == replay(
        cart.RULES, [decode_event(r) for r in history[:version]]
    )

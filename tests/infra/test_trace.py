"""Command traces against a real redis-server: the command consumer and the reactor settle an
order's story, and the trace shows each follow-up under the event that caused it."""

import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis

from events.codec import encoder
from events.commands import ChangeDisplayName, RestockVariant
from events.events import DisplayNameChanged
from infra import keys
from infra.command_log import envelope_for, submit
from infra.settings import Settings
from infra.trace import FIRST_READ, CommandNotFound, Trace, TraceCommand, trace
from tests.infra.commerce_support import record_of
from tests.infra.history_support import SKU, Story, story_of


@pytest.fixture
async def story(settings: Settings, redis: Redis, arq_pool: ArqRedis) -> Story:
    return await story_of(settings, redis, arq_pool)


def shape(node: TraceCommand) -> list[object]:
    """The tree as nested lists of names: [command, [event, [follow-up...]]...]."""
    return [
        node.status.command,
        node.status.status,
        *[[e.event.event, *[shape(c) for c in e.follow_ups]] for e in node.events],
        *[shape(c) for c in node.follow_ups],
    ]


async def test_an_order_traces_to_its_reservation_and_confirmation(story: Story) -> None:
    placed = await story.order("o1")
    await story.settle()

    found = await trace(story.redis, story.settings, placed.command_id)

    assert (found.command_id, found.correlation_id, found.commands) == (
        placed.command_id,
        placed.command_id,
        3,
    )
    [root] = found.roots
    assert shape(root) == [
        "PlaceOrder",
        "succeeded",
        [
            "OrderPlaced",
            [
                "ReserveInventory",
                "succeeded",
                [
                    "InventoryReserved",
                    ["RecordReservation", "succeeded", ["OrderLineReserved"], ["OrderConfirmed"]],
                ],
            ],
        ],
    ]
    assert (root.status.aggregate_id, root.status.actor) == ("order:o1", "cust-1")
    reserve = root.events[0].follow_ups[0]
    assert reserve.status.aggregate_id == f"sku:{SKU}"
    assert reserve.status.actor is None
    assert reserve.status.causation_id == placed.command_id
    [reserved] = reserve.events
    assert reserved.event.version == 2  # after the restock
    assert reserved.event.data["order_id"] == "o1"
    assert reserved.event.correlation_id == placed.command_id


async def test_any_command_of_the_story_finds_the_whole_story(story: Story) -> None:
    placed = await story.order("o1")
    await story.settle()
    other = await story.order("o2")  # another story, on the same aggregates: left out
    await story.settle()
    whole = await trace(story.redis, story.settings, placed.command_id)
    record = whole.roots[0].events[0].follow_ups[0].events[0].follow_ups[0]

    from_the_end = await trace(story.redis, story.settings, record.status.command_id)

    assert from_the_end.command_id == record.status.command_id
    assert from_the_end.to_json()["roots"] == whole.to_json()["roots"]
    assert _ids(from_the_end) == _ids(whole) and other.command_id not in _ids(whole)
    rejected = await trace(story.redis, story.settings, other.command_id)
    assert shape(rejected.roots[0]) == [
        "PlaceOrder",
        "succeeded",
        [
            "OrderPlaced",
            [
                "ReserveInventory",
                "succeeded",
                [  # only one lamp, and o1 has it
                    "InventoryReservationFailed",
                    [
                        "RejectOrder",
                        "succeeded",
                        ["OrderRejected", ["ReleaseInventory", "succeeded"]],
                    ],
                ],
            ],
        ],
    ]


async def test_the_trace_index_lives_as_long_as_the_command_statuses(
    redis: Redis, settings: Settings
) -> None:
    first = envelope_for(settings=settings, command=_restock(), aggregate_id=f"sku:{SKU}")
    follow = envelope_for(
        settings=settings,
        command=_restock(),
        aggregate_id="sku:OTHER",
        correlation_id=first.command_id,
        causation_id=first.command_id,
    )
    assert await submit(redis, settings, first)
    assert await submit(redis, settings, follow)
    assert not await submit(redis, settings, follow)  # known: neither appended nor indexed again

    # The story's first command is found by its status; the index lists the follow-up only.
    listed = [
        command_id
        for p in range(settings.partitions)
        for command_id in await redis.lrange(keys.correlation(p, first.command_id), 0, -1)
    ]
    assert listed == [follow.command_id.encode()]
    index = keys.correlation(follow.partition, first.command_id)
    assert 0 < await redis.ttl(index) <= settings.result_ttl_seconds
    for envelope in (first, follow):
        assert 0 < await redis.ttl(keys.command_status(envelope.partition, envelope.command_id))
    status = await redis.hgetall(keys.command_status(follow.partition, follow.command_id))
    assert status[b"correlation_id"] == first.command_id.encode()
    assert status[b"causation_id"] == first.command_id.encode()
    assert status[b"aggregate_id"] == b"sku:OTHER"
    # Not yet handled: both in the tree, no events, the follow-up under its cause.
    found = await trace(redis, settings, follow.command_id)
    [root] = found.roots
    assert root.status.command_id == first.command_id and root.status.status == "accepted"
    assert [c.status.command_id for c in root.follow_ups] == [follow.command_id]


async def test_an_unknown_command_has_no_trace(redis: Redis, settings: Settings) -> None:
    with pytest.raises(CommandNotFound, match="no command nope"):
        await trace(redis, settings, "nope")


def _restock() -> RestockVariant:
    return RestockVariant(sku=SKU, product_id="p1", brand_id="b1", quantity=1)


def _ids(found: Trace) -> set[str]:
    ids: set[str] = set()

    def walk(node: TraceCommand) -> None:
        ids.add(node.status.command_id)
        for event in node.events:
            for child in event.follow_ups:
                walk(child)
        for child in node.follow_ups:
            walk(child)

    for root in found.roots:
        walk(root)
    return ids


async def test_a_commands_events_deep_in_a_long_history_are_found(
    redis: Redis, settings: Settings
) -> None:
    rename = ChangeDisplayName(user_id="busy", display_name="Early")
    early = envelope_for(settings=settings, command=rename, aggregate_id="user:busy")
    assert await submit(redis, settings, early)
    key = keys.history(keys.partition_of_aggregate("user:busy", settings.partitions), "user:busy")
    mine = [
        record_of(rename_to("Early"), "user:busy", v, command_id=early.command_id) for v in (1, 2)
    ]
    others = [
        record_of(rename_to(f"N{v}"), "user:busy", v, at=early.submitted_at + v)
        for v in range(3, 3 + FIRST_READ * 3)
    ]
    await redis.rpush(key, *(encoder.encode(record) for record in [*mine, *others]))

    found = await trace(redis, settings, early.command_id)

    [root] = found.roots
    assert [e.event.version for e in root.events] == [1, 2]
    assert root.events[0].event.data == {"user_id": "busy", "display_name": "Early"}


def rename_to(name: str) -> DisplayNameChanged:
    return DisplayNameChanged(user_id="busy", display_name=name)

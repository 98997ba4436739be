"""Items grouped into one script call per partition, and each call's replies given back per item.

A worker batch's loads and commits, and a gateway flush's appends, each go out as one call per
partition (all of a call's keys share the partition's hash tag): the client's and the server's
cost is per call, not per item. A call's reply lists its items' replies in the order the call
took them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infra.scripts import Script

Layout = list[list[int]]  # per call, the indexes of its items in the batch


@dataclass(slots=True)
class ScriptCall:
    """One script call over a partition's items of a batch, encoded, ready to queue."""

    keys: list[str]
    args: list[Any]
    indexes: list[int]  # the items it takes, by index in the batch: its replies' order


def queue_calls(pipe: Any, script: Script, calls: Sequence[ScriptCall]) -> Layout:
    """Queues each call of `script`; returns, per call, the indexes of its items (`per_item`
    gives each item its own reply)."""
    for call in calls:
        script.queue(pipe, call.keys, call.args)
    return [call.indexes for call in calls]


def by_partition(partitions: Sequence[int]) -> dict[int, list[int]]:
    """The indexes of the items of each partition, in batch order (`partitions[i]` is item i's)."""
    calls: dict[int, list[int]] = {}
    for i, partition in enumerate(partitions):
        calls.setdefault(partition, []).append(i)
    return calls


def per_item(replies: Sequence[Any], layout: Layout, count: int) -> list[Any]:
    """Each item's own reply, in batch order, from the replies of the calls of `layout`."""
    own: list[Any] = [None] * count
    for reply, indexes in zip(replies, layout, strict=True):
        for i, one in zip(indexes, reply, strict=True):
            own[i] = one
    return own

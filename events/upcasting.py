"""Upcasters: pure functions that turn a stored event of an old version into the next one.

`UPCASTERS[(name, v)]` takes the data of version `v` and returns that of version `v + 1`;
`upcast` chains them up to the current version.
"""

from collections.abc import Callable
from typing import Any

from events.events import EVENT_TYPES

Data = dict[str, Any]

UPCASTERS: dict[tuple[str, int], Callable[[Data], Data]] = {}


class MissingUpcaster(ValueError):
    """A stored event's version has no path to the current one."""


def upcast(name: str, version: int, data: Data) -> Data:
    current = EVENT_TYPES[name].version
    while version < current:
        step = UPCASTERS.get((name, version))
        if step is None:
            raise MissingUpcaster(f"{name} v{version}")
        data = step(data)
        version += 1
    if version != current:
        raise MissingUpcaster(f"{name} v{version} is newer than v{current}")
    return data

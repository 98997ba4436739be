"""Upcasters: pure functions that turn a stored event of an old version into the next one.

`UPCASTERS[(name, v)]` takes the data of version `v` and returns that of version `v + 1`;
`upcast` chains them up to the current version. Stored entries are never rewritten: every read
of an old entry goes through the chain. An entry the chain cannot bring up to date (a version
newer than this code, or a missing step) raises `MissingUpcaster`.
"""

from collections.abc import Callable
from typing import Any

from events.events import EVENT_TYPES
from events.names import split_display_name

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]


class MissingUpcaster(ValueError):
    """A stored event's version has no path to the current one."""

    def __init__(self, event: str, version: int, current: int | None, reason: str) -> None:
        super().__init__(f"cannot read {event} v{version}: {reason}")
        self.event = event
        self.version = version
        self.current = current  # None when this code knows no such event


def user_registered_v1_to_v2(data: Data) -> Data:
    """v1's `display_name` becomes `given_name` and `family_name`, split at the first space."""
    upcast = {key: value for key, value in data.items() if key != "display_name"}
    display_name = data.get("display_name")
    if isinstance(display_name, str):
        # Anything else is left out, so that decoding reports the missing field by its path.
        upcast["given_name"], upcast["family_name"] = split_display_name(display_name)
    return upcast


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("UserRegistered", 1): user_registered_v1_to_v2,
}


def upcast(name: str, version: int, data: Data) -> Data:
    """The data of event `name` stored at `version`, brought up to the current version."""
    cls = EVENT_TYPES.get(name)
    if cls is None:
        raise MissingUpcaster(name, version, None, "no such event")
    current = cls.version
    if version > current:
        raise MissingUpcaster(
            name, version, current, f"newer than v{current}, written by newer code"
        )
    if version < 1:
        raise MissingUpcaster(name, version, current, "versions start at 1")
    for at in range(version, current):
        step = UPCASTERS.get((name, at))
        if step is None:
            raise MissingUpcaster(name, version, current, f"no upcaster from v{at} to v{at + 1}")
        data = step(data)
    return data


def missing_steps() -> list[tuple[str, int]]:
    """Every (event, version) below its current version that has no upcaster: should be none."""
    return [
        (name, version)
        for name, cls in EVENT_TYPES.items()
        for version in range(1, cls.version)
        if (name, version) not in UPCASTERS
    ]

"""Domain events: past-tense facts, versioned from the start.

Each event class names its current `version`. Old stored versions are brought up to date by
the upcasters in `events.upcasting` when read. `private` events carry secrets: they are stored
and projected but never shown in a result, a frame or a response.
"""

from typing import ClassVar

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every domain event."""

    version: ClassVar[int] = 1
    private: ClassVar[bool] = False


class UserRegistered(Event, frozen=True, kw_only=True):
    user_id: str
    email: str
    display_name: str
    roles: tuple[str, ...]


class UserPasswordSet(Event, frozen=True, kw_only=True):
    private: ClassVar[bool] = True

    user_id: str
    password_hash: str


class UserLoggedIn(Event, frozen=True, kw_only=True):
    user_id: str
    session_id: str


class DisplayNameChanged(Event, frozen=True, kw_only=True):
    user_id: str
    display_name: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls for cls in (UserRegistered, UserPasswordSet, UserLoggedIn, DisplayNameChanged)
}

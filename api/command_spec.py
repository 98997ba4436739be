"""What the gateway knows of one command: its request, who may send it, how it is built."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from api.auth import Principal
from api.http import ApiError
from api.state import AppState
from events.commands import Command
from events.requests import Request
from infra.settings import Settings

# The role vocabulary, as `domain.roles` spells it (api/ never imports domain/; a test holds
# the two together). `brand_moderator:*` stands for a moderator of any brand.
CUSTOMER = "customer"
COURIER = "courier"
ADMIN = "admin"
SUPER_ADMIN = "super_admin"
BRAND_MODERATOR_PREFIX = "brand_moderator:"
ANY_MODERATOR = f"{BRAND_MODERATOR_PREFIX}*"

SIGNED_IN: frozenset[str] = frozenset()
CUSTOMERS = frozenset({CUSTOMER})
COURIERS = frozenset({COURIER})
MODERATORS = frozenset({ANY_MODERATOR})
ADMINS = frozenset({ADMIN, SUPER_ADMIN})

# A command whose client shape is its stored shape is its own request.
Payload = Request | Command
R = TypeVar("R", bound=msgspec.Struct)


@dataclass(frozen=True)
class Call:
    """What a builder may use: the app, the validated request, who sent it, and the new id
    the command creates (derived from the command id, so a repeat names the same thing)."""

    state: AppState
    request: Payload
    principal: Principal | None
    command_id: str
    new_id: str = ""

    def payload(self, cls: type[R]) -> R:
        assert isinstance(self.request, cls), type(self.request)
        return self.request

    @property
    def actor(self) -> str:
        assert self.principal is not None, "a signed-in command's builder runs with a session"
        return self.principal.user_id


Builder = Callable[[Call], Awaitable[Command]]


@dataclass(frozen=True)
class NewId:
    """An id the command creates: `field` names it in the 202 answer; `make` derives it from
    the settings, the request and the command id, deterministically."""

    field: str
    make: Callable[[Settings, Any, str], str]


@dataclass(frozen=True)
class CommandSpec:
    """`roles=None`: anyone may send it; an empty set: any signed-in user; else one of them
    (admins pass every role check: the domain decides what they may do)."""

    name: str
    request: type[Request] | type[Command]
    build: Builder
    roles: frozenset[str] | None = None
    admin_only: bool = False
    new_id: NewId | None = None


async def as_sent(call: Call) -> Command:
    """The builder of a command sent as it is stored: the schema already checked it."""
    assert isinstance(call.request, Command), type(call.request)
    return call.request


def holds_one_of(held: frozenset[str], allowed: frozenset[str]) -> bool:
    """True when a held role is allowed; `<prefix>:*` allows every role of that prefix."""
    for role in allowed:
        if role.endswith(":*"):
            prefix = role[:-1]
            if any(h.startswith(prefix) and len(h) > len(prefix) for h in held):
                return True
        elif role in held:
            return True
    return False


def invalid(message: str, path: str) -> ApiError:
    """A payload the schema let through but the catalog or the actor's data refuses."""
    return ApiError(422, "invalid_payload", message, path=path)

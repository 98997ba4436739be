"""The commands each app takes: who may send them and how a request becomes a stored command."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from api.auth import Principal
from api.state import AppState
from events.commands import ChangeDisplayName, Command
from events.requests import ChangeDisplayNameRequest, RegisterUserRequest, Request
from infra.identity import registration

Builder = Callable[[AppState, msgspec.Struct, Principal | None], Awaitable[tuple[Command, str]]]


@dataclass(frozen=True)
class CommandSpec:
    """`roles=None`: anyone may send it; an empty set: any signed-in user; else one of them."""

    name: str
    request: type[Request]
    build: Builder
    roles: frozenset[str] | None = None
    admin_only: bool = False


async def build_register_user(
    state: AppState, request: msgspec.Struct, principal: Principal | None
) -> tuple[Command, str]:
    assert isinstance(request, RegisterUserRequest)
    # The clear password stops here: only its argon2id hash travels on.
    password_hash = await state.passwords.hash(request.password)
    return registration(
        email=request.email,
        password_hash=password_hash,
        display_name=request.display_name,
        partitions=state.settings.partitions,
    )


async def build_change_display_name(
    state: AppState, request: msgspec.Struct, principal: Principal | None
) -> tuple[Command, str]:
    assert isinstance(request, ChangeDisplayNameRequest) and principal is not None
    command = ChangeDisplayName(user_id=principal.user_id, display_name=request.display_name)
    return command, f"user:{principal.user_id}"


SIGNED_IN: frozenset[str] = frozenset()

SPECS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("RegisterUser", RegisterUserRequest, build_register_user),
        CommandSpec(
            "ChangeDisplayName",
            ChangeDisplayNameRequest,
            build_change_display_name,
            roles=SIGNED_IN,
        ),
    )
}


def public_specs() -> dict[str, CommandSpec]:
    return {name: spec for name, spec in SPECS.items() if not spec.admin_only}


def admin_specs() -> dict[str, CommandSpec]:
    return dict(SPECS)

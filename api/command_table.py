"""The commands each app takes: who may send them and how a request becomes a stored command.

Each spec names its request (what a client may set), the roles the gateway lets through (the
first line of authorisation: the domain checks again on the aggregate's state) and a builder
that stamps what a client may not choose: new ids, the actor's own id, prices, a SKU's product.
"""

from api import commands_catalog, commands_orders, commands_roles
from api.command_spec import SIGNED_IN, Call, CommandSpec
from events.commands import ChangeDisplayName, Command
from events.requests import ChangeDisplayNameRequest, RegisterUserRequest
from infra.identity import registration


async def build_register_user(call: Call) -> Command:
    request = call.payload(RegisterUserRequest)
    # The clear password stops here: only its argon2id hash travels on.
    password_hash = await call.state.passwords.hash(request.password)
    command, _ = registration(
        email=request.email,
        password_hash=password_hash,
        display_name=request.display_name,
        partitions=call.state.settings.partitions,
    )
    return command


async def build_change_display_name(call: Call) -> Command:
    request = call.payload(ChangeDisplayNameRequest)
    return ChangeDisplayName(user_id=call.actor, display_name=request.display_name)


IDENTITY = (
    CommandSpec("RegisterUser", RegisterUserRequest, build_register_user),
    CommandSpec(
        "ChangeDisplayName", ChangeDisplayNameRequest, build_change_display_name, roles=SIGNED_IN
    ),
)

SPECS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        *IDENTITY,
        *commands_roles.SPECS,
        *commands_catalog.SPECS,
        *commands_orders.SPECS,
    )
}


def public_specs() -> dict[str, CommandSpec]:
    return {name: spec for name, spec in SPECS.items() if not spec.admin_only}


def admin_specs() -> dict[str, CommandSpec]:
    return dict(SPECS)

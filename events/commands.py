"""Commands as the workers receive them: validated, stamped, free of secrets."""

import msgspec

from events.types import DisplayName, Email, Identifier, Role


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every command a worker handles."""


class RegisterUser(Command, frozen=True, kw_only=True):
    user_id: Identifier
    email: Email
    display_name: DisplayName
    password_hash: str
    roles: tuple[Role, ...] = ("customer",)


class RecordLogin(Command, frozen=True, kw_only=True):
    user_id: Identifier
    session_id: str


class ChangeDisplayName(Command, frozen=True, kw_only=True):
    user_id: Identifier
    display_name: DisplayName


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls for cls in (RegisterUser, RecordLogin, ChangeDisplayName)
}

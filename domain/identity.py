"""The user aggregate: registration with a unique email, logins, display names and roles."""

from dataclasses import dataclass

from domain import user_roles
from domain.aggregate import AggregateRules, Claims, Context
from domain.changes import changed
from domain.errors import EmailTaken, UnknownUser, UnsupportedCommand, UserAlreadyExists
from events.commands import (
    AssignRole,
    ChangeDisplayName,
    Command,
    RecordLogin,
    RegisterUser,
    RevokeRole,
)
from events.events import (
    DisplayNameChanged,
    Event,
    RoleAssigned,
    RoleRevoked,
    UserLoggedIn,
    UserPasswordSet,
    UserRegistered,
)
from events.names import join_display_name, split_display_name


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    display_name: str
    roles: tuple[str, ...]
    has_password: bool = False
    logins: int = 0


def email_claim(email: str) -> str:
    return f"email:{email}"


def claims(command: Command) -> Claims:
    match command:
        case RegisterUser(email=email, user_id=user_id):
            return {email_claim(email): user_id}
        case _:
            return {}


def decide(state: User | None, command: Command, ctx: Context) -> list[Event]:
    match command:
        case RegisterUser():
            return _register(state, command, ctx)
        case RecordLogin():
            if state is None:
                raise UnknownUser(f"no user {command.user_id}")
            return [UserLoggedIn(user_id=state.user_id, session_id=command.session_id)]
        case ChangeDisplayName():
            if state is None:
                raise UnknownUser(f"no user {command.user_id}")
            if command.display_name == state.display_name:
                return []
            return [DisplayNameChanged(user_id=state.user_id, display_name=command.display_name)]
        case AssignRole():
            return user_roles.assign(state.roles if state else None, command, ctx)
        case RevokeRole():
            return user_roles.revoke(state.roles if state else None, command, ctx)
        case _:
            raise UnsupportedCommand(type(command).__name__)


def _register(state: User | None, command: RegisterUser, ctx: Context) -> list[Event]:
    if state is not None:
        raise UserAlreadyExists(f"user {command.user_id} already exists")
    owner = ctx.owners.get(email_claim(command.email))
    if owner is not None and owner != command.user_id:
        raise EmailTaken(f"{command.email} is already registered")
    given_name, family_name = split_display_name(command.display_name)
    return [
        UserRegistered(
            user_id=command.user_id,
            email=command.email,
            given_name=given_name,
            family_name=family_name,
            roles=command.roles,
        ),
        UserPasswordSet(user_id=command.user_id, password_hash=command.password_hash),
    ]


def evolve(state: User | None, event: Event) -> User | None:
    match event:
        case UserRegistered():
            return User(
                user_id=event.user_id,
                email=event.email,
                display_name=join_display_name(event.given_name, event.family_name),
                roles=event.roles,
            )
        case UserPasswordSet() if state is not None:
            return changed(state, has_password=True)
        case DisplayNameChanged() if state is not None:
            return changed(state, display_name=event.display_name)
        case UserLoggedIn() if state is not None:
            return changed(state, logins=state.logins + 1)
        case RoleAssigned() if state is not None:
            return changed(state, roles=user_roles.with_role(state.roles, event.role))
        case RoleRevoked() if state is not None:
            return changed(state, roles=user_roles.without_role(state.roles, event.role))
        case _:
            return state


RULES = AggregateRules(evolve=evolve, decide=decide, claims=claims, state_type=User)

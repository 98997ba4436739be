"""Read marks on a user's notifications (`notifications:<user_id>`): a small aggregate.

The notifications themselves are a read model projected from other events (invitation received,
order confirmed, courier assigned...). Marking one read is a fact of its own, though, and read
models are disposable: a mark written straight into the read model would be lost on the next
rebuild. So `MarkNotificationRead` records `NotificationRead` here, and the projector stores read
marks apart from notifications (a mark may be projected before its notification on a rebuild,
since they live in different partitions) and joins them when queried.

Notification ids are derived from the event that causes them (`notification_id`), so a rebuild
gives every notification the id it had, and old read marks still find it. Whether the id names a
notification of this user is the gateway's check against the read model.
"""

from dataclasses import dataclass

from domain import roles
from domain.aggregate import AggregateRules, Claims, Context
from domain.errors import UnsupportedCommand
from domain.follow_ups import derived_id
from events.commands import Command, MarkNotificationRead
from events.events import Event, NotificationRead


@dataclass(frozen=True)
class ReadMarks:
    read: frozenset[str] = frozenset()


def notification_id(source_aggregate_id: str, source_version: int, recipient: str) -> str:
    """One event may notify several users (a courier assigned: the customer and the courier)."""
    return derived_id("notification", source_aggregate_id, str(source_version), recipient)


def claims(command: Command) -> Claims:
    return {}


def decide(state: ReadMarks | None, command: Command, ctx: Context) -> list[Event]:
    match command:
        case MarkNotificationRead(user_id=user_id, notification_id=notification):
            roles.require(ctx.actor == user_id, "mark another user's notifications")
            if state is not None and notification in state.read:
                return []
            return [NotificationRead(user_id=user_id, notification_id=notification)]
        case _:
            raise UnsupportedCommand(type(command).__name__)


def evolve(state: ReadMarks | None, event: Event) -> ReadMarks | None:
    match event:
        case NotificationRead(notification_id=notification):
            read = state.read if state is not None else frozenset()
            return ReadMarks(read | {notification})
        case _:
            return state


RULES = AggregateRules(evolve=evolve, decide=decide, claims=claims, state_type=ReadMarks)

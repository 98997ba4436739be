"""Everything the reactor does, in one pure function: the order saga plus the role hand-offs.

    ModeratorInviteAccepted         → AssignRole brand_moderator:<brand_id> (user:<id>)
    UserRegistered with super_admin → GrantSuperAdmin (roles:super_admins), so the singleton
                                      counts the start-up super admin too

The reactor decodes each event record, calls `react(record, event)`, and appends what it
returns (scheduling those with a delay); it keeps no state of its own.
"""

from domain import order_saga, roles
from domain.follow_ups import Cause, FollowUp, follow_up
from events.commands import AssignRole, GrantSuperAdmin
from events.events import Event, ModeratorInviteAccepted, UserRegistered


def react(
    cause: Cause,
    event: Event,
    *,
    confirmation_timeout_ms: int = order_saga.CONFIRMATION_TIMEOUT_MS,
) -> list[FollowUp]:
    match event:
        case ModeratorInviteAccepted(brand_id=brand_id, user_id=user_id):
            role = roles.brand_moderator(brand_id)
            return [follow_up(cause, AssignRole(user_id=user_id, role=role))]
        case UserRegistered(user_id=user_id) if roles.SUPER_ADMIN in event.roles:
            return [follow_up(cause, GrantSuperAdmin(user_id=user_id))]
        case _:
            return order_saga.react(cause, event, confirmation_timeout_ms=confirmation_timeout_ms)

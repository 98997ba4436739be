"""Users, their credentials and their roles, from the user aggregates and the super admins."""

from typing import Any

from events.envelope import EventRecord
from events.events import (
    DisplayNameChanged,
    Event,
    RoleAssigned,
    RoleRevoked,
    UserPasswordSet,
    UserRegistered,
)
from events.names import join_display_name
from infra import read_models


def project(pipe: Any, record: EventRecord, event: Event) -> None:
    version = record.aggregate_version
    match event:
        case UserRegistered():
            view = read_models.UserView(
                user_id=event.user_id,
                email=event.email,
                display_name=join_display_name(event.given_name, event.family_name),
                roles=event.roles,
            )
            read_models.queue_user(pipe, view, version, registered_at=record.occurred_at)
        case DisplayNameChanged():
            read_models.queue_display_name(pipe, event.user_id, event.display_name, version)
        case UserPasswordSet():
            read_models.queue_credentials(pipe, event.user_id, event.password_hash, version)
        # From `user:<id>` or, for super_admin, `roles:super_admins`: each role field follows
        # the versions of the one aggregate that records that role.
        case RoleAssigned(user_id=user_id, role=role):
            read_models.queue_role(pipe, user_id, role, True, version)
        case RoleRevoked(user_id=user_id, role=role):
            read_models.queue_role(pipe, user_id, role, False, version)
        case _:
            pass

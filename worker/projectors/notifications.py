"""In-platform notifications, derived from the events a user should hear about, and read marks.

ModeratorInvited            → the invitee: moderator_invited
OrderConfirmed / Rejected   → the customer: order_confirmed / order_rejected (with reason)
OrderCancelled by another   → the customer: order_cancelled (an admin did it)
CourierAssigned             → the customer and the courier: courier_assigned
OrderPickedUp / Delivered   → the customer: order_out_for_delivery / order_delivered
"""

from typing import Any

from domain.notifications import notification_id
from events.envelope import EventRecord
from events.events import (
    CourierAssigned,
    Event,
    ModeratorInvited,
    NotificationRead,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderPickedUp,
    OrderRejected,
)
from infra.notification_views import NotificationView, queue_notification, queue_read_mark


def project(pipe: Any, record: EventRecord, event: Event) -> None:
    if isinstance(event, NotificationRead):
        queue_read_mark(pipe, event.user_id, event.notification_id)
        return
    for recipient, kind, details in _notes(event):
        note = NotificationView(
            notification_id=notification_id(
                record.aggregate_id, record.aggregate_version, recipient
            ),
            kind=kind,
            at=record.occurred_at,
            **details,
        )
        queue_notification(pipe, recipient, note)


def _notes(event: Event) -> list[tuple[str, str, dict[str, Any]]]:
    """(recipient, kind, details) for each notification the event makes."""
    match event:
        case ModeratorInvited(invitee_user_id=invitee, brand_id=brand_id, invited_by=by):
            return [(invitee, "moderator_invited", {"brand_id": brand_id, "invited_by": by})]
        case OrderConfirmed(customer_id=customer, order_id=order_id):
            return [(customer, "order_confirmed", {"order_id": order_id})]
        case OrderRejected(customer_id=customer, order_id=order_id, reason=reason):
            return [(customer, "order_rejected", {"order_id": order_id, "reason": reason})]
        case OrderCancelled(customer_id=customer, order_id=order_id, reason=reason) if (
            event.cancelled_by != customer
        ):
            return [(customer, "order_cancelled", {"order_id": order_id, "reason": reason})]
        case CourierAssigned(customer_id=customer, order_id=order_id, courier_id=courier):
            details = {"order_id": order_id, "courier_id": courier}
            return [(customer, "courier_assigned", details), (courier, "courier_assigned", details)]
        case OrderPickedUp(customer_id=customer, order_id=order_id, courier_id=courier):
            details = {"order_id": order_id, "courier_id": courier}
            return [(customer, "order_out_for_delivery", details)]
        case OrderDelivered(customer_id=customer, order_id=order_id, courier_id=courier):
            details = {"order_id": order_id, "courier_id": courier}
            return [(customer, "order_delivered", details)]
        case _:
            return []

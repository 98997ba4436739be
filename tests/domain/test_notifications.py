"""Given a user's read marks, when they mark a notification read, then a mark or nothing."""

from domain import notifications
from events.commands import MarkNotificationRead
from events.events import NotificationRead
from tests.domain.support import ADMIN, acting, given, rejection

RULES = notifications.RULES
CAROL = "user-carol"
AS_CAROL = acting(CAROL, "customer")
NOTE = notifications.notification_id("order:o1", 3, CAROL)


def test_a_user_marks_their_notification_read() -> None:
    command = MarkNotificationRead(user_id=CAROL, notification_id=NOTE)
    assert RULES.decide(given(RULES), command, AS_CAROL) == [
        NotificationRead(user_id=CAROL, notification_id=NOTE)
    ]


def test_marking_it_read_again_records_nothing() -> None:
    state = given(RULES, NotificationRead(user_id=CAROL, notification_id=NOTE))
    command = MarkNotificationRead(user_id=CAROL, notification_id=NOTE)
    assert RULES.decide(state, command, AS_CAROL) == []


def test_nobody_marks_another_users_notifications() -> None:
    command = MarkNotificationRead(user_id=CAROL, notification_id=NOTE)
    assert rejection(RULES, given(RULES), command, acting("user-dan", "customer")) == "forbidden"
    assert rejection(RULES, given(RULES), command, ADMIN) == "forbidden"


def test_a_notification_id_is_the_same_on_every_rebuild_and_differs_per_event_and_recipient() -> (
    None
):
    assert notifications.notification_id("order:o1", 3, CAROL) == NOTE
    assert notifications.notification_id("order:o1", 4, CAROL) != NOTE
    assert notifications.notification_id("order:o2", 3, CAROL) != NOTE
    assert notifications.notification_id("order:o1", 3, "courier-kurt") != NOTE

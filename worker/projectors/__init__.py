"""Every read model's projection: each event goes to each module that keeps a view of it.

A projection queues writes on a pipeline and reads nothing, so a batch of events costs one
round trip; each write is guarded by the version it reflects or is a fact keyed by its source.
"""

from typing import Any

from events.envelope import EventRecord
from events.events import Event
from worker.projectors import catalog, notifications, orders, users

PROJECTIONS = (users.project, catalog.project, orders.project, notifications.project)


def project(pipe: Any, record: EventRecord, event: Event) -> None:
    """Queues the read-model writes of one event."""
    for projection in PROJECTIONS:
        projection(pipe, record, event)

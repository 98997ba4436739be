"""Every read model's projection: each event goes to each module that keeps a view of it.

A projection queues writes on a pipeline and reads nothing, so a batch of events costs one
round trip; each write is guarded by the version it reflects or is a fact keyed by its source.
So a projection replayed from the start of the logs into a shadow copy ends as the live copy
would, whatever the order, which is what `sluice projections rebuild` relies on.

Each projection owns the read-model keys under `sluice:rm:<name>:` (`infra.keys`). Its version
names the shape of what it writes: raise it whenever a change to the code would leave the
existing live copy different from a rebuild (a new field, a new key, another meaning), and run
`sluice projections rebuild <name>` when deploying it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from events.envelope import EventRecord
from events.events import Event
from infra import keys
from worker.projectors import catalog, notifications, orders, users

Apply = Callable[[Any, EventRecord, Event], None]


@dataclass(frozen=True)
class Projection:
    name: str  # also the segment of its keys: `sluice:rm:<name>:...`
    version: int
    apply: Apply
    description: str

    def prefix(self, root: str = keys.LIVE_READ_MODELS) -> str:
        """Every key this projection owns under `root` starts with this."""
        return keys.projection_prefix(self.name, root)


PROJECTIONS = (
    Projection(keys.USERS, 2, users.project, "users, email lookups, credentials, role indexes"),
    Projection(keys.CATALOG, 2, catalog.project, "brands, products, SKUs, stock levels"),
    Projection(keys.ORDERS, 2, orders.project, "orders with their history and indexes, carts"),
    Projection(keys.NOTIFICATIONS, 2, notifications.project, "notifications and read marks"),
)
BY_NAME = {projection.name: projection for projection in PROJECTIONS}


class UnknownProjection(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no projection {name!r} (known: {', '.join(BY_NAME)})")


def named(name: str) -> Projection:
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownProjection(name) from None


def project(pipe: Any, record: EventRecord, event: Event) -> None:
    """Queues the read-model writes of one event, for every projection."""
    for projection in PROJECTIONS:
        projection.apply(pipe, record, event)

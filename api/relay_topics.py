"""Relay topics: which exist, who may subscribe to each, and which an event belongs to.

Extend the relay with a new topic kind by adding a rule to `RULES` (who may see it) and, if
the kind names an aggregate, to `AGGREGATE_KINDS` (its events are published there).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from infra.identity import ADMIN_ROLES

ADMIN_EVENTS = "admin:events"
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class Viewer:
    """Who is asking: an authenticated user and their roles."""

    user_id: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return not self.roles.isdisjoint(ADMIN_ROLES)


class Access(Enum):
    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    UNKNOWN_TOPIC = "unknown_topic"


@dataclass(frozen=True)
class Rule:
    key: re.Pattern[str]  # which keys exist for this kind
    may_see: Callable[[str, Viewer], bool]


# topic `<kind>:<key>` -> who may see it. Orders: the customer and courier rule arrives with
# the order read model; until then only admins.
RULES: dict[str, Rule] = {
    "user": Rule(_KEY, lambda key, viewer: viewer.user_id == key or viewer.is_admin),
    "order": Rule(_KEY, lambda key, viewer: viewer.is_admin),
    "admin": Rule(re.compile(r"events"), lambda key, viewer: viewer.is_admin),
}

# Aggregate kinds whose id (`user:<id>`) is also the topic their events are published on.
AGGREGATE_KINDS = frozenset({"user", "order"})


def access(topic: str, viewer: Viewer | None) -> Access:
    kind, _, key = topic.partition(":")
    rule = RULES.get(kind)
    if rule is None or not rule.key.fullmatch(key):
        return Access.UNKNOWN_TOPIC
    if viewer is None or not rule.may_see(key, viewer):
        return Access.FORBIDDEN
    return Access.ALLOWED


def topics_of(aggregate_id: str) -> tuple[str, ...]:
    """The topics an event of this aggregate is published on; admins see every event."""
    kind, _, key = aggregate_id.partition(":")
    if kind in AGGREGATE_KINDS and _KEY.fullmatch(key):
        return (ADMIN_EVENTS, aggregate_id)
    return (ADMIN_EVENTS,)

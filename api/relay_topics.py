"""Relay topics: which exist, who may subscribe to each, and which an event belongs to.

Extend the relay with a new topic kind by adding a rule to `RULES` (who may see it) and, if
the kind names an aggregate, to `AGGREGATE_KINDS` (its events are published there). A rule whose
audience is data (an order's customer and courier) names an `audience` lookup: it is read from
Redis once per subscribe, never per frame, and the subscription remembers for whom it held.
"""

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from redis.asyncio import Redis

from api.relay_audience import order_audience
from infra.identity import ADMIN_ROLES
from infra.settings import Settings

ADMIN_EVENTS = "admin:events"
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")

# An event is also shown on the topic of every user it names in one of these fields: the user
# it is about (their cart, roles, read marks), an order's customer and courier, an invitee.
USER_FIELDS = ("user_id", "customer_id", "courier_id", "invitee_user_id")
# Aggregates owned by one user, `<kind>:<user_id>`, whose events are that user's own.
USER_OWNED_KINDS = frozenset({"cart", "notifications"})


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


Audience = Callable[["Redis", Settings, str], Awaitable[frozenset[str]]]


@dataclass(frozen=True)
class Rule:
    key: re.Pattern[str]  # which keys exist for this kind
    may_see: Callable[[str, Viewer], bool]
    audience: Audience | None = None  # who else may see a topic of this kind, from the data


RULES: dict[str, Rule] = {
    "user": Rule(_KEY, lambda key, viewer: viewer.user_id == key or viewer.is_admin),
    # An order: admins, and its customer and assigned courier as its history names them.
    "order": Rule(_KEY, lambda key, viewer: viewer.is_admin, audience=order_audience),
    "admin": Rule(re.compile(r"events"), lambda key, viewer: viewer.is_admin),
}

# Aggregate kinds whose id (`user:<id>`) is also the topic their events are published on.
AGGREGATE_KINDS = frozenset({"user", "order"})


def access(topic: str, viewer: Viewer | None, *, member: bool = False) -> Access:
    """The verdict from the viewer's roles; `member`: the topic's audience lookup found them."""
    kind, _, key = topic.partition(":")
    rule = RULES.get(kind)
    if rule is None or not rule.key.fullmatch(key):
        return Access.UNKNOWN_TOPIC
    if viewer is None:
        return Access.FORBIDDEN
    if rule.may_see(key, viewer) or (member and rule.audience is not None):
        return Access.ALLOWED
    return Access.FORBIDDEN


async def resolve(
    topic: str, viewer: Viewer | None, redis: "Redis", settings: Settings
) -> tuple[Access, bool]:
    """The verdict, looking the audience up if the roles alone do not allow it, and whether it
    rests on that lookup. Raises `Unavailable` if Redis cannot be reached."""
    verdict = access(topic, viewer)
    if verdict is not Access.FORBIDDEN or viewer is None:
        return verdict, False
    kind, _, key = topic.partition(":")
    rule = RULES[kind]
    if rule.audience is None:
        return verdict, False
    # An unknown order is forbidden, not unknown: whether it exists is not the viewer's to know.
    if viewer.user_id in await rule.audience(redis, settings, key):
        return Access.ALLOWED, True
    return Access.FORBIDDEN, False


def topics_of(aggregate_id: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    """The topics an event of this aggregate is published on; admins see every event."""
    topics = [ADMIN_EVENTS]
    kind, _, key = aggregate_id.partition(":")
    if kind in AGGREGATE_KINDS and _KEY.fullmatch(key):
        topics.append(aggregate_id)
    users = [key] if kind in USER_OWNED_KINDS else []
    users += [data[name] for name in USER_FIELDS if isinstance(data.get(name), str)]
    for user_id in users:
        topic = f"user:{user_id}"
        if _KEY.fullmatch(user_id) and topic not in topics:
            topics.append(topic)
    return tuple(topics)

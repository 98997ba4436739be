"""What every aggregate module provides to the workers that run it."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from events.commands import Command
from events.events import Event

State = Any
Claims = Mapping[str, str]
ClaimOwners = Mapping[str, str | None]


@dataclass(frozen=True)
class Context:
    """What a decision may know beyond the aggregate's state: who asks, and when.

    `roles` are the actor's roles when the command was accepted (stamped by the gateway);
    `owners` says who owns each unique value the command claims (see `AggregateRules.claims`).
    """

    actor: str | None = None
    roles: frozenset[str] = frozenset()
    owners: ClaimOwners = field(default_factory=dict)
    now: int = 0  # epoch milliseconds


@dataclass(frozen=True)
class AggregateRules:
    """The pure functions of one aggregate type.

    `claims(command)` names the unique values a command wants to own (e.g. an email) and the
    owner it would record; `decide` is told who owns each of them now, in its context.

    `state_type` is the (frozen dataclass) type `evolve` returns, or None before the first event:
    snapshots store it. Raise `snapshot_version` whenever `evolve` comes to build a different
    state from the same events without the type's shape changing: snapshots of the old version
    are then ignored and rebuilt from the history.
    """

    evolve: Callable[[State, Event], State]
    decide: Callable[[State, Command, Context], list[Event]]
    claims: Callable[[Command], Claims]
    state_type: type
    snapshot_version: int = 1


def replay(rules: AggregateRules, events: list[Event]) -> State:
    state: State = None
    for event in events:
        state = rules.evolve(state, event)
    return state

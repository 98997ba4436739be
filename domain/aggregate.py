"""What every aggregate module provides to the workers that run it."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from events.commands import Command
from events.events import Event

State = Any
Claims = Mapping[str, str]
ClaimOwners = Mapping[str, str | None]


@dataclass(frozen=True)
class AggregateRules:
    """The pure functions of one aggregate type.

    `claims(command)` names the unique values a command wants to own (e.g. an email) and the
    owner it would record; `decide` is told who owns each of them now.
    """

    evolve: Callable[[State, Event], State]
    decide: Callable[[State, Command, ClaimOwners], list[Event]]
    claims: Callable[[Command], Claims]


def replay(rules: AggregateRules, events: list[Event]) -> State:
    state: State = None
    for event in events:
        state = rules.evolve(state, event)
    return state

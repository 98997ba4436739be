"""Plain helpers for the given-when-then tests: who acts, and what happened before."""

from collections.abc import Mapping

import pytest

from domain.aggregate import AggregateRules, Context, State, replay
from domain.errors import DomainError
from domain.roles import SYSTEM_ROLES
from events.commands import Command
from events.events import Event


def acting(
    actor: str | None, *roles: str, owners: Mapping[str, str | None] | None = None
) -> Context:
    return Context(actor=actor, roles=frozenset(roles), owners=dict(owners or {}), now=1_000)


SUPER_ADMIN = acting("root-rita", "super_admin")
ADMIN = acting("admin-ann", "admin")
SYSTEM = Context(roles=SYSTEM_ROLES, now=1_000)
NOBODY = Context()


def given(rules: AggregateRules, *events: Event) -> State:
    return replay(rules, list(events))


def rejection(rules: AggregateRules, state: State, command: Command, ctx: Context) -> str:
    """The code of the domain error the command is refused with."""
    with pytest.raises(DomainError) as refused:
        rules.decide(state, command, ctx)
    return refused.value.code


def run(rules: AggregateRules, state: State, command: Command, ctx: Context) -> State:
    """Decides and applies: the state after the command, for sequential decisions."""
    for event in rules.decide(state, command, ctx):
        state = rules.evolve(state, event)
    return state

"""`changed` builds what `dataclasses.replace` builds, for every aggregate's state type."""

from dataclasses import dataclass, fields, replace
from typing import Any

import pytest

from domain.changes import changed
from domain.registry import AGGREGATES

STATE_TYPES = sorted({rules.state_type for rules in AGGREGATES.values()}, key=lambda t: t.__name__)


def sample(kind: type) -> Any:
    """An instance whose every field holds a value of its own (types do not matter here)."""
    return kind(**{f.name: f"{f.name}-before" for f in fields(kind)})


@pytest.mark.parametrize("kind", STATE_TYPES, ids=lambda kind: kind.__name__)
def test_a_changed_state_equals_the_replaced_one_and_leaves_the_original_be(kind: type) -> None:
    state = sample(kind)
    for field in fields(kind):
        new = changed(state, **{field.name: "after"})
        assert new == replace(state, **{field.name: "after"})
        assert hash(new) == hash(replace(state, **{field.name: "after"}))
        assert type(new) is kind
    assert state == sample(kind)


def test_a_name_that_is_no_field_is_a_type_error() -> None:
    state = sample(STATE_TYPES[0])
    with pytest.raises(TypeError, match="has no field nickname"):
        changed(state, nickname="x")


def test_a_state_type_that_is_not_a_plain_frozen_dataclass_is_refused() -> None:
    @dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            assert self.value >= 0

    @dataclass
    class Mutable:
        value: int

    for state in (Checked(1), Mutable(1)):
        with pytest.raises(TypeError, match="not a plain frozen dataclass"):
            changed(state, value=2)

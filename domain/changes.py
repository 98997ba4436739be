"""A frozen state with some fields changed: `dataclasses.replace`, at a third of its cost.

Evolve functions run for every event of every aggregate loaded and every command decided, and
`replace` spends most of its time walking the fields' init flags and calling the generated
frozen `__init__` (one `object.__setattr__` per field). Aggregate states are plain frozen
dataclasses (every field set by `__init__`, no `__post_init__`, no slots), so a copy of the
instance's fields with the changed ones overridden is the same value `replace` would build.
A state type that is not plain, or a name that is not one of its fields, is a `TypeError`.
"""

import dataclasses
from typing import Any, TypeVar

S = TypeVar("S")

_FIELDS: dict[type, frozenset[str]] = {}


def changed(state: S, **changes: Any) -> S:
    """`state` with the fields named in `changes` set to their new values."""
    kind = type(state)
    names = _FIELDS.get(kind) or _FIELDS.setdefault(kind, _plain_fields(kind))
    if not names.issuperset(changes):
        unknown = ", ".join(sorted(set(changes) - names))
        raise TypeError(f"{kind.__name__} has no field {unknown}")
    copy: S = object.__new__(kind)
    fields = vars(copy)
    fields.update(vars(state))
    fields.update(changes)
    return copy


def _plain_fields(kind: type) -> frozenset[str]:
    params = getattr(kind, "__dataclass_params__", None)
    plain = (
        params is not None
        and params.frozen
        and not hasattr(kind, "__post_init__")
        and not hasattr(kind, "__slots__")
        and all(f.init for f in dataclasses.fields(kind))
    )
    if not plain:
        raise TypeError(f"{kind.__name__} is not a plain frozen dataclass")
    return frozenset(f.name for f in dataclasses.fields(kind))

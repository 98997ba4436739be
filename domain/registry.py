"""Which aggregate type each command acts on, and the rules of each aggregate type."""

from domain import identity
from domain.aggregate import AggregateRules

AGGREGATES: dict[str, AggregateRules] = {
    "user": identity.RULES,
}

COMMAND_AGGREGATE: dict[str, str] = {
    "RegisterUser": "user",
    "RecordLogin": "user",
    "ChangeDisplayName": "user",
}


def aggregate_type(aggregate_id: str) -> str:
    return aggregate_id.partition(":")[0]

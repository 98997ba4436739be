"""Fault injection for the fault suite: make a command's handler fail on purpose.

`SLUICE_FAULTS="ChangeDisplayName=transient:2,RecordLogin=always"` makes the first two attempts
of every ChangeDisplayName fail with a TransientError, and every RecordLogin fail. Empty (the
default) injects nothing.
"""

from dataclasses import dataclass

from domain.errors import TransientError
from events.envelope import Envelope


@dataclass(frozen=True)
class Fault:
    failing_attempts: int | None  # None: every attempt fails


def parse(spec: str) -> dict[str, Fault]:
    faults: dict[str, Fault] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        command, _, rule = item.partition("=")
        if rule == "always":
            faults[command] = Fault(None)
        elif rule.startswith("transient:") and rule.removeprefix("transient:").isdigit():
            faults[command] = Fault(int(rule.removeprefix("transient:")))
        else:
            raise ValueError(f"SLUICE_FAULTS: cannot read {item!r}")
    return faults


def inject(faults: dict[str, Fault], envelope: Envelope) -> None:
    fault = faults.get(envelope.command)
    if fault is None:
        return
    if fault.failing_attempts is None or envelope.attempts < fault.failing_attempts:
        raise TransientError(f"injected fault on attempt {envelope.attempts + 1}")

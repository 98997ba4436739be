"""One dead-letter entry as stored, and as operators see it: summary or detail, secrets hidden."""

from dataclasses import dataclass
from typing import Any

import msgspec

from events.codec import envelope_decoder
from events.envelope import AttemptError, Envelope, ErrorInfo
from infra.redaction import redact, redact_text
from infra.streams import parse_id

_errors_decoder = msgspec.json.Decoder(list[AttemptError])
_error_decoder = msgspec.json.Decoder(ErrorInfo)
MAX_RAW_SHOWN = 4000


@dataclass(frozen=True)
class DeadLetter:
    """A line of the list."""

    id: str
    partition: int
    command_id: str | None
    command: str | None
    attempts: int
    error: ErrorInfo
    at: int  # epoch ms, when it was dead-lettered
    source: str  # its entry id on the command stream

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "partition": self.partition,
            "command_id": self.command_id,
            "command": self.command,
            "attempts": self.attempts,
            "error": {"code": self.error.code, "message": self.error.message},
            "at": self.at,
            "source": self.source,
        }


@dataclass(frozen=True)
class DeadLetterDetail:
    summary: DeadLetter
    status: str | None  # the command's status now (None: unknown, or expired)
    envelope: dict[str, Any] | None  # as appended, secret-named fields redacted
    raw: str | None  # the entry as text when it is not a JSON object, redacted
    errors: list[AttemptError]  # every failed attempt, oldest first
    redrivable: bool

    def to_json(self) -> dict[str, Any]:
        return {
            **self.summary.to_json(),
            "status": self.status,
            "redrivable": self.redrivable,
            "envelope": self.envelope,
            "raw": self.raw,
            "errors": msgspec.to_builtins(self.errors),
        }


@dataclass(frozen=True)
class Stored:
    """A dead-letter entry read back: see `infra/scripts/dead_letter.lua` for its fields."""

    partition: int
    entry_id: str
    command_id: str | None
    raw: bytes
    envelope: Envelope | None  # None: a poison entry, not a command this code can read
    error: ErrorInfo
    errors: list[AttemptError]
    attempts: int
    source: str
    at: int

    @property
    def id(self) -> str:
        return f"{self.partition}-{self.entry_id}"

    @property
    def redrivable(self) -> bool:
        """A command this code can read, in the partition it was routed to (the redrive script
        touches that partition's keys only)."""
        return self.envelope is not None and self.envelope.partition == self.partition

    def summary(self) -> DeadLetter:
        return DeadLetter(
            id=self.id,
            partition=self.partition,
            command_id=self.command_id,
            command=self.envelope.command if self.envelope else peek(self.raw).get("command"),
            attempts=self.attempts,
            error=ErrorInfo(code=self.error.code, message=redact_text(self.error.message)),
            at=self.at,
            source=self.source,
        )

    def detail(self, status: str | None) -> DeadLetterDetail:
        try:
            decoded: Any = msgspec.json.decode(self.raw)
        except msgspec.DecodeError:
            decoded = None
        shown = redact(decoded) if isinstance(decoded, dict) else None
        raw = None
        if shown is None:
            raw = redact_text(self.raw[:MAX_RAW_SHOWN].decode(errors="replace"))
        return DeadLetterDetail(
            summary=self.summary(),
            status=status,
            envelope=shown,
            raw=raw,
            errors=[
                msgspec.structs.replace(error, message=redact_text(error.message))
                for error in self.errors
            ],
            redrivable=self.redrivable,
        )


def parse_entry(partition: int, entry_id: bytes | str, fields: dict[bytes, bytes]) -> Stored:
    """Tolerant: a field that cannot be read shows as empty rather than hiding the entry."""
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    raw = fields.get(b"entry", b"")
    try:
        envelope: Envelope | None = envelope_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        envelope = None
    command_id = fields.get(b"command_id", b"").decode(errors="replace") or (
        envelope.command_id if envelope else None
    )
    return Stored(
        partition=partition,
        entry_id=entry_id,
        command_id=command_id,
        raw=raw,
        envelope=envelope,
        error=_decode(_error_decoder, fields.get(b"error"), ErrorInfo(code="unknown", message="")),
        errors=_decode(_errors_decoder, fields.get(b"errors"), []),
        attempts=_int(fields.get(b"attempts"), 0),
        source=fields.get(b"source", b"").decode(errors="replace"),
        at=_int(fields.get(b"at"), parse_id(entry_id)[0]),
    )


def _decode(decoder: "msgspec.json.Decoder[Any]", raw: bytes | None, default: Any) -> Any:
    if raw is None:
        return default
    try:
        return decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return default


def _int(raw: bytes | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def peek(raw: bytes) -> dict[str, str]:
    """The string fields of an entry that is JSON but not an envelope, e.g. its command name."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)}

"""Log set-up, once per process: JSON lines (or readable text) on stderr, with context, no secrets.

Every process calls `configure("<name>")` at start. One handler on the root logger formats every
record, Sluice's own and those of uvicorn and arq, which are re-routed to it:

- JSON lines (`orjson`) when stderr is not a terminal, or with `SLUICE_LOG_FORMAT=json`;
- `time level logger: message key=value ...` on a terminal, or with `SLUICE_LOG_FORMAT=text`.

Context fields (`command_id`, `correlation_id`, `partition`, `consumer`, `group`) come from
`context(...)`, a contextvar the stream consumers set around their work, and from `extra=` at
a call site (which wins). Secret-named fields, secret-named keys of `args` dicts, credentials in
URLs and `password=...`-like text are redacted before a record is formatted.
"""

import logging
import os
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import orjson

from infra.redaction import REDACTED, redact_text

CONTEXT_FIELDS = ("command_id", "correlation_id", "partition", "consumer", "group")
FORMATS = ("json", "text")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Loggers that set up handlers of their own (uvicorn before the app factory runs): re-routed.
ROUTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "arq")

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: ContextVar[Mapping[str, Any]] = ContextVar("sluice_log_context", default=_EMPTY)

# Attributes every LogRecord has: anything else on a record came from `extra=` or a filter.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's colourised copy of the message
}
_SECRET_FIELD = re.compile(
    r"password|passwd|hash|secret|token|authorization|cookie|session|api_?key|credential",
    re.IGNORECASE,
)
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
_HEADER_IN_TEXT = re.compile(
    r"(?P<key>\b(?:authorization|cookie|set-cookie|x-api-key)\b[\"']?\s*[:=]\s*)"
    r"(?P<value>\"[^\"]*\"?|'[^']*'?|(?:bearer|basic)\s+\S+|[^\s,;]+)",
    re.IGNORECASE,
)


@contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Adds `fields` (None values are left out) to every record logged inside the block."""
    known = {key: value for key, value in fields.items() if value is not None}
    token = _context.set({**_context.get(), **known})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, Any]:
    return _context.get()


def is_secret_field(name: str) -> bool:
    return bool(_SECRET_FIELD.search(name))


def redact_log_text(text: str) -> str:
    """Free text with credentials in URLs, auth headers and `secret=...` values hidden."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{REDACTED}@", text)
    text = _HEADER_IN_TEXT.sub(lambda m: f"{m['key']}{REDACTED}", text)
    return redact_text(text)


def redact_fields(value: Any) -> Any:
    """A copy of a mapping (at any depth) with the value of every secret-named key hidden."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and is_secret_field(key) else redact_fields(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_fields(item) for item in value]
    if isinstance(value, str):
        return redact_log_text(value)
    return value


class ContextFilter(logging.Filter):
    """Copies the current context onto the record; a field given with `extra=` is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class RedactSecrets(logging.Filter):
    """The backstop: whatever a call site passed, no secret-looking value reaches the output."""

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):
            record.args = redact_fields(record.args)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: left for the handler to report
            return True
        record.msg, record.args = redact_log_text(message), None
        for key in extra_fields(record):
            value = record.__dict__[key]
            record.__dict__[key] = REDACTED if is_secret_field(key) else redact_fields(value)
        if record.exc_info:  # formatted afresh: another handler may have cached it unredacted
            record.exc_text = redact_log_text(self._exceptions.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_log_text(record.stack_info)
        return True


def extra_fields(record: logging.LogRecord) -> list[str]:
    """Names of the record's context and `extra=` fields, context fields first."""
    names = [key for key in record.__dict__ if key not in _STANDARD]
    return sorted(names, key=lambda k: CONTEXT_FIELDS.index(k) if k in CONTEXT_FIELDS else 99)


def _exception_text(record: logging.LogRecord) -> str | None:
    text = record.exc_text
    if record.exc_info and not text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    if record.stack_info:
        text = f"{text}\n{record.stack_info}" if text else record.stack_info
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, process, msg, context, extras, exception."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "process": self.process,
            "msg": record.getMessage(),
        }
        for key in extra_fields(record):
            if record.__dict__[key] is not None:
                line.setdefault(key, record.__dict__[key])
        exception = _exception_text(record)
        if exception:
            line["exception"] = exception
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """`HH:MM:SS.mmm LEVEL logger: message key=value ...` in UTC, the traceback below it."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        pairs = "".join(
            f" {key}={_text_value(record.__dict__[key])}"
            for key in extra_fields(record)
            if record.__dict__[key] is not None
        )
        line = f"{at} {record.levelname:<7} {record.name}: {record.getMessage()}{pairs}"
        exception = _exception_text(record)
        return f"{line}\n{exception}" if exception else line


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text if text and not re.search(r"[\s=\"']", text) else orjson.dumps(text).decode()


class StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (a test runner may swap it)."""

    terminator = "\n"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            stream.write(self.format(record) + self.terminator)
            stream.flush()
        except Exception:
            self.handleError(record)


def log_format(env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """`json` or `text`, and a complaint about a value of SLUICE_LOG_FORMAT that was ignored."""
    wanted = (env if env is not None else os.environ).get("SLUICE_LOG_FORMAT", "").lower()
    if wanted in FORMATS:
        return wanted, None
    detected = "text" if sys.stderr.isatty() else "json"
    if wanted:
        return detected, f"SLUICE_LOG_FORMAT must be json or text, got {wanted!r}; using {detected}"
    return detected, None


def log_level(default: str, env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """SLUICE_LOG_LEVEL (or `default`), and a complaint about an unknown level that was ignored."""
    wanted = (env if env is not None else os.environ).get("SLUICE_LOG_LEVEL", "").upper()
    if wanted in LEVELS:
        return wanted, None
    if wanted:
        return default, f"SLUICE_LOG_LEVEL must be one of {', '.join(LEVELS)}; using {default}"
    return default, None


def configure(process: str, *, default_level: str = "INFO") -> logging.Handler:
    """Routes every logger of this process through one stderr handler. Safe to call again.

    arq logs two lines per job it runs: it is kept at WARNING unless SLUICE_LOG_LEVEL=DEBUG,
    so that retries and deferred follow-ups do not log once per command.
    """
    fmt, format_complaint = log_format()
    level, level_complaint = log_level(default_level)
    handler = StderrHandler()
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else TextFormatter())

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # third-party libraries: warnings and errors only
    logging.captureWarnings(True)  # Python's warnings too, as records rather than raw text
    for name in ("sluice", *ROUTED_LOGGERS):
        logger = logging.getLogger(name)
        if name != "sluice" and not logger.handlers and not logger.propagate:
            continue  # switched off on purpose, e.g. uvicorn's access log by --no-access-log
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("sluice").setLevel(level)
    logging.getLogger("arq").setLevel("DEBUG" if level == "DEBUG" else "WARNING")

    log = logging.getLogger("sluice.logs")
    for complaint in (format_complaint, level_complaint):
        if complaint:
            log.warning(complaint)
    return handler

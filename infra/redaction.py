"""Hides secret-looking values (passwords, hashes, secrets, tokens) in what operators see."""

import re
from typing import Any

REDACTED = "[redacted]"

_SECRET_NAME = re.compile(r"password|hash|secret|token", re.IGNORECASE)

# A secret-named key in text that is not (or no longer) parseable: JSON `"password_hash": "…"`,
# a repr's `password_hash='…'`, or `token=abc`. The value may be cut off (a truncated entry).
_SECRET_IN_TEXT = re.compile(
    r"""(?P<key>["']?[\w.-]*(?:password|hash|secret|token)[\w.-]*["']?\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^\s,;)}\]]+)""",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact(value: Any) -> Any:
    """A copy of decoded JSON with the value of every secret-named key, at any depth, hidden."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and is_secret_name(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def redact_text(text: str) -> str:
    """The same for free text: undecodable entries and error messages may quote a payload."""
    return _SECRET_IN_TEXT.sub(lambda m: f"{m['key']}{_quoted(m['value'])}", text)


def _quoted(value: str) -> str:
    quote = value[:1] if value[:1] in ("'", '"') else ""
    return f"{quote}{REDACTED}{quote}"

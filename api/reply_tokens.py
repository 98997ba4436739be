"""Relay connections' `reply_to` tokens: the relay makes one per connection, the gateway checks
that a command names one.

The gateway cannot know whether a relay connection is open (it may be on any relay process, or
gone by the time the result is ready), but it can refuse what no relay ever made: a placeholder
copied from a document, a truncated copy, an id of something else. Such a command would be
accepted and its result delivered to no one.
"""

import re
import secrets
from typing import Any, TypeGuard

REPLY_TO_BYTES = 32
# What `secrets.token_urlsafe(REPLY_TO_BYTES)` always produces: 43 URL-safe Base64 characters.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_reply_to() -> str:
    return secrets.token_urlsafe(REPLY_TO_BYTES)


def is_reply_to(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and _SHAPE.fullmatch(value) is not None

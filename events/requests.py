"""What clients may put in a request body, per command and per auth route.

Requests reject unknown fields and bound every string; the gateway turns a request into the
stored command (hashing secrets, choosing ids) before anything is appended.
"""

from typing import Annotated

import msgspec

from events.types import DisplayName, Email, Password


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every client payload."""


class RegisterUserRequest(Request, frozen=True, kw_only=True):
    email: Email
    password: Password
    display_name: DisplayName | None = None


class ChangeDisplayNameRequest(Request, frozen=True, kw_only=True):
    display_name: DisplayName


class LoginRequest(Request, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]

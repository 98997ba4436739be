"""Bounded scalar types reused by the contracts."""

from typing import Annotated

from msgspec import Meta

Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, Meta(min_length=10, max_length=1024)]
DisplayName = Annotated[str, Meta(min_length=1, max_length=100)]
Identifier = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Role = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z_]+(:[A-Za-z0-9_.-]+)?$")]

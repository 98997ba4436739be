"""A person's display name as a given name and a family name, split and joined losslessly.

The split is at the first space (U+0020) only, and nothing is trimmed, so that joining the two
parts gives back the very string that was split: "Ada" is ("Ada", None), "Ada King Lovelace" is
("Ada", "King Lovelace"), " Ada" is ("", "Ada") and "Ada " is ("Ada", "").
"""

SEPARATOR = " "


def split_display_name(display_name: str) -> tuple[str, str | None]:
    """(given name, family name); the family name is None when the name has no space."""
    given_name, separator, family_name = display_name.partition(SEPARATOR)
    return given_name, family_name if separator else None


def join_display_name(given_name: str, family_name: str | None) -> str:
    """The display name the two parts were split from."""
    return given_name if family_name is None else f"{given_name}{SEPARATOR}{family_name}"

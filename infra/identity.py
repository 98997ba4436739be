"""Turning a registration into the stored command: normalised email, co-located user id."""

from events.commands import RegisterUser
from infra.ids import user_id_for_email

ADMIN_ROLES = frozenset({"admin", "super_admin"})


def normalise_email(email: str) -> str:
    return email.strip().lower()


def registration(
    *,
    email: str,
    password_hash: str,
    display_name: str | None,
    partitions: int,
    roles: tuple[str, ...] = ("customer",),
    seed: str | None = None,
) -> tuple[RegisterUser, str]:
    """The command and the aggregate id it acts on."""
    email = normalise_email(email)
    user_id = user_id_for_email(email, partitions, seed)
    command = RegisterUser(
        user_id=user_id,
        email=email,
        display_name=display_name or email.split("@", 1)[0][:100],
        password_hash=password_hash,
        roles=roles,
    )
    return command, f"user:{user_id}"

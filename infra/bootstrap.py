"""The first admin: registered once from SLUICE_ADMIN_EMAIL/PASSWORD, by any number of processes."""

import logging

from redis.asyncio import Redis

from infra import keys
from infra.command_log import envelope_for, submit
from infra.identity import normalise_email, registration
from infra.passwords import Passwords
from infra.settings import Settings

log = logging.getLogger("sluice.bootstrap")


async def ensure_first_admin(redis: "Redis", settings: Settings, passwords: Passwords) -> bool:
    """Submits the admin's registration unless the email is taken. True when submitted.

    The user id and command id derive from the email, so every process submits the same
    command and the command log keeps one: the admin is registered exactly once.
    """
    if not settings.admin_email or not settings.admin_password:
        return False
    email = normalise_email(settings.admin_email)
    if await redis.exists(keys.user_by_email(email)):
        return False
    command, aggregate_id = registration(
        email=email,
        password_hash=await passwords.hash(settings.admin_password),
        display_name="Administrator",
        partitions=settings.partitions,
        roles=("super_admin",),
        seed=f"bootstrap-admin:{email}",
    )
    envelope = envelope_for(
        settings=settings,
        command=command,
        aggregate_id=aggregate_id,
        command_id=command.user_id,
    )
    appended = await submit(redis, settings, envelope)
    if appended:
        log.info("submitted the registration of the first admin %s", email)
    return appended

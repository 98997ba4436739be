"""The first admin is registered once, however many processes start at once."""

import asyncio
from dataclasses import replace

from redis.asyncio import Redis

from infra import keys
from infra.bootstrap import ensure_first_admin
from infra.passwords import Passwords
from infra.settings import Settings


async def test_many_processes_starting_at_once_submit_one_admin_registration(
    redis: Redis, settings: Settings
) -> None:
    settings = replace(settings, admin_email="Root@Example.com", admin_password="long enough pw")
    passwords = Passwords()
    appended = await asyncio.gather(
        *(ensure_first_admin(redis, settings, passwords) for _ in range(5))
    )
    assert appended.count(True) == 1
    entries = [
        entry
        for partition in range(settings.partitions)
        for entry in await redis.xrange(keys.commands(partition))
    ]
    assert len(entries) == 1
    envelope = entries[0][1][b"e"]
    assert b"root@example.com" in envelope
    assert b"super_admin" in envelope
    assert b"long enough pw" not in envelope


async def test_without_both_settings_no_admin_is_registered(
    redis: Redis, settings: Settings
) -> None:
    settings = replace(settings, admin_email="root@example.com", admin_password="")
    assert not await ensure_first_admin(redis, settings, Passwords())
    assert await redis.dbsize() == 0

"""Each API process keeps the callers it read for `SLUICE_SESSION_CACHE_MS` (a minute in this
stack, longer than any wait here): a logout or a role change made through another process still
takes effect in this one, as soon as it reads the revocations stream."""

import uuid

import httpx

from tests.e2e.commerce import (
    Actor,
    admin_actor,
    eventually,
    new_actor,
    recorder,
    send,
    succeeded,
)
from tests.e2e.processes import Stack


async def admin_status(admin: httpx.AsyncClient, actor: Actor) -> int:
    """401 for an unknown session, 403 for a user, 404 for an admin (no such command)."""
    response = await admin.get(f"/commands/{uuid.uuid4()}", headers=actor.auth)
    return response.status_code


async def test_a_logout_through_web_is_refused_by_admin_which_kept_the_session(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    assert await admin_status(admin, root) == 404  # admin keeps the caller from here on

    assert (await web.post("/auth/logout", headers=root.auth)).status_code == 200

    async def refused() -> int | None:
        return 401 if await admin_status(admin, root) == 401 else None

    assert await eventually(refused) == 401
    assert (await web.get("/users/me", headers=root.auth)).status_code == 401  # at once


async def test_a_role_granted_through_admin_is_held_by_every_process_that_kept_the_user(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    user = await new_actor(web, stack, "promoted")
    assert await admin_status(admin, user) == 403  # admin keeps the user, without the role

    async with recorder(stack, root) as as_root:
        granted = await send(admin, root, "AssignRole", {"user_id": user.user_id, "role": "admin"})
        await succeeded(as_root, granted)

    async def admitted() -> int | None:
        return 404 if await admin_status(admin, user) == 404 else None

    assert await eventually(admitted) == 404

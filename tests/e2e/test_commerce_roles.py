"""Roles end to end: moderators invited to a brand, and role commands on the admin API."""

import uuid
from typing import Any

import httpx

from tests.e2e.commerce import (
    Actor,
    admin_actor,
    eventually,
    get_json,
    new_actor,
    new_sku,
    recorder,
    send,
    succeeded,
)
from tests.e2e.processes import Stack


def product_of(brand_id: str) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "name": "Chair",
        "price": {"amount": 9900, "currency": "EUR"},
        "variants": [{"sku": new_sku(), "name": "Oak"}],
    }


async def new_brand(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack, root: Actor
) -> str:
    async with recorder(stack, root) as watching:
        response = await send(admin, root, "CreateBrand", {"name": f"B {uuid.uuid4().hex[:8]}"})
        await succeeded(watching, response)
    brand_id: str = response.json()["brand_id"]
    await eventually(lambda: get_json(web, f"/brands/{brand_id}"))
    return brand_id


async def roles_of(web: httpx.AsyncClient, actor: Actor, role: str) -> Any:
    body = await get_json(web, "/users/me", actor)
    return body if body and role in body["user"]["roles"] else None


async def test_an_invited_user_accepts_and_moderates_their_brand_only(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    brand_id = await new_brand(web, admin, stack, root)
    other_brand = await new_brand(web, admin, stack, root)
    invitee = await new_actor(web, stack, "moderator")

    refused = await send(web, invitee, "CreateProduct", product_of(brand_id))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    async with recorder(stack, invitee) as socket:
        assert (await socket.subscribe(f"user:{invitee.user_id}"))["type"] == "subscribed"
        invite = {"brand_id": brand_id, "invitee_user_id": invitee.user_id}
        async with recorder(stack, root) as as_admin:
            await succeeded(as_admin, await send(admin, root, "InviteModerator", invite))
        await socket.expect(lambda f: f.get("event") == "ModeratorInvited")

        async def invited() -> Any:
            body = await get_json(web, "/notifications", invitee)
            kinds = [n["kind"] for n in body["notifications"]] if body else []
            return body if "moderator_invited" in kinds else None

        assert (await eventually(invited))["notifications"][0]["brand_id"] == brand_id
        accept = await send(web, invitee, "AcceptModeratorInvite", {"brand_id": brand_id})
        await succeeded(socket, accept)
        role = f"brand_moderator:{brand_id}"
        # The reactor grants the role; the user's topic shows it.
        await socket.expect(lambda f: f.get("event") == "RoleAssigned")
        await eventually(lambda: roles_of(web, invitee, role))

        own = await send(web, invitee, "CreateProduct", product_of(brand_id))
        await succeeded(socket, own)
        elsewhere = await send(web, invitee, "CreateProduct", product_of(other_brand))
        outcome = await socket.result_of(elsewhere)
    assert (outcome["status"], outcome["error"]["code"]) == ("rejected", "forbidden")
    product_id = own.json()["product_id"]
    # A moderator sees their unpublished product; a shopper does not.
    assert (await web.get(f"/products/{product_id}", headers=invitee.auth)).status_code == 200
    assert (await web.get(f"/products/{product_id}")).status_code == 404


async def test_super_admin_is_granted_and_revoked_on_its_own_singleton(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    user = await new_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        for command in ("AssignRole", "RevokeRole"):
            payload = {"user_id": user.user_id, "role": "super_admin"}
            result = await succeeded(as_admin, await send(admin, root, command, payload))
            [event] = result["events"]
            assert event["data"] == payload
        unknown = await send(admin, root, "AssignRole", {"user_id": user.user_id, "role": "chef"})
    error = unknown.json()["error"]
    assert (unknown.status_code, error["code"], error["path"]) == (
        422,
        "invalid_payload",
        "$.payload.role",
    )
    on_public = await send(web, root, "AssignRole", {"user_id": user.user_id, "role": "courier"})
    assert on_public.json()["error"]["code"] == "unknown_command"


async def test_nobody_revokes_the_last_super_admin(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    root = await admin_actor(web, stack)
    async with recorder(stack, root) as as_admin:
        response = await send(
            admin, root, "RevokeRole", {"user_id": root.user_id, "role": "super_admin"}
        )
        result = await as_admin.result_of(response)
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "last_super_admin"
    me = await web.get("/users/me", headers={"authorization": f"Bearer {root.token}"})
    assert "super_admin" in me.json()["user"]["roles"]

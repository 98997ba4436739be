"""Registration, login, sessions and the user's own view, end to end."""

import asyncio

import httpx
import pytest
from redis.asyncio import Redis

from tests.e2e.client import listen, login, register, unique_email, wait_projected
from tests.e2e.processes import Stack

PASSWORD = "a long enough password"


async def registered(web: httpx.AsyncClient, stack: Stack, email: str) -> str:
    async with listen(stack.relay) as listener:
        response = await register(web, email, PASSWORD, reply_to=listener.reply_to)
        assert response.status_code == 202
        result = await listener.result_of(response.json()["command_id"])
    assert result["status"] == "succeeded", result
    return await wait_projected(stack, email)


async def test_registering_sends_the_result_to_the_reply_to_connection(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    async with listen(stack.relay) as listener:
        response = await register(web, email, reply_to=listener.reply_to)
        command_id = response.json()["command_id"]
        result = await listener.result_of(command_id)
    assert result["status"] == "succeeded"
    assert [e["event"] for e in result["events"]] == ["UserRegistered"]
    registered_data = result["events"][0]["data"]
    assert registered_data["email"] == email
    assert registered_data["roles"] == ["customer"]
    assert "password" not in str(result) and "argon2" not in str(result)
    status = (await web.get(f"/commands/{command_id}")).json()
    assert status["status"] == "succeeded"
    assert [e["event"] for e in status["events"]] == ["UserRegistered"]


async def test_an_email_is_normalised_and_a_second_registration_is_rejected_as_taken(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    await registered(web, stack, email)
    async with listen(stack.relay) as listener:
        response = await register(web, email.upper(), reply_to=listener.reply_to)
        result = await listener.result_of(response.json()["command_id"])
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "email_taken"
    assert "events" not in result or result["events"] == []


async def test_of_concurrent_registrations_of_one_email_exactly_one_succeeds(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email("race")
    async with listen(stack.relay) as listener:
        responses = await asyncio.gather(
            *(register(web, email, reply_to=listener.reply_to) for _ in range(12))
        )
        assert all(r.status_code == 202 for r in responses)
        ids = {r.json()["command_id"] for r in responses}
        outcomes: dict[str, str] = {}
        while len(outcomes) < len(ids):
            frame = await listener.receive()
            if frame["type"] == "result" and frame["command_id"] in ids:
                outcomes[frame["command_id"]] = (frame.get("error") or {}).get(
                    "code", frame["status"]
                )
    assert sorted(outcomes.values()) == ["email_taken"] * 11 + ["succeeded"]


async def test_login_gives_a_session_that_shows_the_user(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    user_id = await registered(web, stack, email)
    session = await login(web, email.upper(), PASSWORD)
    assert session["user_id"] == user_id
    assert len(session["token"]) >= 43  # 256 bits, URL-safe base64
    me = await web.get("/users/me", headers={"authorization": f"Bearer {session['token']}"})
    assert me.status_code == 200
    assert me.json()["user"] == {
        "user_id": user_id,
        "email": email,
        "display_name": email.split("@")[0],
        "roles": ["customer"],
    }


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    await registered(web, stack, email)
    wrong = await web.post("/auth/login", json={"email": email, "password": "not the password"})
    unknown = await web.post(
        "/auth/login", json={"email": unique_email(), "password": "not the password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"email": "ada@example.com"}, "$.password"),
        ({"email": "ada@example.com", "password": 12}, "$.password"),
        ({"email": ["ada@example.com"], "password": "a password"}, "$.email"),
        (["ada@example.com", "a password"], "$"),
    ],
    ids=["missing-field", "wrong-type", "nested-wrong-type", "not-an-object"],
)
async def test_a_login_that_fails_its_schema_names_the_field(
    web: httpx.AsyncClient, body: object, path: str
) -> None:
    response = await web.post("/auth/login", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["path"]) == ("invalid_payload", path)
    assert " - at " not in error["message"]  # the path is in its own field


async def test_repeated_wrong_passwords_lock_the_account_for_a_while(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    await registered(web, stack, email)
    codes = [
        (await web.post("/auth/login", json={"email": email, "password": "wrong password"}))
        for _ in range(11)
    ]
    assert [c.status_code for c in codes[:10]] == [401] * 10
    assert codes[10].status_code == 429
    assert int(codes[10].headers["retry-after"]) > 0
    right = await web.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert right.status_code == 429


async def test_a_login_is_recorded_as_an_event(web: httpx.AsyncClient, stack: Stack) -> None:
    email = unique_email()
    user_id = await registered(web, stack, email)
    await login(web, email, PASSWORD)
    client = Redis.from_url(stack.redis_url)
    try:
        async with asyncio.timeout(10):
            while True:
                history = await history_of(client, user_id)
                if any(b'"UserLoggedIn"' in entry for entry in history):
                    break
                await asyncio.sleep(0.02)  # the login's command settles asynchronously
    finally:
        await client.aclose()


async def test_after_logout_the_token_stops_working_everywhere(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    await registered(web, stack, email)
    session = await login(web, email, PASSWORD)
    auth = {"authorization": f"Bearer {session['token']}"}
    async with listen(stack.relay) as listener:
        assert (await listener.authenticate(session["token"]))["type"] == "authenticated"
        assert (await web.post("/auth/logout", headers=auth)).status_code == 200
        revoked = await listener.receive()
        assert revoked == {"type": "error", "code": "unauthenticated"}
        assert (await listener.authenticate(session["token"]))["code"] == "unauthenticated"
    me = await web.get("/users/me", headers=auth)
    assert me.status_code == 401
    assert (await web.post("/auth/logout", headers=auth)).status_code == 401


async def test_no_clear_password_is_stored_anywhere(web: httpx.AsyncClient, stack: Stack) -> None:
    password = "a very distinctive password 9f3b"
    email = unique_email()
    async with listen(stack.relay) as listener:
        response = await register(web, email, password, reply_to=listener.reply_to)
        await listener.result_of(response.json()["command_id"])
    await wait_projected(stack, email)
    await login(web, email, password)
    client = Redis.from_url(stack.redis_url)
    try:
        dump = b""
        async for key in client.scan_iter(count=1000):
            kind = (await client.type(key)).decode()
            if kind == "stream":
                dump += repr(await client.xrange(key)).encode()
            elif kind == "list":
                dump += b"".join(await client.lrange(key, 0, -1))
            elif kind == "hash":
                dump += repr(await client.hgetall(key)).encode()
            elif kind == "string":
                dump += await client.get(key) or b""
    finally:
        await client.aclose()
    assert email.encode() in dump  # the scan did see this user's data
    assert password.encode() not in dump
    for process in stack.processes:
        assert password not in process.output()


async def history_of(client: Redis, user_id: str) -> list[bytes]:
    for partition in range(4):
        entries: list[bytes] = await client.lrange(
            f"sluice:{{p{partition}}}:agg:user:{user_id}", 0, -1
        )
        if entries:
            return entries
    return []


async def test_a_signed_in_user_changes_their_display_name_and_sees_it(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    user_id = await registered(web, stack, email)
    session = await login(web, email, PASSWORD)
    auth = {"authorization": f"Bearer {session['token']}"}
    async with listen(stack.relay) as listener:
        assert (await listener.authenticate(session["token"]))["type"] == "authenticated"
        response = await web.post(
            "/command",
            json={"command": "ChangeDisplayName", "payload": {"display_name": "Ada Lovelace"}},
            headers=auth,
        )
        assert response.status_code == 202
        result = await listener.result_of(response.json()["command_id"])
    assert result["events"] == [
        {
            "event": "DisplayNameChanged",
            "data": {"user_id": user_id, "display_name": "Ada Lovelace"},
        }
    ]
    async with asyncio.timeout(10):
        while True:
            me = (await web.get("/users/me", headers=auth)).json()["user"]
            if me["display_name"] == "Ada Lovelace":
                break
            await asyncio.sleep(0.02)  # the projector follows the log


async def test_changing_a_display_name_needs_a_session(web: httpx.AsyncClient) -> None:
    response = await web.post(
        "/command", json={"command": "ChangeDisplayName", "payload": {"display_name": "Eve"}}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"

"""Every row of the contract's POST /command table, over real HTTP against real processes."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from infra.embedded_redis import free_port
from infra.keys import partition_of_aggregate
from tests.e2e.client import (
    login,
    login_when_projected,
    register,
    registered_and_settled,
    unique_email,
)
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, start_http
from tests.e2e.processes import Stack, base_env
from tests.redis_servers import fill, own_server


async def command_entries(stack: Stack) -> int:
    client = Redis.from_url(stack.redis_url)
    try:
        lengths = [await client.xlen(f"sluice:{{p{p}}}:commands") for p in range(4)]
    finally:
        await client.aclose()
    return sum(lengths)


async def test_a_valid_command_is_accepted_with_its_id(web: httpx.AsyncClient) -> None:
    response = await register(web, unique_email())
    assert response.status_code == 202
    body = response.json()
    assert body["ok"] is True and body["status"] == "accepted"
    assert uuid.UUID(body["command_id"])


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'{"payload": {}}', b'{"command": 7}', b""],
    ids=["broken", "array", "no-command", "command-not-a-string", "empty"],
)
async def test_a_body_that_is_not_a_command_object_is_malformed(
    web: httpx.AsyncClient, stack: Stack, content: bytes
) -> None:
    before = await command_entries(stack)
    response = await web.post(
        "/command", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert await command_entries(stack) == before


async def test_an_unknown_command_lists_the_known_ones(web: httpx.AsyncClient) -> None:
    response = await web.post("/command", json={"command": "LaunchRocket", "payload": {}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_command"
    assert "RegisterUser" in error["known"]


async def test_an_invalid_session_token_is_unauthenticated(web: httpx.AsyncClient) -> None:
    response = await web.post(
        "/command",
        json={"command": "RegisterUser", "payload": {}},
        headers={"authorization": "Bearer not-a-real-token"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_the_admin_api_needs_a_session(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/command", json={"command": "RegisterUser", "payload": {}})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_a_customer_is_forbidden_on_the_admin_api(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    await registered_and_settled(web, stack, email)
    session = await login(web, email, "a long enough password")
    response = await admin.post(
        "/command",
        json={
            "command": "RegisterUser",
            "payload": {"email": unique_email(), "password": "x" * 12},
        },
        headers={"authorization": f"Bearer {session['token']}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_the_first_admin_may_send_commands_on_the_admin_api(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    session = await login_when_projected(web, stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    me = await web.get("/users/me", headers={"authorization": f"Bearer {session['token']}"})
    assert me.json()["user"]["roles"] == ["super_admin"]
    response = await admin.post(
        "/command",
        json={
            "command": "RegisterUser",
            "payload": {"email": unique_email(), "password": "x" * 12},
        },
        headers={"authorization": f"Bearer {session['token']}"},
    )
    assert response.status_code == 202


async def test_reusing_an_idempotency_key_with_another_body_conflicts(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    key = {"idempotency-key": f"key-{uuid.uuid4()}"}
    first = await web.post("/command", json=registration(unique_email()), headers=key)
    assert first.status_code == 202
    before = await command_entries(stack)
    second = await web.post("/command", json=registration(unique_email()), headers=key)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_conflict"
    assert await command_entries(stack) == before


async def test_the_same_idempotency_key_and_body_answer_the_first_command_again(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    key = {"idempotency-key": f"key-{uuid.uuid4()}"}
    body = registration(unique_email())
    first = await web.post("/command", json=body, headers=key)
    before = await command_entries(stack)
    again = await web.post("/command", json=body, headers=key)
    assert again.status_code == 202
    assert again.json()["command_id"] == first.json()["command_id"]
    assert await command_entries(stack) == before


async def test_an_idempotency_key_with_invisible_characters_is_refused(
    web: httpx.AsyncClient,
) -> None:
    response = await web.post(
        "/command", json=registration(unique_email()), headers={"idempotency-key": "a b"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


async def test_the_same_command_id_sent_twice_is_one_command(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    command_id = str(uuid.uuid4())
    body = {**registration(unique_email()), "command_id": command_id}
    first = await web.post("/command", json=body)
    before = await command_entries(stack)
    second = await web.post("/command", json=body)
    assert first.json()["command_id"] == second.json()["command_id"] == command_id
    assert await command_entries(stack) == before


async def test_a_command_id_reused_on_another_aggregate_is_still_one_command(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    # Two users whose aggregates live in different partitions: the first command's append
    # marked its id taken in every other partition, the one the second would go to included.
    sessions: dict[int, dict[str, Any]] = {}
    while len(sessions) < 2:
        email = unique_email()
        await registered_and_settled(web, stack, email)
        session = await login(web, email, "a long enough password")
        user_id = session["user_id"]
        sessions.setdefault(partition_of_aggregate(f"user:{user_id}", 4), session)
    command_id = str(uuid.uuid4())
    answers = []
    for session in sessions.values():
        answers.append(
            await web.post(
                "/command",
                json={
                    "command": "ChangeDisplayName",
                    "payload": {"display_name": "twice named"},
                    "command_id": command_id,
                },
                headers={"authorization": f"Bearer {session['token']}"},
            )
        )
        if len(answers) == 1:
            before = await command_entries(stack)
    assert [a.status_code for a in answers] == [202, 202]
    assert {a.json()["command_id"] for a in answers} == {command_id}
    assert await command_entries(stack) == before


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"command": "ChangeDisplayName", "command_id": "' + b"x" * 80 * 1024 + b'"}'],
)
async def test_a_refused_caller_hears_of_that_before_anything_wrong_with_the_body(
    web: httpx.AsyncClient, content: bytes
) -> None:
    response = await web.post(
        "/command",
        content=content,
        headers={"content-type": "application/json", "authorization": "Bearer u-1.not-a-session"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_a_body_over_the_limit_is_refused(web: httpx.AsyncClient) -> None:
    padding = "x" * (70 * 1024)
    response = await web.post(
        "/command",
        content=f'{{"command": "RegisterUser", "payload": {{"pad": "{padding}"}}}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_a_streamed_body_over_the_limit_is_refused_while_reading(
    web: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"command": "RegisterUser", "payload": {"pad": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}}'

    # No Content-Length: the server learns the size only by reading.
    response = await web.post(
        "/command", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_a_body_that_is_not_json_by_media_type_is_refused(web: httpx.AsyncClient) -> None:
    response = await web.post(
        "/command", content=b"command=RegisterUser", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"email": "not-an-email", "password": "long enough pw"}, "$.payload.email"),
        ({"email": "a@example.com", "password": "short"}, "$.payload.password"),
        (
            {"email": "a@example.com", "password": "long enough pw", "admin": True},
            "$.payload.admin",
        ),
        ({"password": "long enough pw"}, "$.payload.email"),
        ({"email": "a@example.com", "password": 12345678901}, "$.payload.password"),
        ({"email": "a@example.com", "password": "p" * 2000}, "$.payload.password"),
    ],
    ids=["bad-email", "short-password", "unknown-field", "missing-field", "wrong-type", "too-long"],
)
async def test_a_payload_that_fails_its_schema_names_the_field(
    web: httpx.AsyncClient, stack: Stack, payload: dict[str, object], path: str
) -> None:
    before = await command_entries(stack)
    response = await web.post("/command", json={"command": "RegisterUser", "payload": payload})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert error["path"] == path
    assert await command_entries(stack) == before


async def test_a_malformed_command_id_is_an_invalid_payload(web: httpx.AsyncClient) -> None:
    response = await web.post("/command", json={**registration(unique_email()), "command_id": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["path"] == "$.command_id"


@pytest.mark.parametrize(
    "reply_to",
    ["Qm9v...", "", "x" * 43 + "=", "a" * 42, 42, ["a" * 43]],
    ids=["placeholder", "empty", "padded", "truncated", "number", "list"],
)
async def test_a_reply_to_no_relay_made_is_refused_and_appends_nothing(
    web: httpx.AsyncClient, stack: Stack, reply_to: Any
) -> None:
    before = await command_entries(stack)
    response = await web.post(
        "/command", json={**registration(unique_email()), "reply_to": reply_to}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["path"]) == ("invalid_payload", "$.reply_to")
    assert "welcome" in error["message"]
    assert await command_entries(stack) == before


async def test_an_unknown_command_status_is_not_found(web: httpx.AsyncClient) -> None:
    response = await web.get(f"/commands/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_an_unknown_route_answers_json_not_html(web: httpx.AsyncClient) -> None:
    response = await web.get("/nope")
    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "error": {"code": "not_found", "message": "Not Found"},
    }


async def test_every_server_answers_health_and_ready(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    relay = stack.relay.replace("ws://", "http://").removesuffix("/ws")
    async with httpx.AsyncClient(base_url=relay) as relay_client:
        for client in (web, admin, relay_client):
            for path in ("/health", "/ready"):
                response = await client.get(path)
                assert response.status_code == 200, (client.base_url, path)
                assert response.json()["ok"] is True


async def test_over_the_rate_limit_a_client_is_told_when_to_retry(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    port = free_port()
    env = {**stack.env, "PORT": str(port), "RATE_LIMIT_PER_MINUTE": "3"}
    process = start_http(
        "web-limited", "api.public:create_app", port, env, tmp_path_factory.mktemp("rl")
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            codes = [(await client.get(f"/commands/{uuid.uuid4()}")).status_code for _ in range(4)]
            limited = await client.get(f"/commands/{uuid.uuid4()}")
            health = await client.get("/health")
    finally:
        assert process.stop()
    assert codes[:3] == [404, 404, 404]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert health.status_code == 200


async def test_under_the_rate_limit_a_signed_in_caller_is_known_from_the_same_read(
    web: httpx.AsyncClient, stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The limit's count and the caller's session are read together: the answers must be those
    # of the session, whether it is valid, unknown or malformed, and the limit still holds.
    email = unique_email()
    await registered_and_settled(web, stack, email)
    session = await login(web, email, "a long enough password")
    port = free_port()
    env = {**stack.env, "PORT": str(port), "RATE_LIMIT_PER_MINUTE": "5"}
    process = start_http(
        "web-limited-auth", "api.public:create_app", port, env, tmp_path_factory.mktemp("rla")
    )
    signed_in = {"authorization": f"Bearer {session['token']}"}
    # From an address of its own: the count is per client IP, and other tests count theirs.
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", transport=transport
        ) as client:
            me = await client.get("/users/me", headers=signed_in)
            renamed = await client.post(
                "/command",
                json={"command": "ChangeDisplayName", "payload": {"display_name": "Limited"}},
                headers=signed_in,
            )
            unknown = await client.get(
                "/users/me", headers={"authorization": f"Bearer {session['user_id']}.nope"}
            )
            malformed = await client.get("/users/me", headers={"authorization": "Bearer"})
            # Over the limit within a window (two at most, should a minute turn meanwhile).
            later = [(await client.get("/users/me", headers=signed_in)).status_code]
            while later[-1] != 429 and len(later) < 11:
                later.append((await client.get("/users/me", headers=signed_in)).status_code)
    finally:
        assert process.stop()
    assert me.status_code == 200 and me.json()["user"]["user_id"] == session["user_id"]
    assert renamed.status_code == 202
    assert unknown.status_code == 401 and malformed.status_code == 401
    assert later[-1] == 429 and set(later[:-1]) <= {200}


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate_limit(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The limit counts per client address as uvicorn reports it: X-Forwarded-For is believed
    from the proxies `FORWARDED_ALLOW_IPS` names, and ignored from anyone else."""
    port = free_port()
    env = {
        **stack.env,
        "PORT": str(port),
        "RATE_LIMIT_PER_MINUTE": "2",
        "FORWARDED_ALLOW_IPS": "127.0.0.3",
    }
    process = start_http(
        "web-proxied", "api.public:create_app", port, env, tmp_path_factory.mktemp("proxy")
    )

    async def codes(local_address: str, forwarded_for: list[str]) -> list[int]:
        transport = httpx.AsyncHTTPTransport(local_address=local_address)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", transport=transport
        ) as client:
            return [
                (
                    await client.get(
                        f"/commands/{uuid.uuid4()}", headers={"x-forwarded-for": address}
                    )
                ).status_code
                for address in forwarded_for
            ]

    try:
        # Six requests against a limit of 2 a minute: even should a minute turn meanwhile,
        # at least two of them are refused.
        proxied = await codes("127.0.0.3", ["203.0.113.1"] * 6 + ["203.0.113.2"])
        direct = await codes("127.0.0.4", [f"203.0.113.{i}" for i in range(10, 16)])
    finally:
        assert process.stop()
    assert proxied[0] == 404 and proxied[:6].count(429) >= 2
    assert proxied[6] == 404  # another client behind the same proxy: a budget of its own
    assert direct[0] == 404 and direct.count(429) >= 2  # its forwarded addresses changed nothing


async def test_with_redis_unreachable_a_command_is_unavailable_not_an_error(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    port = free_port()
    env = base_env(f"redis://127.0.0.1:{free_port()}/0", PORT=str(port))
    process = start_http(
        "web-no-redis", "api.public:create_app", port, env, tmp_path_factory.mktemp("down")
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.post("/command", json=registration(unique_email()))
            ready = await client.get("/ready")
            health = await client.get("/health")
    finally:
        assert process.stop()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert ready.status_code == 503
    assert health.status_code == 200


async def test_with_redis_full_a_command_and_a_login_are_unavailable_not_errors(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Under `noeviction`, a full server refuses writes: the gateway answers 503, as for an
    outage, and never 500."""
    root = tmp_path_factory.mktemp("full")
    server = own_server(root).start()
    port = free_port()
    env = base_env(server.url, PORT=str(port), RATE_LIMIT_PER_MINUTE="0")
    try:
        process = start_http("web-full", "api.public:create_app", port, env, root)
        redis = Redis.from_url(server.url)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                email = unique_email()
                accepted = await client.post("/command", json=registration(email))
                await fill(redis)
                refused = await client.post("/command", json=registration(unique_email()))
                login = await client.post(
                    "/auth/login", json={"email": email, "password": "a long enough password"}
                )
                ready = await client.get("/ready")
        finally:
            await redis.aclose()
            stopped_cleanly = process.stop()
    finally:
        server.stop()
    assert stopped_cleanly
    assert accepted.status_code == 202
    for response in (refused, login):
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "unavailable"
    assert ready.status_code == 200  # it answers: only writes are refused


def registration(email: str) -> dict[str, object]:
    return {
        "command": "RegisterUser",
        "payload": {"email": email, "password": "a long enough password"},
    }

"""The admin API's aggregate history, past states and command traces, against the running stack."""

from typing import Any

import httpx

from tests.e2e.client import register, unique_email, wait_projected
from tests.e2e.processes import Stack
from tests.e2e.test_admin_operations import PASSWORD, admin_session, customer_session


async def registered(web: httpx.AsyncClient, stack: Stack) -> tuple[str, str]:
    """A new user's aggregate id and the id of the command that registered them, settled."""
    email = unique_email("history")
    response = await register(web, email, PASSWORD)
    assert response.status_code == 202, response.text
    user_id = await wait_projected(stack, email)  # its events are committed by then
    return f"user:{user_id}", response.json()["command_id"]


def error_of(response: httpx.Response) -> tuple[int, str, Any]:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("path")


async def test_histories_and_traces_answer_admins_only(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    as_admin = await admin_session(web, stack)
    as_customer = await customer_session(web, stack)
    aggregate_id, command_id = await registered(web, stack)
    paths = (
        f"/aggregates/{aggregate_id}",
        f"/aggregates/{aggregate_id}/history",
        f"/commands/{command_id}/trace",
    )

    for path in paths:
        assert error_of(await admin.get(path))[:2] == (401, "unauthenticated")
        assert error_of(await admin.get(path, headers=as_customer))[:2] == (403, "forbidden")
        assert (await admin.get(path, headers=as_admin)).status_code == 200


async def test_an_admin_sees_a_users_history_state_and_trace_without_secrets(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    as_admin = await admin_session(web, stack)
    aggregate_id, command_id = await registered(web, stack)

    now = await admin.get(f"/aggregates/{aggregate_id}", headers=as_admin)
    first = await admin.get(f"/aggregates/{aggregate_id}?version=1", headers=as_admin)
    history = await admin.get(f"/aggregates/{aggregate_id}/history", headers=as_admin)
    page = await admin.get(f"/aggregates/{aggregate_id}/history?limit=1", headers=as_admin)
    traced = await admin.get(f"/commands/{command_id}/trace", headers=as_admin)

    body = now.json()
    assert (body["ok"], body["aggregate_id"], body["type"], body["version"]) == (
        True,
        aggregate_id,
        "user",
        2,
    )
    assert body["state"]["has_password"] is True
    at = body["as_of"]
    assert (first.json()["version"], first.json()["state"]["has_password"]) == (1, False)
    events = history.json()["events"]
    assert [(e["version"], e["event"], e["redacted"]) for e in events] == [
        (1, "UserRegistered", False),
        (2, "UserPasswordSet", True),
    ]
    assert events[1]["data"] is None and all(e["command_id"] == command_id for e in events)
    assert (len(page.json()["events"]), page.json()["next"]) == (1, 1)
    tree = traced.json()
    assert tree["correlation_id"] == command_id and tree["commands"] == 1
    [root] = tree["roots"]
    assert (root["command"], root["status"], root["aggregate_id"]) == (
        "RegisterUser",
        "succeeded",
        aggregate_id,
    )
    assert [e["event"] for e in root["events"]] == ["UserRegistered", "UserPasswordSet"]
    for response in (now, first, history, traced):
        assert "argon2" not in response.text and PASSWORD not in response.text
    as_of = await admin.get(f"/aggregates/{aggregate_id}", params={"at": at}, headers=as_admin)
    assert as_of.json()["state"] == body["state"]


async def test_questions_without_answers_are_contract_errors(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    as_admin = await admin_session(web, stack)
    aggregate_id, _ = await registered(web, stack)

    async def get(path: str, **params: str) -> httpx.Response:
        return await admin.get(path, params=params, headers=as_admin)

    url = f"/aggregates/{aggregate_id}"
    assert error_of(await get(url, version="3")) == (422, "invalid_query", "$.query.version")
    assert error_of(await get(url, version="0")) == (422, "invalid_query", "$.query.version")
    assert error_of(await get(url, at="1")) == (422, "invalid_query", "$.query.at")
    assert error_of(await get(url, at="tomorrow")) == (422, "invalid_query", "$.query.at")
    assert error_of(await get(url, at="1", version="1")) == (422, "invalid_query", "$.query")
    assert error_of(await get(url, colour="blue")) == (422, "invalid_query", "$.query.colour")
    assert error_of(await get(f"{url}/history", limit="1001"))[:2] == (422, "invalid_query")
    assert error_of(await get("/aggregates/user:nobody"))[:2] == (404, "not_found")
    assert error_of(await get("/aggregates/spaceship:1/history"))[:2] == (404, "not_found")
    assert error_of(await get("/commands/nope/trace"))[:2] == (404, "not_found")

"""The operator tools end to end: the admin API's /dlq and /streams, and the `sluice` CLI as a
real process, against the running stack."""

import asyncio
import json
import sys
from typing import Any

import httpx
from redis.asyncio import Redis

from events.codec import encoder
from events.envelope import ErrorInfo
from infra import keys, scripts
from infra.child_process import ROOT
from infra.command_log import envelope_for
from infra.dead_letters import queue_dead_letter
from infra.identity import registration
from infra.settings import Settings
from tests.e2e.client import listen, login, register, unique_email, wait_projected
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.processes import Stack

PASSWORD = "a long enough password"
CLI_TIMEOUT = 30.0


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {session['token']}"}


async def admin_session(web: httpx.AsyncClient, stack: Stack) -> dict[str, str]:
    await wait_projected(stack, ADMIN_EMAIL)
    return bearer(await login(web, ADMIN_EMAIL, ADMIN_PASSWORD))


async def customer_session(web: httpx.AsyncClient, stack: Stack) -> dict[str, str]:
    email = unique_email("customer")
    assert (await register(web, email, PASSWORD)).status_code == 202
    await wait_projected(stack, email)
    return bearer(await login(web, email, PASSWORD))


async def sluice(stack: Stack, *args: str) -> tuple[int, str, str]:
    """`python -m worker.cli ...` as an operator would run it, configured by REDIS_URL only."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker.cli",
        *args,
        cwd=ROOT,
        env={**stack.env, "REDIS_URL": stack.redis_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def wait_dead_lettered(stack: Stack, partition: int, source: str) -> None:
    """Polls the dead-letter stream until the worker has moved `source` there: a poison entry
    has no sender, so no result or frame announces it."""
    client = Redis.from_url(stack.redis_url)
    try:
        async with asyncio.timeout(10):
            while True:
                for _, fields in await client.xrange(keys.dead_letters(partition)):
                    if fields.get(b"source") == source.encode():
                        return
                await asyncio.sleep(0.02)
    finally:
        await client.aclose()


async def test_streams_and_dead_letters_answer_admins_only(
    web: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    as_admin = await admin_session(web, stack)
    as_customer = await customer_session(web, stack)

    for path in ("/streams", "/dlq"):
        anonymous = await admin.get(path)
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.json()["error"]["code"] == "unauthenticated"
        customer = await admin.get(path, headers=as_customer)
        assert customer.status_code == 403, customer.text
        assert customer.json()["error"]["code"] == "forbidden"
    for method, path in (("POST", "/dlq/redrive"), ("DELETE", "/dlq"), ("POST", "/dlq/x/redrive")):
        refused = await admin.request(method, path, headers=as_customer)
        assert refused.status_code == 403, refused.text

    streams = await admin.get("/streams", headers=as_admin)
    dlq = await admin.get("/dlq", params={"limit": "10"}, headers=as_admin)

    assert streams.status_code == 200, streams.text
    body = streams.json()
    assert body["ok"] is True and len(body["partitions"]) == 4
    for partition in body["partitions"]:
        assert [g["name"] for g in partition["commands"]["groups"]] == [keys.WORKERS_GROUP]
        assert sorted(g["name"] for g in partition["events"]["groups"]) == [
            keys.PROJECTOR_GROUP,
            keys.REACTOR_GROUP,
        ]
    assert dlq.status_code == 200, dlq.text
    assert dlq.json()["ok"] is True and isinstance(dlq.json()["dead_letters"], list)
    bad_limit = await admin.get("/dlq", params={"limit": "0"}, headers=as_admin)
    assert (bad_limit.status_code, bad_limit.json()["error"]["code"]) == (422, "invalid_query")
    unknown = await admin.get("/dlq/0-1-0", headers=as_admin)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")


async def test_the_cli_reports_the_streams_of_the_running_stack(stack: Stack) -> None:
    code, stdout, stderr = await sluice(stack, "streams", "--json")

    assert code == 0, stderr
    report = json.loads(stdout)
    assert len(report["partitions"]) == 4
    assert report["redis_version"]
    registered = sum(p["events"]["length"] for p in report["partitions"])
    assert registered >= 2  # at least the first admin's UserRegistered and UserPasswordSet
    for partition in report["partitions"]:
        [workers] = partition["commands"]["groups"]
        assert workers["consumers"] >= 1


async def test_a_poison_entry_is_dead_lettered_listed_by_the_cli_and_not_redrivable(
    admin: httpx.AsyncClient, web: httpx.AsyncClient, stack: Stack
) -> None:
    as_admin = await admin_session(web, stack)
    client = Redis.from_url(stack.redis_url)
    try:
        source = (await client.xadd(keys.commands(2), {"e": "{garbage"})).decode()
    finally:
        await client.aclose()
    await wait_dead_lettered(stack, 2, source)

    code, stdout, stderr = await sluice(stack, "dlq", "list", "--json", "--limit", "1000")

    assert code == 0, stderr
    [item] = [d for d in json.loads(stdout)["dead_letters"] if d["source"] == source]
    assert (item["partition"], item["command"], item["command_id"]) == (2, None, None)
    assert item["error"]["code"] == "poison_message"
    shown = await admin.get(f"/dlq/{item['id']}", headers=as_admin)
    assert shown.status_code == 200, shown.text
    assert shown.json()["dead_letter"]["redrivable"] is False
    assert shown.json()["dead_letter"]["raw"] == "{garbage"
    refused = await admin.post(f"/dlq/{item['id']}/redrive", headers=as_admin)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_redrivable")
    purged = await admin.delete(f"/dlq/{item['id']}", headers=as_admin)
    assert purged.json() == {"ok": True, "deleted": 1}
    gone = await admin.get(f"/dlq/{item['id']}", headers=as_admin)
    assert gone.status_code == 404


async def test_a_redriven_command_is_settled_by_the_running_worker_and_reaches_its_sender(
    admin: httpx.AsyncClient, web: httpx.AsyncClient, stack: Stack
) -> None:
    as_admin = await admin_session(web, stack)
    settings = Settings(redis_url=stack.redis_url)
    email = unique_email("redriven")
    command, aggregate_id = registration(
        email=email, password_hash="h", display_name=None, partitions=settings.partitions
    )
    async with listen(stack.relay) as listener:
        envelope = envelope_for(
            settings=settings,
            command=command,
            aggregate_id=aggregate_id,
            reply_to=listener.reply_to,
        )
        client = Redis.from_url(stack.redis_url)
        try:
            # What the worker does after the last failed attempt, without a failing worker.
            await scripts.load_all(client)
            async with client.pipeline(transaction=False) as pipe:
                queue_dead_letter(
                    pipe,
                    partition=envelope.partition,
                    entry_id="0-1",
                    raw_entry=encoder.encode(envelope),
                    error=ErrorInfo(code="transient", message="the store was down"),
                    command_id=envelope.command_id,
                    reply_to=envelope.reply_to,
                    group=keys.WORKERS_GROUP,
                    status_ttl=settings.result_ttl_seconds,
                    results_maxlen=settings.results_maxlen,
                )
                await pipe.execute()
        finally:
            await client.aclose()
        failed = await admin.get(f"/commands/{envelope.command_id}", headers=as_admin)
        assert failed.json()["status"] == "failed"

        redriven = await admin.post(f"/dlq/{envelope.command_id}/redrive", headers=as_admin)

        assert redriven.status_code == 200, redriven.text
        assert redriven.json()["outcome"] == "redriven"
        # The sender heard of the failure when it was dead-lettered; then of the new run.
        dead = await listener.result_of(envelope.command_id)
        result = await listener.result_of(envelope.command_id)
    assert (dead["status"], result["status"]) == ("failed", "succeeded")
    settled = (await admin.get(f"/commands/{envelope.command_id}", headers=as_admin)).json()
    assert (settled["status"], settled["attempts"]) == ("succeeded", 1)  # a fresh start
    again = await admin.post(f"/dlq/{envelope.command_id}/redrive", headers=as_admin)
    assert again.status_code == 404

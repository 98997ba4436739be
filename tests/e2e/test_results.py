"""Results reach who should see them, and no one else."""

import httpx

from tests.e2e.client import listen, login, register, unique_email, wait_projected
from tests.e2e.processes import Stack

PASSWORD = "a long enough password"


async def signed_in(web: httpx.AsyncClient, stack: Stack) -> dict[str, str]:
    email = unique_email()
    async with listen(stack.relay) as listener:
        response = await register(web, email, PASSWORD, reply_to=listener.reply_to)
        await listener.result_of(response.json()["command_id"])
    await wait_projected(stack, email)
    session = await login(web, email, PASSWORD)
    return {"token": str(session["token"]), "user_id": str(session["user_id"])}


async def test_a_result_reaches_its_sender_on_every_signed_in_connection_and_no_one_else(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    alice = await signed_in(web, stack)
    bob = await signed_in(web, stack)
    async with (
        listen(stack.relay) as alice_socket,
        listen(stack.relay) as bob_socket,
        listen(stack.relay) as stranger,
    ):
        assert (await alice_socket.authenticate(alice["token"]))["type"] == "authenticated"
        assert (await bob_socket.authenticate(bob["token"]))["type"] == "authenticated"
        # Alice sends a command as herself, with no reply_to: her sessions get the result.
        response = await web.post(
            "/command",
            json={
                "command": "RegisterUser",
                "payload": {"email": unique_email(), "password": PASSWORD},
            },
            headers={"authorization": f"Bearer {alice['token']}"},
        )
        alices = response.json()["command_id"]
        assert (await alice_socket.result_of(alices))["status"] == "succeeded"

        # Bob's own command, sent after Alice's: the first result Bob's socket and the stranger
        # see must be theirs, so Alice's result never reached them.
        bobs = await web.post(
            "/command",
            json={
                "command": "RegisterUser",
                "payload": {"email": unique_email(), "password": PASSWORD},
                "reply_to": stranger.reply_to,
            },
            headers={"authorization": f"Bearer {bob['token']}"},
        )
        bob_command = bobs.json()["command_id"]
        bob_frame = await bob_socket.receive()
        stranger_frame = await stranger.receive()
    assert bob_frame["type"] == "result" and bob_frame["command_id"] == bob_command
    assert stranger_frame["type"] == "result" and stranger_frame["command_id"] == bob_command


async def test_another_users_command_status_is_not_visible(
    web: httpx.AsyncClient, stack: Stack
) -> None:
    alice = await signed_in(web, stack)
    bob = await signed_in(web, stack)
    response = await web.post(
        "/command",
        json={
            "command": "RegisterUser",
            "payload": {"email": unique_email(), "password": PASSWORD},
        },
        headers={"authorization": f"Bearer {alice['token']}"},
    )
    command_id = response.json()["command_id"]
    as_bob = await web.get(
        f"/commands/{command_id}", headers={"authorization": f"Bearer {bob['token']}"}
    )
    anonymous = await web.get(f"/commands/{command_id}")
    as_alice = await web.get(
        f"/commands/{command_id}", headers={"authorization": f"Bearer {alice['token']}"}
    )
    assert as_bob.status_code == anonymous.status_code == 404
    assert as_alice.status_code == 200

"""Sessions and their users, read together: the token's user hint is a hint, never trusted."""

import time
from typing import Any

import msgspec
from redis.asyncio import Redis

from infra import keys
from infra.group_read import GroupReader
from infra.principals import SessionLookup, find_principal, user_hint
from infra.rate_limit import Hit
from infra.read_models import UserView, queue_user
from infra.scripts import load_all
from infra.sessions import Session, open_session
from infra.tokens import new_token, token_hash


async def a_user(redis: Redis, user_id: str, *roles: str) -> None:
    await load_all(redis)
    view = UserView(
        user_id=user_id, email=f"{user_id}@example.com", display_name=user_id, roles=roles
    )
    async with redis.pipeline(transaction=True) as pipe:
        queue_user(pipe, view, 1)
        await pipe.execute()


async def store_session(redis: Redis, token: str, user_id: str, expires_in: int = 60) -> None:
    session = Session(user_id=user_id, session_id="s", expires_at=int(time.time()) + expires_in)
    await redis.set(keys.session(token_hash(token)), msgspec.json.encode(session))


async def test_a_new_token_names_its_user_and_finds_session_and_roles(redis: Redis) -> None:
    await a_user(redis, "u-ada", "customer", "admin")
    token, _ = await open_session(redis, "u-ada", 60)

    assert user_hint(token) == "u-ada"
    found = await find_principal(redis, token)
    assert found is not None
    session, roles = found
    assert session.user_id == "u-ada"
    assert roles == ("admin", "customer")


async def test_a_token_without_a_hint_still_finds_its_user(redis: Redis) -> None:
    await a_user(redis, "u-old", "customer")
    token = new_token()  # as tokens were issued before they carried their user
    await store_session(redis, token, "u-old")

    found = await find_principal(redis, token)
    assert found is not None
    assert (found[0].user_id, found[1]) == ("u-old", ("customer",))


async def test_the_session_not_the_hint_says_who_the_caller_is(redis: Redis) -> None:
    await a_user(redis, "u-admin", "admin")
    await a_user(redis, "u-mallory", "customer")
    token = f"u-admin.{new_token()}"  # claims to be the admin...
    await store_session(redis, token, "u-mallory")  # ...but its session is Mallory's

    found = await find_principal(redis, token)
    assert found is not None
    session, roles = found
    assert (session.user_id, roles) == ("u-mallory", ("customer",))


async def test_a_user_not_projected_yet_holds_no_role(redis: Redis) -> None:
    await redis.hset(keys.user("u-new"), mapping={"role:admin": "true"})  # roles, no registration
    token, _ = await open_session(redis, "u-new", 60)

    found = await find_principal(redis, token)
    assert found is not None and found[1] == ()


async def test_unknown_and_expired_tokens_find_no_one(redis: Redis) -> None:
    await a_user(redis, "u-gone", "customer")
    expired = f"u-gone.{new_token()}"
    await store_session(redis, expired, "u-gone", expires_in=-1)

    assert await find_principal(redis, expired) is None
    assert await find_principal(redis, f"u-gone.{new_token()}") is None
    assert await find_principal(redis, "no-hint-and-unknown") is None


async def test_a_session_lookup_rides_in_the_rate_limits_read(redis: Redis) -> None:
    await a_user(redis, "u-limited", "customer")
    token, _ = await open_session(redis, "u-limited", 60)
    reader = GroupReader(redis)
    counted, lookup = Hit("ip:127.0.0.9", 1, 60), SessionLookup(token)

    def queue(pipe: Any) -> None:
        counted.queue(pipe)
        lookup.queue(pipe)

    replies = await reader.read(queue)
    counted.take(replies[: counted.size])
    lookup.take(replies[counted.size :])

    found = await lookup.principal(redis)
    assert found is not None and found[0].user_id == "u-limited"
    assert found[1] == ("customer",)
    assert counted.retry_after is None  # the first hit of the window
    assert reader.flushes == 1

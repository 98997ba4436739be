"""The gateway's kept callers: served while fresh, dropped by a logout or a role change made by
any process, refused when read across a change, and neither kept nor served while the
revocations stream cannot be followed; on a real redis-server."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis

from infra import keys, scripts
from infra.embedded_redis import EmbeddedRedis
from infra.read_models import queue_role
from infra.session_cache import Found, RevocationFollower, SessionCache
from infra.sessions import Session, close_session, open_session
from infra.tokens import token_hash
from tests.clock import ManualClock
from tests.redis_servers import running

TTL = 60.0  # longer than any test: only what is under test drops a kept caller
BLOCK_MS = 100


def found(user_id: str, *roles: str, expires_in: int = 3600) -> Found:
    session = Session(user_id=user_id, session_id="s", expires_at=int(time.time()) + expires_in)
    return session, roles


@asynccontextmanager
async def following(redis_url: str, cache: SessionCache) -> AsyncIterator[RevocationFollower]:
    client = Redis.from_url(redis_url, socket_timeout=5)
    follower = RevocationFollower(client, cache, block_ms=BLOCK_MS)
    follower.start()
    try:
        await until(follower, lambda: cache.following)
        yield follower
    finally:
        await follower.stop()
        await client.aclose()


async def until(follower: RevocationFollower, holds: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        async with follower.turned:
            await follower.turned.wait_for(holds)


async def caught_up(follower: RevocationFollower, redis: Redis) -> None:
    """Until the follower has read the stream's last entry."""
    last = (await redis.xrevrange(keys.revocations(), count=1))[0][0].decode()
    await until(follower, lambda: follower.last_id == last)


def test_a_kept_caller_is_served_until_its_time_or_its_session_is_up() -> None:
    clock = ManualClock()
    cache = SessionCache(1.0, clock=clock)
    cache.following = True
    cache.keep("a", found("u1", "admin"), cache.mark())
    cache.keep("b", found("u2", expires_in=-1), cache.mark())

    assert cache.get("a") == found("u1", "admin")
    assert cache.get("b") is None  # its session has expired
    clock.now += 0.999
    assert cache.get("a") is not None
    clock.now += 0.001
    assert cache.get("a") is None


def test_what_is_kept_is_only_what_is_still_fresh() -> None:
    clock = ManualClock()
    cache = SessionCache(1.0, clock=clock)
    cache.following = True
    cache.keep("a", found("u1"), cache.mark())
    cache.keep("b", found("u2"), cache.mark())
    clock.now += 0.5
    cache.keep("a", found("u1"), cache.mark())  # read again: fresh again
    clock.now += 0.5
    cache.keep("c", found("u3"), cache.mark())  # b's time is up: forgotten, not counted

    assert len(cache) == 2
    assert [cache.get(name) is not None for name in ("a", "b", "c")] == [True, False, True]


def test_nothing_is_kept_when_disabled_and_the_oldest_goes_first_when_full() -> None:
    disabled = SessionCache(0)
    disabled.following = True
    disabled.keep("a", found("u1"), disabled.mark())
    assert disabled.get("a") is None

    full = SessionCache(TTL, max_entries=2)
    full.following = True
    for name in ("a", "b", "c"):
        full.keep(name, found(f"user-{name}"), full.mark())
    assert [full.get(name) is not None for name in ("a", "b", "c")] == [False, True, True]
    assert len(full) == 2


def test_a_read_begun_before_its_session_or_user_was_dropped_is_not_kept() -> None:
    cache = SessionCache(TTL)
    cache.following = True
    before = cache.mark()
    cache.drop_session("a")
    cache.drop_user("u2")
    cache.keep("a", found("u1"), before)
    cache.keep("b", found("u2"), before)
    cache.keep("c", found("u3"), before)  # neither its session nor its user changed

    assert (cache.get("a"), cache.get("b")) == (None, None)
    assert cache.get("c") is not None
    after = cache.mark()
    cache.keep("a", found("u1"), after)
    assert cache.get("a") is not None


async def test_a_logout_by_another_process_drops_the_kept_session(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    cache = SessionCache(TTL)
    async with following(redis_server.url, cache) as follower:
        token, session = await open_session(redis, "u1", 3600)
        other_token, other = await open_session(redis, "u1", 3600)
        cache.keep(token_hash(token), (session, ()), cache.mark())
        cache.keep(token_hash(other_token), (other, ()), cache.mark())

        assert await close_session(redis, token)
        await caught_up(follower, redis)

        assert cache.get(token_hash(token)) is None
        assert cache.get(token_hash(other_token)) is not None  # the user's other session


async def test_a_role_written_by_the_projector_drops_every_session_of_its_user(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    cache = SessionCache(TTL)
    async with following(redis_server.url, cache) as follower:
        for name, user_id in (("a", "u1"), ("b", "u1"), ("c", "u2")):
            cache.keep(name, found(user_id), cache.mark())

        await scripts.load_all(redis)
        async with redis.pipeline(transaction=False) as pipe:
            queue_role(pipe, "u1", "catalog_manager", True, 1)
            await pipe.execute()
        await caught_up(follower, redis)

        assert [cache.get(name) is not None for name in ("a", "b", "c")] == [False, False, True]


async def test_nothing_is_kept_or_served_while_the_stream_is_not_followed(
    tmp_path: Path,
) -> None:
    cache = SessionCache(TTL)
    async with running(tmp_path) as server, following(server.url, cache) as follower:
        cache.keep("a", found("u1"), cache.mark())
        assert cache.get("a") is not None

        server.stop()
        await until(follower, lambda: not cache.following)
        assert cache.get("a") is None
        cache.keep("b", found("u2"), cache.mark())
        assert cache.get("b") is None

        server.start()
        await until(follower, lambda: cache.following)
        assert cache.get("a") is None  # what was kept before stays dropped
        cache.keep("b", found("u2"), cache.mark())
        assert cache.get("b") is not None

"""The relay against a real redis-server, served by a real uvicorn, driven by a real client.

Redis is fed the way the worker and the gateway feed it: results and events appended to the
partition streams, sessions and user read models written by `infra`. Absence is proved with a
marker: the frame that must not arrive would have been queued before the marker.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import msgspec
import orjson
import pytest
import uvicorn
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api.relay import create_app
from api.relay_connection import Connection, Identity
from api.relay_entries import OutEvent
from api.relay_hub import Hub
from api.relay_positions import Position, parse_position
from api.relay_topics import Viewer
from events.codec import encoder
from events.envelope import EventRecord, PublicEvent, Result
from infra import keys
from infra.embedded_redis import free_port
from infra.read_models import UserView, queue_user
from infra.scripts import load_all
from infra.sessions import close_session, open_session
from infra.settings import Settings
from tests.redis_servers import own_server

TIMEOUT = 5.0

# --- serving the relay ---------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn with an awaitable start-up, so tests wait on it instead of polling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = asyncio.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.up.set()


@dataclass
class RunningRelay:
    server: _Server
    task: "asyncio.Task[None]"
    port: int
    settings: Settings

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(asyncio.shield(self.task), 15)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[RunningRelay]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        ws_max_size=settings.ws_max_frame_bytes,  # as the Procfile's --ws-max-size
        lifespan="on",
        log_config=None,
        log_level="warning",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    up = asyncio.create_task(server.up.wait())
    await asyncio.wait({task, up}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    if not up.done():
        up.cancel()
        await task  # raises whatever stopped the start-up
        raise AssertionError("relay did not start")
    relay = RunningRelay(server, task, port, settings)
    try:
        yield relay
    finally:
        await relay.stop()


class Client:
    """A WebSocket client that reads JSON frames with a timeout."""

    def __init__(self, ws: ClientConnection, reply_to: str) -> None:
        self.ws = ws
        self.reply_to = reply_to

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else orjson.dumps(frame).decode())

    async def recv(self, within: float = TIMEOUT) -> dict[str, Any]:
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.ws.recv(), within))
        return frame

    async def ask(self, frame: dict[str, Any] | str) -> dict[str, Any]:
        await self.send(frame)
        return await self.recv()

    async def auth(self, token: str) -> dict[str, Any]:
        return await self.ask({"type": "auth", "token": token})

    async def subscribe(self, topic: str, since: str | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "topic": topic}
        if since is not None:
            frame["since"] = since
        return await self.ask(frame)

    async def closed(self, within: float = 30.0) -> tuple[ConnectionClosed, int]:
        """Reads until the server closes; the close and how many frames came before it."""
        count = 0
        async with asyncio.timeout(within):
            while True:
                try:
                    await self.ws.recv()
                except ConnectionClosed as closed:
                    return closed, count
                count += 1


class Harness:
    """Starts relays and clients; everything closes in reverse order at the test's end."""

    def __init__(self, stack: AsyncExitStack, settings: Settings, redis: Redis) -> None:
        self.stack = stack
        self.settings = settings
        self.redis = redis
        self.relay: RunningRelay | None = None

    async def start(self, **overrides: Any) -> RunningRelay:
        self.settings = replace(self.settings, **overrides)
        self.relay = await self.stack.enter_async_context(serving(self.settings))
        return self.relay

    def _connect(self, **options: Any) -> Any:
        assert self.relay is not None
        options = {"compression": None, "proxy": None, "open_timeout": TIMEOUT} | options
        return connect(self.relay.ws_url, **options)

    async def connect(self, **options: Any) -> Client:
        ws = await self.stack.enter_async_context(self._connect(**options))
        welcome = orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert welcome["type"] == "welcome"
        return Client(ws, welcome["reply_to"])

    async def following(self, token: str, *topics: str) -> Client:
        """A client signed in with `token`, subscribed to each of `topics` in turn."""
        client = await self.connect()
        assert (await client.auth(token))["type"] == "authenticated"
        for topic in topics:
            assert await client.subscribe(topic) == {"type": "subscribed", "topic": topic}
        return client

    async def user(self, *roles: str, ttl: int = 3600) -> tuple[str, str]:
        """A registered user (read model) with an open session: (user_id, token)."""
        user_id = str(uuid4())
        view = UserView(
            user_id=user_id,
            email=f"{user_id}@example.com",
            display_name="someone",
            roles=roles or ("customer",),
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            queue_user(pipe, view, 1)
            await pipe.execute()
        token, _ = await open_session(self.redis, user_id, ttl)
        return user_id, token

    async def result(
        self,
        *,
        reply_to: str | None = None,
        actor: str | None = None,
        events: tuple[PublicEvent, ...] = (),
        partition: int = 0,
    ) -> str:
        """Appends a result as the worker's commit does; returns its command id."""
        command_id = str(uuid4())
        outcome = Result(
            command_id=command_id,
            status="succeeded",
            events=list(events),
            actor=actor,
            reply_to=reply_to,
        )
        await self.redis.xadd(keys.results(partition), {"r": encoder.encode(outcome)})
        return command_id

    async def event(
        self, name: str, data: dict[str, Any], aggregate_id: str, partition: int | None = None
    ) -> str:
        """Appends an event record to its partition's log as the commit does; its entry id."""
        record = EventRecord(
            event=name,
            version=1,
            data=msgspec.Raw(encoder.encode(data)),
            aggregate_id=aggregate_id,
            aggregate_version=1,
            command_id=str(uuid4()),
            correlation_id=str(uuid4()),
            causation_id=None,
            actor=None,
            occurred_at=0,
        )
        if partition is None:
            partition = keys.partition_of(aggregate_id, self.settings.partitions)
        entry_id = await self.redis.xadd(keys.events(partition), {"e": encoder.encode(record)})
        return str(entry_id.decode())

    async def logged_in(self, user_id: str, session_id: str, partition: int | None = None) -> str:
        data = {"user_id": user_id, "session_id": session_id}
        return await self.event("UserLoggedIn", data, f"user:{user_id}", partition)


@pytest.fixture
async def harness(settings: Settings, redis: Redis) -> AsyncIterator[Harness]:
    await load_all(redis)
    async with AsyncExitStack() as stack:
        yield Harness(stack, settings, redis)


@pytest.fixture
async def relay(harness: Harness) -> Harness:
    await harness.start()
    return harness


# --- the conversation ----------------------------------------------------------------------


async def test_a_client_is_welcomed_with_a_reply_token_and_answered_pong(relay: Harness) -> None:
    client = await relay.connect()
    other = await relay.connect()

    assert len(client.reply_to) >= 40
    assert client.reply_to != other.reply_to
    assert await client.ask({"type": "ping"}) == {"type": "pong"}


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        '"ping"',
        '{"no": "type"}',
        '{"type": "shout"}',
        '{"type": "auth"}',
        '{"type": "subscribe", "topic": 7}',
    ],
)
async def test_a_frame_that_is_not_ours_is_a_bad_frame_and_the_connection_stays_open(
    relay: Harness, frame: str
) -> None:
    client = await relay.connect()

    assert await client.ask(frame) == {"type": "error", "code": "bad_frame"}
    assert await client.ask({"type": "ping"}) == {"type": "pong"}


async def test_auth_with_a_valid_token_names_the_user(relay: Harness) -> None:
    user_id, token = await relay.user()
    client = await relay.connect()

    assert await client.auth(token) == {"type": "authenticated", "user_id": user_id}


async def test_auth_with_an_unknown_token_is_unauthenticated(relay: Harness) -> None:
    client = await relay.connect()

    assert await client.auth("not-a-session") == {"type": "error", "code": "unauthenticated"}
    assert await client.subscribe("admin:events") == {
        "type": "error",
        "code": "forbidden",
        "topic": "admin:events",
    }


# --- results -------------------------------------------------------------------------------


async def test_a_result_reaches_its_reply_to_and_its_actor_and_nobody_else(
    relay: Harness,
) -> None:
    sender_id, sender_token = await relay.user()
    _, stranger_token = await relay.user()
    poster = await relay.connect()  # the connection whose reply_to the command carried
    sender_elsewhere = await relay.connect()
    stranger = await relay.connect()
    await sender_elsewhere.auth(sender_token)
    await stranger.auth(stranger_token)
    registered = PublicEvent(event="UserRegistered", data={"user_id": sender_id})

    command_id = await relay.result(reply_to=poster.reply_to, actor=sender_id, events=(registered,))
    marker_id = await relay.result(reply_to=stranger.reply_to)

    expected = {
        "type": "result",
        "command_id": command_id,
        "status": "succeeded",
        "events": [{"event": "UserRegistered", "data": {"user_id": sender_id}}],
    }
    assert await poster.recv() == expected  # no actor, no reply_to in the frame
    assert await sender_elsewhere.recv() == expected
    assert (await stranger.recv())["command_id"] == marker_id


async def test_a_result_is_sent_once_to_a_connection_both_named_and_authenticated(
    relay: Harness,
) -> None:
    user_id, token = await relay.user()
    client = await relay.connect()
    await client.auth(token)

    first = await relay.result(reply_to=client.reply_to, actor=user_id)
    second = await relay.result(reply_to=client.reply_to)

    assert (await client.recv())["command_id"] == first
    assert (await client.recv())["command_id"] == second


async def test_private_events_in_a_result_are_left_out(relay: Harness) -> None:
    client = await relay.connect()
    secret = PublicEvent(event="UserPasswordSet", data={"password_hash": "$argon2id$..."})
    public = PublicEvent(event="UserLoggedIn", data={"session_id": "s"})

    await relay.result(reply_to=client.reply_to, events=(secret, public))

    frame = await client.recv()
    assert frame["events"] == [{"event": "UserLoggedIn", "data": {"session_id": "s"}}]
    assert "argon2" not in orjson.dumps(frame).decode()


# --- topics --------------------------------------------------------------------------------


async def test_a_user_may_follow_their_own_topic_but_not_another_users(relay: Harness) -> None:
    user_id, token = await relay.user()
    other_id, _ = await relay.user()
    client = await relay.connect()
    await client.auth(token)

    assert await client.subscribe(f"user:{user_id}") == {
        "type": "subscribed",
        "topic": f"user:{user_id}",
    }
    assert await client.subscribe(f"user:{other_id}") == {
        "type": "error",
        "code": "forbidden",
        "topic": f"user:{other_id}",
    }
    assert (await client.subscribe("admin:events"))["code"] == "forbidden"
    assert (await client.subscribe("order:o-1"))["code"] == "forbidden"


@pytest.mark.parametrize("role", ["admin", "super_admin"])
async def test_an_admin_may_follow_any_user_every_event_and_orders(
    relay: Harness, role: str
) -> None:
    other_id, _ = await relay.user()
    _, admin_token = await relay.user(role)
    admin = await relay.connect()
    await admin.auth(admin_token)

    for topic in (f"user:{other_id}", "admin:events", "order:o-1"):
        assert await admin.subscribe(topic) == {"type": "subscribed", "topic": topic}


@pytest.mark.parametrize("topic", ["weather:today", "user:", "admin:everything", "nonsense"])
async def test_a_topic_that_does_not_exist_is_unknown(relay: Harness, topic: str) -> None:
    _, admin_token = await relay.user("admin")
    client = await relay.connect()
    await client.auth(admin_token)

    assert await client.subscribe(topic) == {
        "type": "error",
        "code": "unknown_topic",
        "topic": topic,
    }


async def test_events_reach_their_topics_subscribers(relay: Harness) -> None:
    user_id, token = await relay.user()
    other_id, _ = await relay.user()
    _, admin_token = await relay.user("admin")
    owner = await relay.following(token, f"user:{user_id}")
    admin = await relay.following(admin_token, "admin:events")

    await relay.logged_in(other_id, "theirs")
    await relay.logged_in(user_id, "mine")

    frame = await owner.recv()
    assert {k: v for k, v in frame.items() if k != "position"} == {
        "type": "event",
        "topic": f"user:{user_id}",
        "event": "UserLoggedIn",
        "data": {"user_id": user_id, "session_id": "mine"},
    }
    assert parse_position(frame["position"], relay.settings.partitions) is not None
    seen_by_admin = [(await admin.recv())["data"]["session_id"] for _ in range(2)]
    assert seen_by_admin == ["theirs", "mine"]


async def test_unsubscribe_stops_the_topics_events(relay: Harness) -> None:
    user_id, _ = await relay.user()
    _, admin_token = await relay.user("admin")
    admin = await relay.following(admin_token, f"user:{user_id}", "admin:events")

    reply = await admin.ask({"type": "unsubscribe", "topic": f"user:{user_id}"})
    await relay.logged_in(user_id, "first")
    await relay.logged_in(user_id, "second")

    assert reply == {"type": "unsubscribed", "topic": f"user:{user_id}"}
    # Had user:<id> still been followed, its copy of "first" would come before "second".
    frames = [await admin.recv() for _ in range(2)]
    assert [(f["topic"], f["data"]["session_id"]) for f in frames] == [
        ("admin:events", "first"),
        ("admin:events", "second"),
    ]


async def test_private_events_are_never_sent(relay: Harness) -> None:
    user_id, token = await relay.user()
    _, admin_token = await relay.user("admin")
    owner = await relay.following(token, f"user:{user_id}")
    admin = await relay.following(admin_token, "admin:events")

    secret = {"user_id": user_id, "password_hash": "$argon2id$v=19$secret"}
    await relay.event("UserPasswordSet", secret, f"user:{user_id}")
    await relay.logged_in(user_id, "marker")  # same partition, after it

    for client in (owner, admin):
        frame = await client.recv()
        assert frame["event"] == "UserLoggedIn"
        assert "argon2" not in orjson.dumps(frame).decode()


# --- resuming with since -------------------------------------------------------------------


def session_ids(frames: list[dict[str, Any]]) -> list[str]:
    return [frame["data"]["session_id"] for frame in frames]


async def test_since_replays_exactly_what_was_missed_in_order_then_goes_live(
    relay: Harness,
) -> None:
    user_id, token = await relay.user()
    other_id, _ = await relay.user()
    topic = f"user:{user_id}"
    first = await relay.following(token, topic)
    await relay.logged_in(user_id, "e1")
    position = (await first.recv())["position"]
    await first.ws.close()

    # While nobody listens: two of ours, one private, one of someone else's.
    await relay.logged_in(user_id, "e2")
    await relay.event("UserPasswordSet", {"user_id": user_id, "password_hash": "h"}, topic)
    await relay.logged_in(other_id, "not-ours")
    await relay.logged_in(user_id, "e3")

    resumed = await relay.connect()
    await resumed.auth(token)
    assert await resumed.subscribe(topic, since=position) == {"type": "subscribed", "topic": topic}
    replayed = [await resumed.recv() for _ in range(2)]
    await relay.logged_in(user_id, "e4")
    live = await resumed.recv()

    assert session_ids([*replayed, live]) == ["e2", "e3", "e4"]
    assert {frame["topic"] for frame in [*replayed, live]} == {topic}

    # Resuming from the last frame seen replays nothing: the next frame is the next event.
    again = await relay.connect()
    await again.auth(token)
    await again.subscribe(topic, since=live["position"])
    await relay.logged_in(user_id, "e5")
    assert session_ids([await again.recv()]) == ["e5"]


async def test_since_replays_every_partition_once_for_admin_events(relay: Harness) -> None:
    _, admin_token = await relay.user("admin")
    users = [str(uuid4()) for _ in range(relay.settings.partitions)]
    first = await relay.following(admin_token, "admin:events")
    await relay.logged_in(users[0], "seen", partition=0)
    position = (await first.recv())["position"]
    await first.ws.close()

    missed = {
        f"p{p}-{n}": await relay.logged_in(users[p], f"p{p}-{n}", partition=p)
        for n in range(3)
        for p in range(relay.settings.partitions)
    }
    resumed = await relay.connect()
    await resumed.auth(admin_token)
    await resumed.subscribe("admin:events", since=position)
    replayed = session_ids([await resumed.recv() for _ in missed])
    await relay.logged_in(users[0], "live", partition=0)

    assert sorted(replayed) == sorted(missed)
    for p in range(relay.settings.partitions):  # each partition's events in log order
        assert [s for s in replayed if s.startswith(f"p{p}-")] == [f"p{p}-{n}" for n in range(3)]
    assert session_ids([await resumed.recv()]) == ["live"]


async def test_events_appended_during_a_replay_follow_it_with_no_gap_or_repeat(
    harness: Harness,
) -> None:
    await harness.start(read_count=5)  # small replay pages: the replay takes many round trips
    user_id, token = await harness.user()
    topic = f"user:{user_id}"
    first = await harness.connect()
    await first.auth(token)
    await first.subscribe(topic)
    await harness.logged_in(user_id, "start")
    position = (await first.recv())["position"]
    await first.ws.close()
    missed = [f"missed-{n}" for n in range(200)]
    for session_id in missed:
        await harness.logged_in(user_id, session_id)

    resumed = await harness.connect()
    await resumed.auth(token)
    await resumed.send({"type": "subscribe", "topic": topic, "since": position})
    live = [f"live-{n}" for n in range(50)]
    for session_id in live:  # appended while the replay pages through the log
        await harness.logged_in(user_id, session_id)

    assert await resumed.recv() == {"type": "subscribed", "topic": topic}
    received = session_ids([await resumed.recv() for _ in range(len(missed) + len(live))])
    assert received == missed + live
    marker = await harness.result(reply_to=resumed.reply_to)
    assert (await resumed.recv())["command_id"] == marker  # and nothing after


@pytest.mark.parametrize("since", ["", "1-0", "0-0,0-0,0-0,x", "0-0,0-0,0-0,0-0,0-0"])
async def test_a_malformed_since_is_a_bad_frame(relay: Harness, since: str) -> None:
    user_id, token = await relay.user()
    client = await relay.connect()
    await client.auth(token)

    reply = await client.subscribe(f"user:{user_id}", since=since)

    assert (reply["type"], reply["code"]) == ("error", "bad_frame")


# --- losing the session --------------------------------------------------------------------


async def test_a_logout_deauthenticates_the_connections_using_that_token(relay: Harness) -> None:
    user_id, token = await relay.user()
    _, admin_token = await relay.user("admin")
    client = await relay.following(token, f"user:{user_id}")
    observer = await relay.following(admin_token, "admin:events")

    await close_session(relay.redis, token)

    assert await client.recv() == {"type": "error", "code": "unauthenticated"}
    # The observer seeing the event means it was routed; the client would have had it first.
    await relay.logged_in(user_id, "after-logout")
    assert (await observer.recv())["data"]["session_id"] == "after-logout"
    marker = await relay.result(reply_to=client.reply_to)
    assert (await client.recv())["command_id"] == marker
    assert (await client.subscribe(f"user:{user_id}"))["code"] == "forbidden"


async def test_a_connection_whose_session_expires_is_deauthenticated(relay: Harness) -> None:
    user_id, token = await relay.user(ttl=2)
    client = await relay.following(token, f"user:{user_id}")

    assert await client.recv(within=10) == {"type": "error", "code": "unauthenticated"}
    assert (await client.subscribe(f"user:{user_id}"))["code"] == "forbidden"


# --- limits --------------------------------------------------------------------------------


async def test_a_frame_over_the_size_limit_closes_with_1009(relay: Harness) -> None:
    client = await relay.connect()

    await client.send("x" * (relay.settings.ws_max_frame_bytes + 1))

    closed, _ = await client.closed(within=TIMEOUT)
    assert closed.rcvd is not None and closed.rcvd.code == 1009


async def test_a_client_too_slow_to_read_is_disconnected(harness: Harness) -> None:
    await harness.start(ws_send_queue=4)
    # max_queue=1: the client library stops reading the socket after one unread frame.
    slow = await harness.connect(max_queue=1)
    observer = await harness.connect()
    total = 300  # ~12 MB: more than socket buffers hold, so the server's queue must fill
    payload = "x" * 40_000
    async with harness.redis.pipeline(transaction=False) as pipe:
        for n in range(total):
            outcome = Result(
                command_id=f"c{n}",
                status="succeeded",
                events=[PublicEvent(event="UserLoggedIn", data={"pad": payload})],
                reply_to=slow.reply_to,
            )
            pipe.xadd(keys.results(0), {"r": encoder.encode(outcome)})
        await pipe.execute()
    marker = await harness.result(reply_to=observer.reply_to)

    # Routed in order: once the observer has its marker, all of the slow one's were queued.
    assert (await observer.recv(within=30))["command_id"] == marker
    closed, received = await slow.closed()
    assert closed.rcvd is not None and closed.rcvd.code in (1008, 1013)
    assert received < total


async def test_a_burst_longer_than_the_send_queue_reaches_a_client_that_reads(
    harness: Harness,
) -> None:
    await harness.start(ws_send_queue=16)
    client = await harness.connect()
    total = 200  # read at once, routed together: far more than one queue holds
    async with harness.redis.pipeline(transaction=False) as pipe:
        for n in range(total):
            outcome = Result(command_id=f"c{n}", status="succeeded", reply_to=client.reply_to)
            pipe.xadd(keys.results(0), {"r": encoder.encode(outcome)})
        await pipe.execute()

    got = [(await client.recv(within=TIMEOUT))["command_id"] for _ in range(total)]

    assert got == [f"c{n}" for n in range(total)]
    assert await client.ask({"type": "ping"}) == {"type": "pong"}


async def test_connections_over_the_per_ip_limit_are_refused(harness: Harness) -> None:
    await harness.start(ws_max_per_ip=2)
    await harness.connect()
    await harness.connect()

    ws = await harness.stack.enter_async_context(harness._connect())

    assert orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)) == {
        "type": "error",
        "code": "too_many_connections",
    }
    closed, _ = await Client(ws, "").closed(within=TIMEOUT)
    assert closed.rcvd is not None and closed.rcvd.code == 1008


async def test_authenticating_over_the_per_user_limit_closes_the_connection(
    harness: Harness,
) -> None:
    await harness.start(ws_max_per_user=1)
    _, token = await harness.user()
    first = await harness.connect()
    second = await harness.connect()
    await first.auth(token)

    reply = await second.auth(token)

    assert reply == {"type": "error", "code": "too_many_connections"}
    closed, _ = await second.closed(within=TIMEOUT)
    assert closed.rcvd is not None and closed.rcvd.code == 1008
    assert await first.ask({"type": "ping"}) == {"type": "pong"}


async def test_a_browser_from_a_foreign_origin_is_refused(relay: Harness) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await relay.connect(origin="http://evil.example")

    assert refused.value.response.status_code == 403
    allowed = await relay.connect(origin="http://localhost:5173")
    assert await allowed.ask({"type": "ping"}) == {"type": "pong"}


async def test_a_silent_connection_is_closed(harness: Harness) -> None:
    await harness.start(ws_idle_timeout_seconds=0.3)
    client = await harness.connect()

    closed, received = await client.closed(within=TIMEOUT)

    assert closed.rcvd is not None and closed.rcvd.code in (1000, 1001)
    assert received == 0


# --- the process ---------------------------------------------------------------------------


async def test_health_and_ready_answer_when_redis_is_up(relay: Harness) -> None:
    assert relay.relay is not None
    async with httpx.AsyncClient(base_url=relay.relay.http_url) as http:
        health = await http.get("/health")
        ready = await http.get("/ready")

    assert (health.status_code, health.json()) == (200, {"ok": True})
    assert (ready.status_code, ready.json()) == (200, {"ok": True})


async def test_without_redis_the_relay_runs_but_is_not_ready(harness: Harness) -> None:
    relay = await harness.start(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with httpx.AsyncClient(base_url=relay.http_url) as http:
        health = await http.get("/health")
        ready = await http.get("/ready")
    client = await harness.connect()

    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["ok"] is False
    assert ready.json()["error"]["code"] == "unavailable"
    assert await client.ask({"type": "ping"}) == {"type": "pong"}
    assert await client.auth("whatever") == {"type": "error", "code": "unavailable"}


async def test_the_relay_rides_out_a_redis_outage(harness: Harness, tmp_path: Path) -> None:
    server = own_server(tmp_path)  # the same port and data on its restart
    own = await asyncio.to_thread(server.start)
    relay = await harness.start(redis_url=own.url)
    client = await harness.connect()
    async with httpx.AsyncClient(base_url=relay.http_url) as http:
        await asyncio.to_thread(own.stop)
        during = await http.get("/ready")
        own = await asyncio.to_thread(server.start)
        after = await http.get("/ready")
    feeder = Redis.from_url(own.url)
    try:
        outcome = Result(command_id="after-outage", status="succeeded", reply_to=client.reply_to)
        await feeder.xadd(keys.results(0), {"r": encoder.encode(outcome)})
        frame = await client.recv(within=15)  # the reader backs off, reconnects, reads on
    finally:
        await feeder.aclose()
        await asyncio.to_thread(own.stop)

    assert (during.status_code, after.status_code) == (503, 200)
    assert frame["command_id"] == "after-outage"
    assert await client.ask({"type": "ping"}) == {"type": "pong"}


async def test_shutting_down_closes_clients_with_1012(relay: Harness) -> None:
    client = await relay.connect()
    assert relay.relay is not None

    await relay.relay.stop()

    closed, _ = await client.closed(within=TIMEOUT)
    assert closed.rcvd is not None and closed.rcvd.code == 1012


# --- the routing tables, without a network -------------------------------------------------


def _hub(queue: int = 16) -> tuple[Hub, Connection]:
    hub = Hub(partitions=2, send_queue=queue, max_per_ip=10, max_per_user=10)
    hub.start_at(((0, 0), (0, 0)))
    conn = hub.connect("reply", "127.0.0.1")
    assert conn is not None
    return hub, conn


def _item(partition: int, ms: int, name: str = "e") -> OutEvent:
    return OutEvent(partition, (ms, 0), "UserLoggedIn", {"n": name}, ("admin:events",))


def _queued(conn: Connection) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while not conn.queue.empty():
        raw = conn.queue.get_nowait()
        assert raw is not None
        frames.append(orjson.loads(raw))
    return frames


async def test_events_arriving_during_a_replay_follow_it_without_repeats() -> None:
    hub, conn = _hub()
    sub = hub.subscribe(conn, "admin:events", buffering=True)
    hub.publish(_item(0, 5, "live-a"))
    hub.publish(_item(1, 7, "live-b"))
    assert _queued(conn) == []  # held while the replay runs

    # The replay reached (5-0, 0-0): live-a was already sent from Redis.
    delivered: Position = ((5, 0), (0, 0))
    assert hub.settle_replay(conn, sub, delivered) is None

    assert [f["data"]["n"] for f in _queued(conn)] == ["live-b"]
    hub.publish(_item(0, 9, "after"))
    assert [f["data"]["n"] for f in _queued(conn)] == ["after"]


async def test_a_replay_whose_buffer_overflows_replays_again_from_redis() -> None:
    hub, conn = _hub(queue=4)
    sub = hub.subscribe(conn, "admin:events", buffering=True)
    for ms in range(1, 10):
        hub.publish(_item(0, ms))

    again = hub.settle_replay(conn, sub, ((0, 0), (0, 0)))

    assert again == ((9, 0), (0, 0))  # replay up to here from the log, then settle again
    assert _queued(conn) == []
    assert hub.settle_replay(conn, sub, ((9, 0), (0, 0))) is None


async def test_a_client_resuming_ahead_of_this_relay_gets_nothing_twice() -> None:
    hub, conn = _hub()
    sub = hub.subscribe(conn, "admin:events", buffering=True)
    # Another relay had already sent up to 8-0 in partition 1.
    hub.settle_replay(conn, sub, ((0, 0), (8, 0)))

    hub.publish(_item(1, 6, "already-had"))
    hub.publish(_item(0, 7, "new"))
    hub.publish(_item(1, 9, "newer"))

    frames = _queued(conn)
    assert [f["data"]["n"] for f in frames] == ["new", "newer"]
    assert frames[0]["position"] == "7-0,8-0"  # never behind what the client has
    assert frames[1]["position"] == "7-0,9-0"


async def test_a_token_revoked_while_its_auth_was_in_flight_is_not_registered() -> None:
    hub, conn = _hub()
    identity = Identity(Viewer("u1", frozenset()), "hash-of-token", time.time() + 60)
    hub.revoke("hash-of-token")  # the logout went by before the auth finished

    assert hub.authenticate(conn, identity) == "unauthenticated"
    assert conn.identity is None

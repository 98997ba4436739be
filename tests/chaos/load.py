"""The load: signed-in users renaming themselves, from concurrent clients that retry like real ones.

Every command carries a client-chosen `command_id`, chosen before the first try: a retry after a
503 or a lost connection is the same command, never a second one. Each display name is unique,
so each succeeded command must leave exactly one `DisplayNameChanged` carrying its id.
"""

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.cluster import Cluster
from tests.e2e.client import login, register, unique_email, wait_projected

PASSWORD = "chaos suite password"
COMMAND_DEADLINE = 60.0  # a client gives one command this long to be accepted
FIRST_BACKOFF, LAST_BACKOFF = 0.05, 1.0


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    token: str

    @property
    def aggregate_id(self) -> str:
        return f"user:{self.user_id}"

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass
class Sent:
    """One command a client tried to send; `accepted` once it got its 202."""

    command_id: str
    user: User
    display_name: str
    accepted: bool = False


@dataclass
class Tally:
    """What the clients saw: every command tried, and every HTTP answer or connection error."""

    sent: list[Sent] = field(default_factory=list)
    # "202" (at most one per command), "503", "ConnectError"...
    answers: Counter[str] = field(default_factory=Counter)
    last_send: float = 0.0  # loop time of the last POST
    watchers: list[tuple[Callable[["Tally"], bool], asyncio.Event]] = field(default_factory=list)

    @property
    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.accepted]

    def when(self, condition: Callable[["Tally"], bool]) -> asyncio.Event:
        """An event set as soon as `condition` holds (checked after every answer)."""
        event = asyncio.Event()
        self.watchers.append((condition, event))
        self._notify()
        return event

    def note(self, answer: str) -> None:
        self.answers[answer] += 1
        self.last_send = asyncio.get_running_loop().time()
        self._notify()

    def _notify(self) -> None:
        for condition, event in self.watchers:
            if not event.is_set() and condition(self):
                event.set()


async def sign_up(cluster: Cluster, count: int) -> list[User]:
    """Registers and signs in `count` users (argon2 makes this the slow part: keep it small)."""
    emails = [unique_email("chaos") for _ in range(count)]
    async with httpx.AsyncClient(base_url=cluster.web, timeout=30) as web:
        responses = await asyncio.gather(*(register(web, email, PASSWORD) for email in emails))
        refused = [r.text for r in responses if r.status_code != 202]
        if refused:
            raise RuntimeError(f"registration refused: {refused[:3]}")
        await asyncio.gather(*(wait_projected(cluster.stack, email) for email in emails))
        sessions = await asyncio.gather(*(login(web, email, PASSWORD) for email in emails))
    return [
        User(user_id=str(s["user_id"]), email=email, token=str(s["token"]))
        for email, s in zip(emails, sessions, strict=True)
    ]


async def post_command(
    web: httpx.AsyncClient, sent: Sent, tally: Tally, *, reply_to: str | None = None
) -> None:
    """POSTs until accepted, refused for good, or out of time; retries 503s and lost connections
    with capped exponential backoff and jitter, as a well-behaved client does."""
    body: dict[str, Any] = {
        "command": "ChangeDisplayName",
        "payload": {"display_name": sent.display_name},
        "command_id": sent.command_id,
    }
    if reply_to is not None:
        body["reply_to"] = reply_to
    loop = asyncio.get_running_loop()
    give_up = loop.time() + COMMAND_DEADLINE
    delay = FIRST_BACKOFF
    while True:
        try:
            response = await web.post("/command", json=body, headers=sent.user.auth)
        except httpx.TransportError as error:
            tally.note(type(error).__name__)
        else:
            tally.note(str(response.status_code))
            if response.status_code == 202:
                sent.accepted = True
                return
            if response.status_code != 503:
                return  # a 4xx or a 500: not worth retrying, and counted
        if loop.time() + delay > give_up:
            return
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # backoff, not a wait for an event
        delay = min(delay * 2, LAST_BACKOFF)


async def run_load(
    cluster: Cluster,
    users: list[User],
    *,
    label: str,
    count: int,
    concurrency: int,
    within: float,
    tally: Tally | None = None,
    pause: float = 0.0,
) -> Tally:
    """`count` renames spread over `users` by `concurrency` clients, stopping at `within`
    seconds whatever is left; `pause` spaces each client's sends to spread the load in time."""
    tally = tally if tally is not None else Tally()
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + within
    numbers = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency)

    async def client(web: httpx.AsyncClient) -> None:
        for n in numbers:
            if loop.time() >= stop_at:
                return
            sent = Sent(str(uuid.uuid4()), users[n % len(users)], f"{label}-{n}")
            tally.sent.append(sent)
            await post_command(web, sent, tally)
            if pause:
                await asyncio.sleep(pause)  # pacing the load, not waiting for anything

    async with httpx.AsyncClient(base_url=cluster.web, timeout=10, limits=limits) as web:
        await asyncio.gather(*(client(web) for _ in range(concurrency)))
    return tally

"""One WebSocket client as the relay sees it: identity, subscriptions, bounded send queue."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from api.relay_entries import OutEvent
from api.relay_frames import kind_of
from api.relay_positions import Position, covers, merged
from api.relay_topics import Viewer
from infra.metrics import frame_sent


@dataclass(frozen=True)
class Identity:
    """What an `auth` frame established; dropped on logout (revocation) or session expiry."""

    viewer: Viewer
    token_hash: str
    expires_at: float  # epoch seconds


class Subscription:
    """One topic a connection follows. While a `since` replay runs, live events wait in
    `buffer`; `floor` is what the client already has, so nothing is sent twice. `member` is the
    user the topic's audience lookup allowed, if it rests on one (an order's customer)."""

    __slots__ = ("buffer", "floor", "member", "overflowed", "topic")

    def __init__(self, topic: str, *, buffering: bool, member: str | None = None) -> None:
        self.topic = topic
        self.member = member
        self.floor: Position | None = None
        self.buffer: list[tuple[OutEvent, Position]] | None = [] if buffering else None
        self.overflowed = False

    def admit(self, item: OutEvent, position: Position) -> Position | None:
        """The position to show with this live event, or None if the client already has it."""
        floor = self.floor
        if floor is None:
            return position
        if item.entry_id <= floor[item.partition]:
            return None
        if covers(position, floor):
            self.floor = None
            return position
        # The client resumed from a relay further ahead: never show a position behind it.
        return merged(position, floor)


class Connection:
    """One WebSocket client: its reply_to, identity, subscriptions and bounded send queue."""

    def __init__(self, reply_to: str, ip: str, queue_size: int) -> None:
        self.reply_to = reply_to
        self.ip = ip
        # None in the queue means "close once everything before it is sent".
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(queue_size)
        self.identity: Identity | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self.attached = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.client_gone = False
        self.writer: asyncio.Task[None] | None = None
        self.expiry: asyncio.TimerHandle | None = None
        # Replays fill at most half the queue, so live frames still fit beside them.
        self._paced_mark = max(1, queue_size // 2)
        self._room = asyncio.Event()

    @property
    def buffer_limit(self) -> int:
        return max(1, self.queue.maxsize - self._paced_mark)

    async def drain(self, send: Callable[[str], Awaitable[None]]) -> None:
        """The writer task: sends queued frames in order until the close marker."""
        while True:
            frame = await self.queue.get()
            if frame is None:
                return
            await send(frame)
            frame_sent(kind_of(frame))
            if self.queue.qsize() < self._paced_mark:
                self._room.set()

    async def wait_for_room(self) -> None:
        while self.queue.qsize() >= self._paced_mark:
            self._room.clear()
            await self._room.wait()

    async def put_paced(self, frame: str) -> None:
        """Queues a replayed frame, waiting for the writer rather than overflowing."""
        await self.wait_for_room()
        if self.attached:
            self.queue.put_nowait(frame)

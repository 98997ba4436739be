"""Scenario 5: the relay SIGKILLed mid-stream. A subscriber reconnects to the restarted relay and
resumes with `since=<last position>`: what it got before and after the kill is exactly the user's
`DisplayNameChanged` history, in order, nothing missing, nothing twice.
"""

import asyncio
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed

from tests.chaos.cluster import Cluster
from tests.chaos.common import Sizes, checker, note, settle, stopped
from tests.chaos.load import Tally, User, run_load, sign_up
from tests.chaos.verify import EFFECT, Figures, history
from tests.e2e.client import Listener, listen

LOAD_SECONDS = 4.0  # the renames are spread over about this long, so they flow across the kill
CLIENTS = 2
FRAME_WITHIN = 15.0
Frames = asyncio.Queue[dict[str, Any]]


async def relay_kill(cluster: Cluster, sizes: Sizes) -> Figures:
    """5. The relay SIGKILLed after a third of the renames reached the subscriber."""
    await cluster.start(workers=2)
    [user] = await sign_up(cluster, 1)
    topic = f"user:{user.user_id}"
    tally = Tally()
    received: list[dict[str, Any]] = []
    renames = run_load(
        cluster,
        [user],
        label="relay",
        count=sizes.relay_load,
        concurrency=CLIENTS,
        within=60,
        tally=tally,
        pause=LOAD_SECONDS * CLIENTS / sizes.relay_load,
    )
    load: asyncio.Task[Tally] | None = None
    try:
        async with listen(cluster.relay) as first:
            queue = await _subscribe(first, user, topic, since=None)
            # Subscribed before the first rename: the frames and the history start together.
            load = asyncio.create_task(renames)
            reader = asyncio.create_task(_collect(first, queue))
            try:
                while len(received) < sizes.relay_load // 3:
                    received.append(await asyncio.wait_for(queue.get(), FRAME_WITHIN))
                await cluster.kill("relay")
                await asyncio.wait_for(reader, FRAME_WITHIN)  # ends when the socket drops
            finally:
                await stopped(reader)
            received += _drain(queue)
        before = len(received)
        await cluster.start_http("relay")
        async with listen(cluster.relay) as second:
            queue = await _subscribe(second, user, topic, since=received[-1]["position"])
            reader = asyncio.create_task(_collect(second, queue))
            try:
                await load
                figures = await settle(cluster, tally, users=[user], within=30)
                async with checker(cluster) as redis:
                    records = await history(redis, cluster.partitions, user)
                expected = [r["data"]["display_name"] for r in records if r["event"] == EFFECT]
                received += await _until_pong(second, queue, len(expected) - len(received))
            finally:
                await stopped(reader)
    finally:
        if load is None:
            renames.close()  # never started
        else:
            await stopped(load)
    got = [f.get("data", {}).get("display_name") for f in received]
    note(
        f"frames: {before} before the kill, {len(received) - before} after resuming; "
        f"{len(expected)} events in the history"
    )
    figures.check(
        all(f["type"] == "event" and f["topic"] == topic and f["position"] for f in received),
        f"unexpected frames: {[f for f in received if f['type'] != 'event'][:3]}",
    )
    missing = sorted(set(expected) - set(got))
    twice = sorted({name for name in got if got.count(name) > 1})
    figures.check(not missing, f"{len(missing)} events never reached the subscriber: {missing[:5]}")
    figures.check(not twice, f"{len(twice)} events reached it twice: {twice[:5]}")
    figures.check(got == expected, "the frames are not the history, in order")
    figures.check(figures.succeeded == figures.accepted, "every rename should have succeeded")
    return figures


async def _subscribe(listener: Listener, user: User, topic: str, since: str | None) -> Frames:
    answer = await listener.authenticate(user.token)
    if answer.get("type") != "authenticated":
        raise RuntimeError(f"auth refused: {answer}")
    frame: dict[str, Any] = {"type": "subscribe", "topic": topic}
    if since is not None:
        frame["since"] = since
    answer = await listener.request(frame)
    if answer.get("type") != "subscribed":
        raise RuntimeError(f"subscribe refused: {answer}")
    return asyncio.Queue()


async def _collect(listener: Listener, queue: Frames) -> None:
    """Reads the socket without pause (a client that stops reading is dropped as slow) and
    keeps what matters here: events, errors and pongs; results are not this test's business."""
    try:
        async for raw in listener.ws:
            frame = orjson.loads(raw)
            if frame["type"] != "result":
                queue.put_nowait(frame)
    except ConnectionClosed:
        pass


async def _until_pong(listener: Listener, queue: Frames, wanted: int) -> list[dict[str, Any]]:
    """The next `wanted` frames (fewer if they stop coming), then whatever arrives before the
    answer to a ping: the relay answers it after everything it queued before, so a late
    duplicate would show up here."""
    frames: list[dict[str, Any]] = []
    try:
        while len(frames) < wanted:
            frames.append(await asyncio.wait_for(queue.get(), FRAME_WITHIN))
    except TimeoutError:
        pass  # the comparison with the history tells what is missing
    await listener.send({"type": "ping"})
    while (frame := await asyncio.wait_for(queue.get(), FRAME_WITHIN))["type"] != "pong":
        frames.append(frame)
    return frames


def _drain(queue: Frames) -> list[dict[str, Any]]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items

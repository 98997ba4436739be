"""Whatever a client sends on the relay's WebSocket, it is answered by the contract and the
connection stays open: generated frames, sent to the real relay process over a real socket."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from tests.e2e.generated import json_values
from tests.e2e.processes import Stack

FRAME_TIMEOUT = 10.0
# What the relay may answer to a client's frame (pushed results and events aside).
ANSWERS = {"authenticated", "subscribed", "unsubscribed", "pong", "error"}
ERROR_CODES = {"bad_frame", "unauthenticated", "forbidden", "unknown_topic"}

topics = st.sampled_from(["user:", "order:", "admin:events", "user:someone", ""]) | st.text(
    max_size=40
)
frame_objects = st.fixed_dictionaries(
    {"type": st.sampled_from(["auth", "subscribe", "unsubscribe", "ping", "hello"]) | json_values},
    optional={
        "token": st.text(max_size=80) | json_values,
        "topic": topics | json_values,
        "since": st.text(max_size=40) | json_values,
    },
)
frames: st.SearchStrategy[str | bytes] = (
    frame_objects.map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=200)
    | st.binary(max_size=200)
)


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[ClientConnection]:
    with connect(stack.relay, open_timeout=FRAME_TIMEOUT, max_size=2**20) as ws:
        assert json.loads(ws.recv(timeout=FRAME_TIMEOUT))["type"] == "welcome"
        yield ws


def answers_before_a_marker(ws: ClientConnection) -> list[dict[str, Any]]:
    """Everything answered before the answer to a frame of our own, one no generated frame can
    be: a subscription to a topic of no kind, refused with its name."""
    marker = f"marker:{uuid.uuid4()}"
    ws.send(json.dumps({"type": "subscribe", "topic": marker}))
    seen: list[dict[str, Any]] = []
    while True:
        frame = json.loads(ws.recv(timeout=FRAME_TIMEOUT))
        if frame.get("topic") == marker:
            assert frame == {"type": "error", "code": "unknown_topic", "topic": marker}
            return seen
        seen.append(frame)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=frames)
def test_no_frame_closes_the_connection_or_goes_unanswered_by_the_contract(
    client: ClientConnection, frame: str | bytes
) -> None:
    client.send(frame)

    # A frame of our own after it is answered: the connection is open, and whatever came
    # between is the contract's.
    for answer in answers_before_a_marker(client):
        assert answer["type"] in ANSWERS | {"result", "event"}, answer
        if answer["type"] == "error":
            assert answer["code"] in ERROR_CODES, answer

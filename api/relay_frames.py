"""The relay's wire frames: what clients may send, and what the server pushes (encoded once)."""

from typing import Annotated, Any

import msgspec
import orjson

from api.relay_entries import OutEvent, is_public
from api.relay_positions import Position, format_position
from events.envelope import Result


class ClientFrame(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of the frames a client sends; unknown extra fields are ignored."""


class Auth(ClientFrame, tag="auth"):
    token: Annotated[str, msgspec.Meta(max_length=512)]


class Subscribe(ClientFrame, tag="subscribe"):
    topic: Annotated[str, msgspec.Meta(max_length=256)]
    since: Annotated[str, msgspec.Meta(max_length=4096)] | None = None


class Unsubscribe(ClientFrame, tag="unsubscribe"):
    topic: Annotated[str, msgspec.Meta(max_length=256)]


class Ping(ClientFrame, tag="ping"):
    pass


Incoming = Auth | Subscribe | Unsubscribe | Ping
_decoder = msgspec.json.Decoder(Incoming)


def decode_frame(text: str) -> Incoming | None:
    """The client's frame, or None for anything that is not one of ours (bad_frame)."""
    try:
        frame: Incoming = _decoder.decode(text)
    except msgspec.DecodeError:  # ValidationError included: wrong type, field or shape
        return None
    return frame


def encode(frame: dict[str, Any]) -> str:
    # Text frames carry str; decoding once here lets every recipient share the same object.
    return orjson.dumps(frame).decode()


_TYPE_PREFIX = '{"type":"'


def kind_of(frame: str) -> str:
    """The frame's type, read from its text: every frame here is encoded with `type` first."""
    if not frame.startswith(_TYPE_PREFIX):
        return ""
    return frame[len(_TYPE_PREFIX) : frame.find('"', len(_TYPE_PREFIX))]


PONG = encode({"type": "pong"})


def welcome(reply_to: str) -> str:
    return encode({"type": "welcome", "reply_to": reply_to})


def authenticated(user_id: str) -> str:
    return encode({"type": "authenticated", "user_id": user_id})


def subscribed(topic: str) -> str:
    return encode({"type": "subscribed", "topic": topic})


def unsubscribed(topic: str) -> str:
    return encode({"type": "unsubscribed", "topic": topic})


def error(code: str, topic: str | None = None) -> str:
    if topic is None:
        return encode({"type": "error", "code": code})
    return encode({"type": "error", "code": code, "topic": topic})


def result(outcome: Result) -> str:
    """Never carries `actor` or `reply_to`: they say who is listening, not what happened."""
    frame: dict[str, Any] = {
        "type": "result",
        "command_id": outcome.command_id,
        "status": outcome.status,
        # The worker already leaves private events out; checked again as a second guard.
        "events": [
            {"event": item.event, "data": item.data}
            for item in outcome.events
            if is_public(item.event)
        ],
    }
    if outcome.error is not None:
        frame["error"] = {"code": outcome.error.code, "message": outcome.error.message}
    return encode(frame)


def event(topic: str, item: OutEvent, position: Position) -> str:
    return encode(
        {
            "type": "event",
            "topic": topic,
            "event": item.name,
            "data": item.data,
            "position": format_position(position),
        }
    )

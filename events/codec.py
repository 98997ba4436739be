"""Encoders and decoders, built once and reused on every hot path."""

from typing import Any

import msgspec

from events.commands import COMMAND_TYPES, Command
from events.envelope import Envelope, EventRecord, Result
from events.events import EVENT_TYPES, Event
from events.upcasting import upcast

encoder = msgspec.json.Encoder()
envelope_decoder = msgspec.json.Decoder(Envelope)
record_decoder = msgspec.json.Decoder(EventRecord)
result_decoder = msgspec.json.Decoder(Result)

_command_decoders = {name: msgspec.json.Decoder(cls) for name, cls in COMMAND_TYPES.items()}
_event_decoders = {name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()}


class UnknownCommand(ValueError):
    """A stored command names a type this process does not know."""


class UnknownEvent(ValueError):
    """A stored event names a type this process does not know."""


def decode_command(envelope: Envelope) -> Command:
    decoder = _command_decoders.get(envelope.command)
    if decoder is None:
        raise UnknownCommand(envelope.command)
    return decoder.decode(envelope.payload)


def decode_event(record: EventRecord) -> Event:
    cls = EVENT_TYPES.get(record.event)
    if cls is None:
        raise UnknownEvent(record.event)
    if record.version == cls.version:
        return _event_decoders[record.event].decode(record.data)
    data = upcast(record.event, record.version, msgspec.json.decode(record.data))
    return msgspec.convert(data, cls)


def event_name(event: Event) -> str:
    return type(event).__name__


def event_data(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(event)
    return data

"""Stream ids and the relay's opaque positions: one last-seen event id per partition."""

import re

StreamId = tuple[int, int]  # (milliseconds, sequence): compares like Redis orders entries
Position = tuple[StreamId, ...]

ZERO: StreamId = (0, 0)
_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")


def parse_id(raw: str | bytes) -> StreamId:
    """A Redis entry id; raises ValueError if it is not `<ms>-<seq>`."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    match = _ID.fullmatch(text)
    if match is None:
        raise ValueError(f"not a stream id: {text!r}")
    return int(match[1]), int(match[2])


def format_id(stream_id: StreamId) -> str:
    return f"{stream_id[0]}-{stream_id[1]}"


def format_position(position: Position) -> str:
    return ",".join(format_id(part) for part in position)


def parse_position(text: str, partitions: int) -> Position | None:
    """A position sent back by a client, or None if it is malformed or for another layout."""
    parts = text.split(",")
    if len(parts) != partitions:
        return None
    try:
        return tuple(parse_id(part) for part in parts)
    except ValueError:
        return None


def merged(a: Position, b: Position) -> Position:
    """The later of the two ids, partition by partition."""
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def covers(a: Position, b: Position) -> bool:
    """True when `a` is at or past `b` in every partition."""
    return all(x >= y for x, y in zip(a, b, strict=True))

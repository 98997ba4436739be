"""Stored events of old versions read as the current ones: the name split, chains, dead ends."""

from typing import ClassVar

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.codec import decode_event, encoder
from events.envelope import EventRecord
from events.events import EVENT_TYPES, Event, UserRegistered
from events.names import join_display_name, split_display_name
from events.upcasting import UPCASTERS, Data, MissingUpcaster, missing_steps, upcast

# Any text, spaces and all: names are bounded by the contract, not by what the split accepts.
names = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", " ", "  ", "Ada", "Ada Lovelace", "Ada King Lovelace", " Ada", "Ada ", "Zoë  Ångström"]
)


def record(name: str, version: int, data: Data) -> EventRecord:
    return EventRecord(
        event=name,
        version=version,
        data=msgspec.Raw(encoder.encode(data)),
        aggregate_id="user:u1",
        aggregate_version=1,
        command_id="c1",
        correlation_id="c1",
        causation_id=None,
        actor=None,
        occurred_at=1,
    )


def v1_registration(display_name: str) -> Data:
    return {"user_id": "u1", "email": "u@x.io", "display_name": display_name, "roles": ["customer"]}


@pytest.mark.parametrize(
    ("display_name", "parts"),
    [
        ("Ada", ("Ada", None)),
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Ada King Lovelace", ("Ada", "King Lovelace")),
        ("Ada  Lovelace", ("Ada", " Lovelace")),
        (" Ada", ("", "Ada")),
        ("Ada ", ("Ada", "")),
        ("", ("", None)),
        ("Zoë Ångström-Ñúñez", ("Zoë", "Ångström-Ñúñez")),
        ("李 小龍", ("李", "小龍")),
        ("Ada\tLovelace", ("Ada\tLovelace", None)),  # only U+0020 separates
    ],
)
def test_a_display_name_splits_at_its_first_space_and_joins_back(
    display_name: str, parts: tuple[str, str | None]
) -> None:
    assert split_display_name(display_name) == parts
    assert join_display_name(*parts) == display_name


@given(names)
def test_splitting_then_joining_any_display_name_gives_it_back(display_name: str) -> None:
    given_name, family_name = split_display_name(display_name)
    assert " " not in given_name
    assert (family_name is None) == (" " not in display_name)
    assert join_display_name(given_name, family_name) == display_name


@given(names.filter(lambda name: " " not in name), st.none() | names)
def test_joining_then_splitting_gives_the_parts_back(
    given_name: str, family_name: str | None
) -> None:
    assert split_display_name(join_display_name(given_name, family_name)) == (
        given_name,
        family_name,
    )


@given(names)
def test_a_v1_registration_reads_as_v2_with_the_same_display_name(display_name: str) -> None:
    event = decode_event(record("UserRegistered", 1, v1_registration(display_name)))

    assert isinstance(event, UserRegistered)
    assert (event.given_name, event.family_name) == split_display_name(display_name)
    assert join_display_name(event.given_name, event.family_name) == display_name
    assert (event.user_id, event.email, event.roles) == ("u1", "u@x.io", ("customer",))


def test_a_v1_registration_reads_exactly_as_the_v2_the_code_writes_today() -> None:
    v2 = UserRegistered(
        user_id="u1", email="u@x.io", given_name="Ada", family_name="Lovelace", roles=("customer",)
    )
    from_v2 = decode_event(record("UserRegistered", 2, msgspec.to_builtins(v2)))
    from_v1 = decode_event(record("UserRegistered", 1, v1_registration("Ada Lovelace")))
    assert from_v1 == from_v2 == v2


def test_an_upcaster_leaves_the_stored_data_untouched() -> None:
    stored = v1_registration("Ada Lovelace")
    snapshot = dict(stored)
    upcast("UserRegistered", 1, stored)
    assert stored == snapshot


def test_a_v1_registration_without_a_display_name_is_a_validation_error() -> None:
    broken = {"user_id": "u1", "email": "u@x.io", "roles": []}
    with pytest.raises(msgspec.ValidationError, match="given_name"):
        decode_event(record("UserRegistered", 1, broken))


def test_a_version_newer_than_the_code_is_a_missing_upcaster() -> None:
    newer = record("UserRegistered", 3, {"user_id": "u1", "email": "u@x.io", "roles": []})
    with pytest.raises(MissingUpcaster, match="UserRegistered v3") as raised:
        decode_event(newer)
    assert (raised.value.event, raised.value.version, raised.value.current) == (
        "UserRegistered",
        3,
        2,
    )


def test_a_version_below_one_is_a_missing_upcaster() -> None:
    with pytest.raises(MissingUpcaster, match="v0"):
        decode_event(record("UserRegistered", 0, v1_registration("Ada")))


def test_every_event_below_its_current_version_has_an_upcaster() -> None:
    assert missing_steps() == []


# --- A chain of two steps, on an event that exists only for these tests ----------------------


class Greeted(Event, frozen=True, kw_only=True):
    """v1 {who}, v2 {who, times}, v3 {name, times}."""

    version: ClassVar[int] = 3

    name: str
    times: int


def greeted_v1_to_v2(data: Data) -> Data:
    return {**data, "times": 1}


def greeted_v2_to_v3(data: Data) -> Data:
    rest = {key: value for key, value in data.items() if key != "who"}
    return {**rest, "name": data["who"]}


@pytest.fixture
def greeted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EVENT_TYPES, "Greeted", Greeted)
    monkeypatch.setitem(UPCASTERS, ("Greeted", 1), greeted_v1_to_v2)
    monkeypatch.setitem(UPCASTERS, ("Greeted", 2), greeted_v2_to_v3)


@pytest.mark.usefixtures("greeted")
def test_a_v1_event_is_upcast_through_every_step_to_the_current_version() -> None:
    assert upcast("Greeted", 1, {"who": "Ada"}) == {"name": "Ada", "times": 1}
    assert upcast("Greeted", 2, {"who": "Ada", "times": 4}) == {"name": "Ada", "times": 4}
    assert decode_event(record("Greeted", 1, {"who": "Ada"})) == Greeted(name="Ada", times=1)


@pytest.mark.usefixtures("greeted")
def test_a_chain_with_a_missing_step_is_a_missing_upcaster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(UPCASTERS, ("Greeted", 2))

    assert missing_steps() == [("Greeted", 2)]
    with pytest.raises(MissingUpcaster, match="Greeted v1: no upcaster from v2 to v3") as raised:
        decode_event(record("Greeted", 1, {"who": "Ada"}))
    assert (raised.value.version, raised.value.current) == (1, 3)


def test_an_event_the_code_does_not_know_cannot_be_upcast() -> None:
    with pytest.raises(MissingUpcaster, match="no such event"):
        upcast("Vanished", 1, {})

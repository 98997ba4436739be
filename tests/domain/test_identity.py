"""Given past events, when a command, then new events or a domain error."""

import msgspec
import pytest

from domain import identity
from domain.aggregate import Context, replay
from domain.errors import EmailTaken, UnknownUser, UserAlreadyExists
from events.codec import decode_event
from events.commands import ChangeDisplayName, RecordLogin, RegisterUser
from events.envelope import EventRecord
from events.events import DisplayNameChanged, Event, UserLoggedIn, UserPasswordSet, UserRegistered

ALICE = "user-alice"
NOBODY = Context()


def register(
    user_id: str = ALICE, email: str = "alice@example.com", display_name: str = "Alice"
) -> RegisterUser:
    return RegisterUser(
        user_id=user_id, email=email, display_name=display_name, password_hash="$argon2id$fake"
    )


def given(*events: Event) -> identity.User | None:
    state: identity.User | None = replay(identity.RULES, list(events))
    return state


REGISTERED = UserRegistered(
    user_id=ALICE, email="alice@example.com", given_name="Alice", roles=("customer",)
)


def test_registering_a_new_user_records_the_user_and_their_password_hash() -> None:
    events = identity.decide(given(), register(), NOBODY)
    assert events == [
        UserRegistered(
            user_id=ALICE,
            email="alice@example.com",
            given_name="Alice",
            family_name=None,
            roles=("customer",),
        ),
        UserPasswordSet(user_id=ALICE, password_hash="$argon2id$fake"),
    ]


def test_a_registration_records_the_display_name_split_at_its_first_space() -> None:
    command = register(display_name="Ada King Lovelace")
    [registered, _] = identity.decide(given(), command, NOBODY)
    assert isinstance(registered, UserRegistered)
    assert (registered.given_name, registered.family_name) == ("Ada", "King Lovelace")


def test_a_registered_user_keeps_the_display_name_they_registered_with() -> None:
    for name in ("Alice", "Ada King Lovelace", " Ada", "Ada ", "Zoë  Ångström"):
        events = identity.decide(given(), register(display_name=name), NOBODY)
        state = given(*events)
        assert state is not None and state.display_name == name


def test_a_registration_stored_as_v1_evolves_into_the_same_user_as_v2() -> None:
    v1 = EventRecord(
        event="UserRegistered",
        version=1,
        data=msgspec.Raw(
            b'{"user_id":"user-alice","email":"alice@example.com",'
            b'"display_name":"Ada Lovelace","roles":["customer"]}'
        ),
        aggregate_id=f"user:{ALICE}",
        aggregate_version=1,
        command_id="c1",
        correlation_id="c1",
        causation_id=None,
        actor=None,
        occurred_at=1,
    )
    v2 = UserRegistered(
        user_id=ALICE,
        email="alice@example.com",
        given_name="Ada",
        family_name="Lovelace",
        roles=("customer",),
    )
    assert decode_event(v1) == v2
    state = given(decode_event(v1))
    assert state == given(v2)
    assert state is not None and state.display_name == "Ada Lovelace"


def test_the_public_registration_event_carries_no_password_hash() -> None:
    registered = identity.decide(given(), register(), NOBODY)[0]
    assert not registered.private
    assert "hash" not in repr(registered)


def test_the_password_event_is_private() -> None:
    assert UserPasswordSet.private


def test_an_email_owned_by_another_user_is_rejected_as_taken() -> None:
    owners = {identity.email_claim("alice@example.com"): "someone-else"}
    with pytest.raises(EmailTaken):
        identity.decide(given(), register(), Context(owners=owners))


def test_an_email_already_owned_by_the_same_user_id_is_not_a_conflict() -> None:
    owners = {identity.email_claim("alice@example.com"): ALICE}
    assert identity.decide(given(), register(), Context(owners=owners))


def test_registering_an_existing_user_id_again_is_rejected() -> None:
    with pytest.raises(UserAlreadyExists):
        identity.decide(given(REGISTERED), register(), NOBODY)


def test_a_registration_claims_its_email_for_its_user() -> None:
    assert identity.claims(register()) == {"email:alice@example.com": ALICE}


def test_a_login_is_recorded_for_a_known_user() -> None:
    command = RecordLogin(user_id=ALICE, session_id="s1")
    assert identity.decide(given(REGISTERED), command, NOBODY) == [
        UserLoggedIn(user_id=ALICE, session_id="s1")
    ]


def test_a_login_for_an_unknown_user_is_rejected() -> None:
    with pytest.raises(UnknownUser):
        identity.decide(given(), RecordLogin(user_id=ALICE, session_id="s1"), NOBODY)


def test_evolving_counts_logins_and_remembers_the_password() -> None:
    state = given(
        REGISTERED,
        UserPasswordSet(user_id=ALICE, password_hash="h"),
        UserLoggedIn(user_id=ALICE, session_id="s1"),
        UserLoggedIn(user_id=ALICE, session_id="s2"),
    )
    assert state is not None
    assert state.has_password
    assert state.logins == 2
    assert state.roles == ("customer",)


def test_a_user_may_change_their_display_name() -> None:
    command = ChangeDisplayName(user_id=ALICE, display_name="Ada")
    assert identity.decide(given(REGISTERED), command, NOBODY) == [
        DisplayNameChanged(user_id=ALICE, display_name="Ada")
    ]


def test_changing_to_the_same_display_name_records_nothing() -> None:
    command = ChangeDisplayName(user_id=ALICE, display_name="Alice")
    assert identity.decide(given(REGISTERED), command, NOBODY) == []


def test_an_unknown_user_cannot_change_a_display_name() -> None:
    with pytest.raises(UnknownUser):
        identity.decide(given(), ChangeDisplayName(user_id=ALICE, display_name="Ada"), NOBODY)


def test_the_latest_display_name_wins() -> None:
    state = given(
        REGISTERED,
        DisplayNameChanged(user_id=ALICE, display_name="Ada"),
        DisplayNameChanged(user_id=ALICE, display_name="Ada L."),
    )
    assert state is not None and state.display_name == "Ada L."

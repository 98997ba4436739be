"""`error.path` names the field a payload got wrong, as the contract shows (`$.payload.email`):
one of the wrong type, and one missing or not taken, at any depth; msgspec's own errors."""

import msgspec
import pytest

from api.http import invalid_payload


class Line(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: int


class Order(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    lines: list[Line]


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        ({"lines": []}, "$.payload.email", "Object missing required field `email`"),
        ({"email": "a", "lines": [], "admin": True}, "$.payload.admin", "unknown field `admin`"),
        ({"email": 1, "lines": []}, "$.payload.email", "Expected `str`, got `int`"),
        ({"email": "a", "lines": [{"sku": "s"}]}, "$.payload.lines[0].quantity", "`quantity`"),
        (
            {"email": "a", "lines": [{"sku": "s", "quantity": 1, "x": 0}]},
            "$.payload.lines[0].x",
            "`x`",
        ),
        ([], "$.payload", "Expected `object`, got `array`"),
    ],
)
def test_the_path_names_the_field_and_the_message_says_what_is_wrong(
    doc: object, path: str, message: str
) -> None:
    with pytest.raises(msgspec.ValidationError) as raised:
        msgspec.convert(doc, Order)
    error = invalid_payload(raised.value, "$.payload")

    assert (error.status, error.code) == (422, "invalid_payload")
    assert error.extra["path"] == path
    assert message in error.message and " - at " not in error.message

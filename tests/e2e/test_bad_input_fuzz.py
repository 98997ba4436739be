"""Whatever a client sends to `POST /command`, the answer is one of the contract's: a typed
error (or an acceptance), never a 500. Generated bodies and headers, sent to the real web
process over a real socket."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.command_table import public_specs
from tests.e2e.client import signed_up, unique_email
from tests.e2e.generated import json_values
from tests.e2e.processes import Stack

# The contract's answers to POST /command, and each error's code (with the README's
# `invalid_idempotency_key`: a header the contract bounds, refused as such).
CODES = {
    400: {"malformed_json", "unknown_command", "invalid_idempotency_key"},
    401: {"unauthenticated"},
    403: {"forbidden"},
    409: {"idempotency_conflict"},
    413: {"payload_too_large"},
    415: {"unsupported_media_type"},
    422: {"invalid_payload"},
}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


# Names the commands' payloads use: a generated payload meets their validation, not only the
# "not an object" refusals.
FIELD_NAMES = [
    "email", "password", "display_name", "user_id", "sku", "quantity", "order_id",
    "product_id", "brand_id", "name", "price", "role", "lines",
]  # fmt: skip
command_names = st.sampled_from(sorted(public_specs())) | st.text(max_size=20)
payloads = json_values | st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=5)
command_objects = st.fixed_dictionaries(
    {"command": command_names | json_values},
    optional={
        "payload": payloads,
        "command_id": st.uuids().map(str) | json_values,
        "reply_to": st.text(max_size=200) | json_values,
    },
)
# The standard library's encoder: integers past 64 bits are JSON too, and a client may send them.
bodies = command_objects.map(encode) | json_values.map(encode) | st.binary(max_size=200)
# What HTTP lets a header value hold (visible Latin-1 and spaces): the server sees them all.
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=300,
).map(str.strip)
OVERSIZED = b"x" * 70_000  # past the 64 KiB limit
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "", "application/xml"]
)


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.web, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
async def token(stack: Stack) -> str:
    """A signed-in customer's session: refusals for roles and authentication both show."""
    return await signed_up(stack, unique_email("fuzz"))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=bodies,
    content_type=content_types,
    auth=st.sampled_from(["none", "valid", "garbage", "empty"]),
    idempotency_key=st.none() | header_values,
    oversized=st.booleans(),
)
# Found by a run: an empty Idempotency-Key on an otherwise good request.
@example(
    body=b'{"command": "PlaceOrder"}',
    content_type="application/json",
    auth="valid",
    idempotency_key="",
    oversized=False,
)
def test_no_body_or_header_makes_the_gateway_fail(
    web: httpx.Client,
    token: str,
    body: bytes,
    content_type: str,
    auth: str,
    idempotency_key: str | None,
    oversized: bool,
) -> None:
    headers: dict[str, Any] = {}
    if content_type:
        headers["content-type"] = content_type
    if auth != "none":
        headers["authorization"] = {
            "valid": f"Bearer {token}",
            "garbage": "Bearer nope.nope",
            "empty": "Bearer",
        }[auth]
    if idempotency_key is not None:
        headers["idempotency-key"] = idempotency_key.encode("latin-1")

    response = web.post(
        "/command", content=body + OVERSIZED if oversized else body, headers=headers
    )

    answer = response.json()
    if response.status_code == 202:
        assert answer["ok"] is True and answer["status"] == "accepted", answer
    else:
        assert response.status_code in CODES, (response.status_code, answer)
        assert answer["ok"] is False
        assert answer["error"]["code"] in CODES[response.status_code], answer
        assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]

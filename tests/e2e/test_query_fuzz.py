"""Whatever path and query a client asks of the read routes, the answer is a typed one (found,
not found, refused, invalid), never a 500: generated requests to the real web and admin
processes, anonymous, as a customer and as an admin. Reads only: nothing here changes data."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.client import signed_in, signed_up, unique_email
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.processes import Stack

ANSWERS = {200, 400, 401, 403, 404, 422}
PUBLIC = [
    "/commands/{}", "/users/me", "/products", "/products/{}", "/brands", "/brands/{}", "/cart",
    "/orders", "/orders/{}", "/courier/orders", "/notifications",
]  # fmt: skip
ADMIN = [
    "/commands/{}", "/commands/{}/trace", "/dlq", "/dlq/{}", "/streams", "/orders",
    "/orders/{}", "/users", "/users/{}", "/aggregates/{}", "/aggregates/{}/history",
]  # fmt: skip
QUERY_NAMES = [
    "limit", "after", "role", "status", "brand_id", "customer_id", "courier_id", "version", "at",
    "since", "partition", "x",
]  # fmt: skip

texts = st.text(max_size=40) | st.sampled_from(
    ["user:" + str(uuid.uuid4()), str(uuid.uuid4()), "0", "-1", "99999999999999999999", ""]
)
queries = st.lists(st.tuples(st.sampled_from(QUERY_NAMES), texts), max_size=4)


@dataclass(frozen=True)
class Caller:
    client: httpx.Client
    routes: list[str]
    token: str | None


@pytest.fixture(scope="module")
async def tokens(stack: Stack) -> tuple[str, str]:
    """A customer's session and the first admin's."""
    customer = await signed_up(stack, unique_email("reader"))
    return customer, await signed_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def clients(stack: Stack, tokens: tuple[str, str]) -> Iterator[dict[str, Caller]]:
    web = httpx.Client(base_url=stack.web, timeout=10)
    admin = httpx.Client(base_url=stack.admin, timeout=10)
    customer, root = tokens
    try:
        yield {
            "anonymous": Caller(web, PUBLIC, None),
            "customer": Caller(web, PUBLIC, customer),
            "admin as customer": Caller(admin, ADMIN, customer),
            "admin": Caller(admin, ADMIN, root),
        }
    finally:
        web.close()
        admin.close()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    who=st.sampled_from(["anonymous", "customer", "admin as customer", "admin"]),
    route=st.integers(min_value=0, max_value=max(len(PUBLIC), len(ADMIN)) - 1),
    path_value=texts,
    query=queries,
)
def test_no_path_or_query_makes_a_read_route_fail(
    clients: dict[str, Caller],
    who: str,
    route: int,
    path_value: str,
    query: list[tuple[str, str]],
) -> None:
    caller = clients[who]
    path = caller.routes[route % len(caller.routes)].replace(
        "{}", quote(path_value, safe="") or "x"
    )
    headers = {"authorization": f"Bearer {caller.token}"} if caller.token else {}

    response = caller.client.get(path, params=tuple(query), headers=headers)

    assert response.status_code in ANSWERS, (path, query, response.status_code, response.text)
    answer = response.json()
    assert answer["ok"] is (response.status_code == 200), answer
    if not answer["ok"]:
        assert isinstance(answer["error"]["code"], str) and answer["error"]["message"]

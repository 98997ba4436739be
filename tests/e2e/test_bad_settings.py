"""A process given a bad setting stops at once with one line naming it, not a traceback (and
not the bad value itself where it may hold a password)."""

from pathlib import Path

import pytest

from infra.embedded_redis import free_port
from tests.e2e.conftest import start_http, start_worker
from tests.e2e.processes import Stack

APPS = {
    "web": "api.public:create_app",
    "admin": "api.admin:create_app",
    "relay": "api.relay:create_app",
}
BAD = [
    ("SLUICE_PARTITIONS", "four", "SLUICE_PARTITIONS must be an integer, got 'four'"),
    (
        "REDIS_URL",
        "user:secret@localhost:6379",  # no scheme: and a password not to repeat
        "REDIS_URL must be a URL starting with redis://, rediss://, unix://",
    ),
]


@pytest.mark.parametrize(("variable", "value", "message"), BAD)
@pytest.mark.parametrize("name", ["web", "admin", "relay", "worker"])
def test_a_bad_setting_stops_the_process_with_one_line(
    stack: Stack, tmp_path: Path, name: str, variable: str, value: str, message: str
) -> None:
    env = {**stack.env, variable: value}
    with pytest.raises(RuntimeError, match="did not start") as refused:
        if name == "worker":
            start_worker(f"{name}-bad", env, tmp_path)
        else:
            start_http(f"{name}-bad", APPS[name], free_port(), env, tmp_path)

    printed = str(refused.value).split("did not start:\n", 1)[1]
    assert printed.splitlines() == [f"sluice {name}: {message}"]

"""A process given a bad setting stops at once with one line naming it, not a traceback."""

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


@pytest.mark.parametrize("name", ["web", "admin", "relay", "worker"])
def test_a_bad_setting_stops_the_process_with_one_line(
    stack: Stack, tmp_path: Path, name: str
) -> None:
    env = {**stack.env, "SLUICE_PARTITIONS": "four"}
    with pytest.raises(RuntimeError, match="did not start") as refused:
        if name == "worker":
            start_worker(f"{name}-bad", env, tmp_path)
        else:
            start_http(f"{name}-bad", APPS[name], free_port(), env, tmp_path)

    printed = str(refused.value).split("did not start:\n", 1)[1]
    assert printed.splitlines() == [
        f"sluice {name}: SLUICE_PARTITIONS must be an integer, got 'four'"
    ]

"""`make run`'s choice of fsync policy for the embedded Redis."""

import pytest

from infra.launcher import appendfsync


def test_the_embedded_redis_fsyncs_every_write_unless_told_otherwise() -> None:
    assert appendfsync({}) == "always"
    assert appendfsync({"SLUICE_APPENDFSYNC": ""}) == "always"
    assert appendfsync({"SLUICE_APPENDFSYNC": "everysec"}) == "everysec"


def test_a_policy_that_makes_no_promise_stops_the_launch() -> None:
    with pytest.raises(SystemExit, match="SLUICE_APPENDFSYNC must be always or everysec"):
        appendfsync({"SLUICE_APPENDFSYNC": "no"})

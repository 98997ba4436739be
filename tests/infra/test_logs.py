"""Log lines as operators and log shippers read them: JSON or text, with context, no secrets."""

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from infra import logs

ISO_MS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
ROUTED = ("sluice", "arq", *logs.ROUTED_LOGGERS)


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """`configure` sets process-wide state: each test gets it back as it found it."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    loggers = {name: logging.getLogger(name) for name in ROUTED}
    states = {name: (list(lg.handlers), lg.level, lg.propagate) for name, lg in loggers.items()}
    yield
    logging.captureWarnings(False)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (handlers, level, propagate) in states.items():
        loggers[name].handlers[:] = handlers
        loggers[name].setLevel(level)
        loggers[name].propagate = propagate


def configured(
    monkeypatch: pytest.MonkeyPatch, fmt: str | None, level: str | None = None
) -> logging.Logger:
    for name, value in (("SLUICE_LOG_FORMAT", fmt), ("SLUICE_LOG_LEVEL", level)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    logs.configure("worker")
    return logging.getLogger("sluice.worker.test")


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


def test_a_record_is_one_json_object_with_its_context_and_extra_fields(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = configured(monkeypatch, "json")

    with logs.context(group="workers", consumer="w-1"):
        with logs.context(partition=3, command_id=None):
            log.warning("command %s failed %d times", "c-1", 2, extra={"command_id": "c-1"})
        log.info("after the batch", extra={"correlation_id": "k-9", "attempt": 2})
    log.info("outside")

    inner, after, outside = json_lines(capsys.readouterr().err)
    assert ISO_MS_UTC.fullmatch(inner["ts"])
    assert inner == {
        "ts": inner["ts"],
        "level": "WARNING",
        "logger": "sluice.worker.test",
        "process": "worker",
        "msg": "command c-1 failed 2 times",
        "command_id": "c-1",
        "partition": 3,
        "consumer": "w-1",
        "group": "workers",
    }
    assert list(inner)[:5] == ["ts", "level", "logger", "process", "msg"]
    assert (after["group"], after["correlation_id"], after["attempt"]) == ("workers", "k-9", 2)
    assert "partition" not in after
    assert {"group", "consumer", "partition"}.isdisjoint(outside)


async def test_the_context_belongs_to_the_task_that_set_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = configured(monkeypatch, "json")
    inside = asyncio.Event()

    async def consumer() -> None:
        with logs.context(group="projector"):
            inside.set()
            await asyncio.sleep(0)
            log.info("in the consumer")

    task = asyncio.create_task(consumer())
    await inside.wait()
    log.info("beside it")
    await task

    lines = {line["msg"]: line for line in json_lines(capsys.readouterr().err)}
    assert lines["in the consumer"]["group"] == "projector"
    assert "group" not in lines["beside it"]


def test_text_lines_are_time_level_logger_message_and_fields(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = configured(monkeypatch, "text")

    with logs.context(group="workers"):
        log.info("reclaimed %d entries", 4, extra={"note": "two words"})

    [line] = capsys.readouterr().err.splitlines()
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d\.\d{3} INFO    sluice\.worker\.test: reclaimed 4 entries "
        r'group=workers note="two words"',
        line,
    ), line


def test_json_is_chosen_when_stderr_is_not_a_terminal_and_a_bad_setting_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = configured(monkeypatch, "yaml", level="chatty")
    log.info("hello")

    complaint_format, complaint_level, hello = json_lines(capsys.readouterr().err)
    assert (
        "SLUICE_LOG_FORMAT must be json or text, got 'yaml'; using json" in complaint_format["msg"]
    )
    assert "SLUICE_LOG_LEVEL must be one of" in complaint_level["msg"]
    assert hello["msg"] == "hello"


def test_uvicorn_and_arq_loggers_come_out_through_the_same_handler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # uvicorn sets up its own handlers before the app factory (where `configure` runs).
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.addHandler(logging.StreamHandler())
    logging.getLogger("uvicorn").setLevel(logging.INFO)
    configured(monkeypatch, "json")

    uvicorn.info("Uvicorn running on %s", "http://127.0.0.1:8000", extra={"color_message": "x"})
    logging.getLogger("arq.worker").info("  0.01s → job(...)")  # per job: below the threshold
    logging.getLogger("arq.worker").warning("job %s expired", "j-1")
    logging.getLogger("some.library").info("chatter")  # third parties: warnings and up

    lines = json_lines(capsys.readouterr().err)
    assert [(line["logger"], line["msg"]) for line in lines] == [
        ("uvicorn.error", "Uvicorn running on http://127.0.0.1:8000"),
        ("arq.worker", "job j-1 expired"),
    ]
    assert all(line["process"] == "worker" for line in lines)
    assert "color_message" not in lines[0]


def test_a_logger_switched_off_before_stays_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`uvicorn --no-access-log` empties and detaches `uvicorn.access` before the factory runs:
    one line per request is what the option is there to avoid."""
    access = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(access, "handlers", [])
    monkeypatch.setattr(access, "propagate", False)
    logging.getLogger("uvicorn").setLevel(logging.INFO)
    configured(monkeypatch, "json")
    configured(monkeypatch, "json")

    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/command", "1.1", 202)
    logging.getLogger("uvicorn.error").info("still here")

    lines = json_lines(capsys.readouterr().err)
    assert [(line["logger"], line["msg"]) for line in lines] == [("uvicorn.error", "still here")]


def test_configuring_twice_leaves_one_handler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configured(monkeypatch, "json")
    log = configured(monkeypatch, "json")
    log.info("once")
    assert len(json_lines(capsys.readouterr().err)) == 1


def test_secrets_given_as_fields_args_or_text_are_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = configured(monkeypatch, "json")
    secrets = ["hunter2-pw", "$argon2id$v=19$hash-value", "tok-abc123", "s3cret-redis-pw", "sess-1"]

    log.info("login by %(email)s with %(password)s", {"email": "a@x", "password": "hunter2-pw"})
    log.info(
        "stored",
        extra={
            "password_hash": "$argon2id$v=19$hash-value",
            "payload": {"email": "a@x", "token": "tok-abc123"},
            "session_id": "sess-1",
        },
    )
    log.warning("cannot reach redis://:s3cret-redis-pw@db.internal:6379/0")
    log.warning("headers: Authorization: Bearer tok-abc123")
    log.warning('payload {"password": "hunter2-pw", "email": "a@x"}')

    out = capsys.readouterr().err
    for secret in secrets:
        assert secret not in out
    first, stored, url, header, payload = json_lines(out)
    assert first["msg"] == "login by a@x with [redacted]"
    assert stored["password_hash"] == "[redacted]" and stored["session_id"] == "[redacted]"
    assert stored["payload"] == {"email": "a@x", "token": "[redacted]"}
    assert url["msg"] == "cannot reach redis://:[redacted]@db.internal:6379/0"
    assert header["msg"] == "headers: Authorization: [redacted]"
    assert payload["msg"] == 'payload {"password": "[redacted]", "email": "a@x"}'


def test_an_exception_is_logged_with_its_traceback_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = configured(monkeypatch, "json")

    try:
        raise ValueError("bad login: password=hunter2-pw")
    except ValueError:
        log.exception("handler failed on command %s", "c-7", extra={"command_id": "c-7"})

    [line] = json_lines(capsys.readouterr().err)
    assert line["level"] == "ERROR" and line["command_id"] == "c-7"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("ValueError: bad login: password=[redacted]")
    assert "hunter2" not in json.dumps(line)


def test_text_mode_prints_the_traceback_under_the_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = configured(monkeypatch, "text")

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("consumer iteration failed")

    first, *rest = capsys.readouterr().err.splitlines()
    assert first.endswith("ERROR   sluice.worker.test: consumer iteration failed")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "RuntimeError: boom"

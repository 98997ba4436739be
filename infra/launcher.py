"""`make run`: every process of the Procfile under honcho, with an embedded Redis if needed.

With `REDIS_URL` set, that server is used and none is started. Without it, a real redis-server
starts first (data under `.data/`, AOF on, loopback only) and stops after the app has.
"""

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from infra import logs
from infra.embedded_redis import EmbeddedRedis, free_port, port_is_free

log = logging.getLogger("sluice.launcher")

DEFAULT_REDIS_PORT = 6379
# always: an append is on disk before Redis acknowledges it (see README, Durability).
# everysec: fsync once a second; a machine crash may lose the last second of 202s.
APPENDFSYNC_CHOICES = ("always", "everysec")


def appendfsync(env: dict[str, str]) -> str:
    """`SLUICE_APPENDFSYNC`, `always` unless set; anything else stops the launch."""
    value = env.get("SLUICE_APPENDFSYNC") or "always"
    if value not in APPENDFSYNC_CHOICES:
        choices = " or ".join(APPENDFSYNC_CHOICES)
        raise SystemExit(f"sluice: SLUICE_APPENDFSYNC must be {choices}, got {value!r}")
    return value


def main() -> int:
    logs.configure("launcher")
    env = dict(os.environ)
    # honcho pipes its processes' output: they log in the format this terminal (or pipe) gets.
    env.setdefault("SLUICE_LOG_FORMAT", logs.log_format(env)[0])
    # The Procfile names uvicorn and arq: find them in this virtualenv, activated or not.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    embedded: EmbeddedRedis | None = None
    if not env.get("REDIS_URL"):
        port = int(env.get("SLUICE_REDIS_PORT", DEFAULT_REDIS_PORT))
        if not port_is_free(port):
            port = free_port()
        fsync = appendfsync(env)
        embedded = EmbeddedRedis(
            Path(env.get("SLUICE_DATA_DIR", ".data")).resolve(), port, appendfsync=fsync
        ).start(log=sys.stdout)
        env["REDIS_URL"] = embedded.url
        log.info(
            "embedded redis-server on %s, data in %s, appendfsync %s",
            embedded.url,
            embedded.data_dir,
            fsync,
        )
    else:
        log.info("using REDIS_URL=%s", env["REDIS_URL"])  # its password is redacted
    honcho = [sys.executable, "-m", "honcho", "start", "-f", "Procfile"]
    honcho += ["-p", env.get("PORT", "8000")]
    child = subprocess.Popen(honcho, env=env)
    asked_to_stop = False

    def stop(signum: int, frame: object) -> None:
        nonlocal asked_to_stop
        asked_to_stop = True
        child.send_signal(signal.SIGTERM)

    # A supervisor's SIGTERM is passed on to honcho, which stops every process before we return
    # (by default the launcher would die at once and leave them all running).
    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            try:
                code = child.wait()
                # A stop that was asked for is a success (honcho reports its processes'
                # signals); a process that exited on its own stopped the others: its failure.
                return 0 if asked_to_stop else code
            except KeyboardInterrupt:
                # The terminal's Ctrl-C reached honcho too; wait for it to stop its processes.
                asked_to_stop = True
                continue
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            child.wait()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    sys.exit(main())

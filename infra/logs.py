"""Log set-up for Sluice's own loggers, once per process."""

import logging
import os
import sys


def configure() -> None:
    logger = logging.getLogger("sluice")
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("SLUICE_LOG_LEVEL", "INFO").upper())
    logger.propagate = False

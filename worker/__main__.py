"""`python -m worker`: the worker process, arq hosting Sluice's stream consumers."""

import logging.config
from typing import Any

from arq.logs import default_log_config
from arq.worker import get_kwargs

from worker.host import SluiceWorker
from worker.main import WorkerSettings


def main() -> None:
    logging.config.dictConfig(default_log_config(verbose=False))
    # arq types these settings loosely (its own CLI does the same call).
    settings: Any = get_kwargs(WorkerSettings)  # type: ignore[arg-type]
    SluiceWorker(**settings).run()


if __name__ == "__main__":
    main()

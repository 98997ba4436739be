"""`python -m worker`: the worker process, arq hosting Sluice's stream consumers."""

from typing import Any

from arq.worker import get_kwargs

from infra import logs
from worker.host import SluiceWorker
from worker.main import WorkerSettings


def main() -> None:
    logs.configure("worker")  # arq's loggers included, before arq logs its first line
    # arq types these settings loosely (its own CLI does the same call).
    settings: Any = get_kwargs(WorkerSettings)  # type: ignore[arg-type]
    SluiceWorker(**settings).run()


if __name__ == "__main__":
    main()

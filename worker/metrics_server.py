"""The worker's Prometheus endpoint: `GET /metrics` on its own port, served by a thread.

The worker has no HTTP server of its own, so prometheus_client's serves its metrics.
It binds to `worker_metrics_host` (127.0.0.1 by default: Prometheus on the same host, or an
agent); `worker_metrics_port` 0 turns it off. Metrics are never worth a worker: a port that
cannot be bound is logged and the worker goes on without them.
"""

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from infra.metrics import registry_of
from infra.settings import Settings

log = logging.getLogger("sluice.worker.metrics")


@dataclass(frozen=True)
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start(settings: Settings) -> MetricsServer | None:
    """The running server, or None when turned off or the address cannot be bound."""
    port, host = settings.worker_metrics_port, settings.worker_metrics_host
    if port == 0:
        return None
    try:
        server, thread = start_http_server(port, addr=host, registry=registry_of("worker"))
    except (OSError, OverflowError) as error:  # in use, not ours to bind, or not a port at all
        log.error(
            "worker metrics not served: cannot listen on %s:%d (%s); with several workers on "
            "one host, give each its own SLUICE_WORKER_METRICS_PORT (0 turns metrics off)",
            host,
            port,
            error,
        )
        return None
    log.info("worker metrics on http://%s:%d/metrics", host, port)
    return MetricsServer(server, thread)

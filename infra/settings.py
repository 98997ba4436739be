"""One typed settings object, read from the environment once, with laptop-friendly defaults."""

import os
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """An environment variable holds a value Sluice cannot use."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redis_url(name: str, default: str) -> str:
    """A Redis URL as redis-py takes it. A bad one is not echoed back: it may hold a password."""
    raw = os.environ.get(name) or default
    if not raw:
        return raw
    parts = urlsplit(raw)
    if parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path):
        schemes = ", ".join(f"{scheme}://" for scheme in REDIS_SCHEMES)
        raise SettingsError(f"{name} must be a URL starting with {schemes}")
    return raw


def _list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True, kw_only=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    arq_redis_url: str = ""
    port: int = 8000
    admin_port: int = 8001
    relay_port: int = 8002
    partitions: int = 4

    # gateway
    max_body_bytes: int = 64 * 1024
    rate_limit_per_minute: int = 100
    login_attempts_per_account: int = 10  # per 15 minutes
    login_attempts_per_ip: int = 30  # per minute
    session_ttl_seconds: int = 12 * 3600
    # How long a gateway keeps a caller it read (session and roles) for their next requests;
    # a logout or a role change drops it sooner (`infra.session_cache`). 0: read every time.
    session_cache_ms: int = 1000
    idempotency_ttl_seconds: int = 24 * 3600
    result_ttl_seconds: int = 7 * 24 * 3600
    hash_concurrency: int = 2
    admin_email: str = ""
    admin_password: str = field(default="", repr=False)

    # workers
    consumer_name: str = ""
    # Command consumers in each worker process, each reading its own share of the partitions:
    # while one waits on Redis, another decides (`worker.commands.command_lanes`).
    command_lanes: int = 2
    read_count: int = 100
    read_block_ms: int = 1000
    claim_idle_ms: int = 30_000
    # How long a projector or reactor acknowledgement may wait for a read to go with
    # (`worker.owed_acks`); 0: with the very next read.
    ack_linger_ms: int = 50
    max_conflict_retries: int = 20
    retry_base_seconds: float = 0.2
    retry_cap_seconds: float = 30.0
    max_attempts: int = 8
    max_deliveries: int = 10
    faults: str = ""  # fault injection for chaos tests, e.g. "ChangeDisplayName=transient:2"
    shutdown_grace_seconds: float = 10.0
    results_maxlen: int = 100_000
    order_confirmation_timeout_ms: int = 15 * 60_000  # an unconfirmed order is rejected then
    snapshot_every: int = 100  # events between aggregate snapshots; 0: no snapshots
    state_cache_size: int = 10_000  # aggregate states a worker keeps between batches; 0: none

    # relay
    ws_max_frame_bytes: int = 64 * 1024
    ws_send_queue: int = 256
    ws_max_per_ip: int = 50
    ws_max_per_user: int = 10
    ws_idle_timeout_seconds: float = 120.0
    ws_allowed_origins: tuple[str, ...] = ("http://localhost", "http://127.0.0.1")

    # metrics
    metrics_token: str = field(default="", repr=False)  # Bearer token for /metrics; "": open
    worker_metrics_port: int = 9100  # 0: the worker serves no metrics
    worker_metrics_host: str = "127.0.0.1"

    @property
    def arq_redis(self) -> str:
        return self.arq_redis_url or self.redis_url


def from_env() -> Settings:
    settings = Settings(
        redis_url=_redis_url("REDIS_URL", Settings.redis_url),
        arq_redis_url=_redis_url("ARQ_REDIS_URL", ""),
        port=_int("PORT", 8000, 1),
        admin_port=_int("ADMIN_PORT", 8001, 1),
        relay_port=_int("RELAY_PORT", 8002, 1),
        partitions=_int("SLUICE_PARTITIONS", 4, 1),
        max_body_bytes=_int("SLUICE_MAX_BODY_BYTES", 64 * 1024, 1),
        rate_limit_per_minute=_int("RATE_LIMIT_PER_MINUTE", 100),
        login_attempts_per_account=_int("SLUICE_LOGIN_ATTEMPTS_PER_ACCOUNT", 10, 1),
        login_attempts_per_ip=_int("SLUICE_LOGIN_ATTEMPTS_PER_IP", 30, 1),
        session_ttl_seconds=_int("SLUICE_SESSION_TTL", 12 * 3600, 60),
        session_cache_ms=_int("SLUICE_SESSION_CACHE_MS", 1000),
        idempotency_ttl_seconds=_int("SLUICE_IDEMPOTENCY_TTL", 24 * 3600, 60),
        result_ttl_seconds=_int("SLUICE_RESULT_TTL", 7 * 24 * 3600, 60),
        hash_concurrency=_int("SLUICE_HASH_CONCURRENCY", 2, 1),
        admin_email=os.environ.get("SLUICE_ADMIN_EMAIL", ""),
        admin_password=os.environ.get("SLUICE_ADMIN_PASSWORD", ""),
        consumer_name=os.environ.get("SLUICE_CONSUMER_NAME") or os.environ.get("DYNO", ""),
        command_lanes=_int("SLUICE_COMMAND_LANES", 2, 1),
        read_count=_int("SLUICE_READ_COUNT", 100, 1),
        read_block_ms=_int("SLUICE_READ_BLOCK_MS", 1000, 1),
        claim_idle_ms=_int("SLUICE_CLAIM_IDLE_MS", 30_000, 1),
        ack_linger_ms=_int("SLUICE_ACK_LINGER_MS", 50),
        max_conflict_retries=_int("SLUICE_MAX_CONFLICT_RETRIES", 20, 1),
        retry_base_seconds=_float("SLUICE_RETRY_BASE", 0.2),
        retry_cap_seconds=_float("SLUICE_RETRY_CAP", 30.0),
        max_attempts=_int("SLUICE_MAX_ATTEMPTS", 8, 1),
        max_deliveries=_int("SLUICE_MAX_DELIVERIES", 10, 1),
        faults=os.environ.get("SLUICE_FAULTS", ""),
        shutdown_grace_seconds=_float("SLUICE_SHUTDOWN_GRACE", 10.0),
        results_maxlen=_int("SLUICE_RESULTS_MAXLEN", 100_000, 1000),
        order_confirmation_timeout_ms=_int("SLUICE_ORDER_TIMEOUT_MS", 15 * 60_000, 1),
        snapshot_every=_int("SLUICE_SNAPSHOT_EVERY", 100),
        state_cache_size=_int("SLUICE_STATE_CACHE", 10_000),
        ws_max_frame_bytes=_int("SLUICE_WS_MAX_FRAME", 64 * 1024, 1024),
        ws_send_queue=_int("SLUICE_WS_SEND_QUEUE", 256, 1),
        ws_max_per_ip=_int("SLUICE_WS_MAX_PER_IP", 50, 1),
        ws_max_per_user=_int("SLUICE_WS_MAX_PER_USER", 10, 1),
        ws_idle_timeout_seconds=_float("SLUICE_WS_IDLE_TIMEOUT", 120.0),
        ws_allowed_origins=_list("SLUICE_ALLOWED_ORIGINS", Settings.ws_allowed_origins),
        metrics_token=os.environ.get("SLUICE_METRICS_TOKEN", ""),
        worker_metrics_port=_int("SLUICE_WORKER_METRICS_PORT", 9100),
        worker_metrics_host=os.environ.get("SLUICE_WORKER_METRICS_HOST") or "127.0.0.1",
    )
    if settings.ack_linger_ms >= settings.claim_idle_ms:
        # Entries still owed would be reclaimed from a live consumer and processed again.
        raise SettingsError(
            f"SLUICE_ACK_LINGER_MS ({settings.ack_linger_ms}) must be below "
            f"SLUICE_CLAIM_IDLE_MS ({settings.claim_idle_ms})"
        )
    return settings


@cache
def get_settings() -> Settings:
    return from_env()


def settings_or_exit(process: str) -> Settings:
    """`get_settings` for a process starting: a bad value stops it with one line saying which,
    not a traceback."""
    try:
        return get_settings()
    except SettingsError as error:
        raise SystemExit(f"sluice {process}: {error}") from None

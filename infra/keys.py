"""Every Redis key and stream name Sluice uses; built here and nowhere else.

Keys of partition `p` share the hash tag `{p<p>}` so one Lua script may touch them all, on a
single server and on Redis Cluster alike.
"""

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

PREFIX = "sluice"
WORKERS_GROUP = "workers"
PROJECTOR_GROUP = "projector"
REACTOR_GROUP = "reactor"


def partition_of(routing_key: str, partitions: int) -> int:
    """Stable across processes and restarts (unlike `hash()`)."""
    return zlib.crc32(routing_key.encode()) % partitions


# Aggregates whose unique values (brand names, SKUs) must hold across the whole catalog live in
# one partition, where a single commit checks every claim. Catalog writes are rare next to
# orders and stock, which spread over every partition.
CATALOG_TYPES = frozenset({"brand", "product"})
CATALOG_ROUTING_KEY = "catalog"


def partition_of_aggregate(aggregate_id: str, partitions: int) -> int:
    """The partition whose streams and keys hold the aggregate `<type>:<id>`."""
    kind = aggregate_id.partition(":")[0]
    return partition_of(CATALOG_ROUTING_KEY if kind in CATALOG_TYPES else aggregate_id, partitions)


@cache  # on every hot path, a handful of values
def _p(partition: int) -> str:
    return f"{PREFIX}:{{p{partition}}}"


def commands(partition: int) -> str:
    return f"{_p(partition)}:commands"


def events(partition: int) -> str:
    return f"{_p(partition)}:events"


def results(partition: int) -> str:
    return f"{_p(partition)}:results"


def dead_letters(partition: int) -> str:
    return f"{_p(partition)}:dead"


def history(partition: int, aggregate_id: str) -> str:
    return f"{_p(partition)}:agg:{aggregate_id}"


def command_status(partition: int, command_id: str) -> str:
    return f"{_p(partition)}:cmd:{command_id}"


def taken_id(partition: int, command_id: str) -> str:
    """The mark that a command id its client chose names a command of another partition: read
    by this partition's appends, so that the id is not given to a second command here."""
    return f"{_p(partition)}:taken:{command_id}"


def correlation(partition: int, correlation_id: str) -> str:
    """The ids of a story's commands accepted on this partition, in order (`infra.trace`)."""
    return f"{_p(partition)}:corr:{correlation_id}"


def claim(partition: int, name: str) -> str:
    return f"{_p(partition)}:claim:{name}"


def snapshot(partition: int, aggregate_id: str) -> str:
    """A cached state of the aggregate (a hash: version, fingerprint, state); see snapshots.py."""
    return f"{_p(partition)}:snap:{aggregate_id}"


# Matches every snapshot of every partition, for SCAN (the hash tag's braces are not special).
SNAPSHOT_PATTERN = f"{PREFIX}:{{p*}}:snap:*"


def idempotency(scope: str, key: str) -> str:
    return f"{PREFIX}:idem:{scope}:{key}"


def session(token_hash: str) -> str:
    return f"{PREFIX}:session:{token_hash}"


def partition_count() -> str:
    """The SLUICE_PARTITIONS the server's data was written with (`infra.partition_count`)."""
    return f"{PREFIX}:partitions"


def revocations() -> str:
    return f"{PREFIX}:revocations"


def rate_limit(scope: str, window: int) -> str:
    return f"{PREFIX}:rl:{scope}:{window}"


def consumer_lease(group: str, name: str) -> str:
    return f"{PREFIX}:consumer:{group}:{name}"


# --- Read models ---------------------------------------------------------------------------------
# Every read-model key sits under `<root>:<projection>:`, so each projection owns exactly the keys
# under its own prefix. The root is `sluice:rm` for the live copy; inside `read_models_in(root)`
# every builder below gives the same names under a shadow root, where a rebuild writes a copy
# the queries do not see until it is switched in (`infra.projections`).
# An index is a sorted set of a view's sort keys. Called with "", an index function gives the
# prefix that `scripts/reindex.lua` completes with a field's value (a brand id, a status...).

LIVE_READ_MODELS = f"{PREFIX}:rm"
_read_model_root: ContextVar[str] = ContextVar("read_model_root", default=LIVE_READ_MODELS)

USERS = "users"
CATALOG = "catalog"
ORDERS = "orders"
NOTIFICATIONS = "notifications"


def read_model_root() -> str:
    """The root the read-model builders use here: the live one unless inside `read_models_in`."""
    return _read_model_root.get()


@contextmanager
def read_models_in(root: str) -> Iterator[None]:
    """Makes every read-model builder name keys under `root` (a shadow copy) in this context."""
    token = _read_model_root.set(root)
    try:
        yield
    finally:
        _read_model_root.reset(token)


def shadow_root(purpose: str) -> str:
    """Where a rebuild ("rebuild") or a consistency check ("check") writes its copy."""
    return f"{PREFIX}:shadow:{purpose}"


def projection_prefix(projection: str, root: str = LIVE_READ_MODELS) -> str:
    """The prefix of every key the projection owns under `root`."""
    return f"{root}:{projection}:"


def read_model_name(key: str) -> str:
    """A read-model key without its root ("users:all"), the same name in every copy."""
    for root in (_read_model_root.get(), LIVE_READ_MODELS):
        if key.startswith(f"{root}:"):
            return key[len(root) + 1 :]
    raise ValueError(f"not a read-model key: {key}")


def projections_meta() -> str:
    """Each projection's live copy: the code version that built it and when (a hash)."""
    return f"{PREFIX}:projections"


def projection_lock(projection: str) -> str:
    """Held while a projection is rebuilt, so two rebuilds never switch over each other."""
    return f"{PREFIX}:projections:lock:{projection}"


def projection_fence() -> str:
    """While set, live projectors hold their writes: a rebuild is switching its copy in."""
    return f"{PREFIX}:projections:fence"


def _rm(projection: str, name: str) -> str:
    return f"{_read_model_root.get()}:{projection}:{name}"


def user(user_id: str) -> str:
    return _rm(USERS, f"user:{user_id}")


def user_by_email(email: str) -> str:
    return _rm(USERS, f"email:{email}")


def credentials(user_id: str) -> str:
    return _rm(USERS, f"credentials:{user_id}")


def users() -> str:
    return _rm(USERS, "all")


def users_with_role(role: str) -> str:
    return _rm(USERS, f"role:{role}")


def brand(brand_id: str) -> str:
    return _rm(CATALOG, f"brand:{brand_id}")


def brands() -> str:
    return _rm(CATALOG, "brands")


def product(product_id: str) -> str:
    return _rm(CATALOG, f"product:{product_id}")


def products() -> str:
    """Published products."""
    return _rm(CATALOG, "products")


def products_of_brand(brand_id: str) -> str:
    """A brand's published products."""
    return _rm(CATALOG, f"products:brand:{brand_id}")


def sku_product(sku: str) -> str:
    return _rm(CATALOG, f"sku:{sku}")


def stock(sku: str) -> str:
    return _rm(CATALOG, f"stock:{sku}")


def cart(user_id: str) -> str:
    return _rm(ORDERS, f"cart:{user_id}")


def order(order_id: str) -> str:
    return _rm(ORDERS, f"order:{order_id}")


def orders() -> str:
    return _rm(ORDERS, "all")


def orders_of_customer(customer_id: str) -> str:
    return _rm(ORDERS, f"customer:{customer_id}")


def orders_of_courier(courier_id: str) -> str:
    return _rm(ORDERS, f"courier:{courier_id}")


def orders_with_status(status: str) -> str:
    return _rm(ORDERS, f"status:{status}")


def notifications(user_id: str) -> str:
    """A user's notifications by time (an index of sort keys)."""
    return _rm(NOTIFICATIONS, f"list:{user_id}")


def notification_docs(user_id: str) -> str:
    return _rm(NOTIFICATIONS, f"docs:{user_id}")


def notification_reads(user_id: str) -> str:
    """The ids of the notifications a user has read."""
    return _rm(NOTIFICATIONS, f"reads:{user_id}")

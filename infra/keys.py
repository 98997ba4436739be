"""Every Redis key and stream name Sluice uses; built here and nowhere else.

Keys of partition `p` share the hash tag `{p<p>}` so one Lua script may touch them all, on a
single server and on Redis Cluster alike.
"""

import zlib

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


def claim(partition: int, name: str) -> str:
    return f"{_p(partition)}:claim:{name}"


def idempotency(scope: str, key: str) -> str:
    return f"{PREFIX}:idem:{scope}:{key}"


def session(token_hash: str) -> str:
    return f"{PREFIX}:session:{token_hash}"


def revocations() -> str:
    return f"{PREFIX}:revocations"


def rate_limit(scope: str, window: int) -> str:
    return f"{PREFIX}:rl:{scope}:{window}"


def user(user_id: str) -> str:
    return f"{PREFIX}:rm:user:{user_id}"


def user_by_email(email: str) -> str:
    return f"{PREFIX}:rm:email:{email}"


def credentials(user_id: str) -> str:
    return f"{PREFIX}:rm:credentials:{user_id}"


def consumer_lease(group: str, name: str) -> str:
    return f"{PREFIX}:consumer:{group}:{name}"


# --- Read models of the commerce domain, and their indexes ------------------------------------
# An index is a sorted set of a view's sort keys. Called with "", an index function gives the
# prefix that `scripts/reindex.lua` completes with a field's value (a brand id, a status...).


def _rm(name: str) -> str:
    return f"{PREFIX}:rm:{name}"


def users() -> str:
    return _rm("users")


def users_with_role(role: str) -> str:
    return _rm(f"users:role:{role}")


def brand(brand_id: str) -> str:
    return _rm(f"brand:{brand_id}")


def brands() -> str:
    return _rm("brands")


def product(product_id: str) -> str:
    return _rm(f"product:{product_id}")


def products() -> str:
    """Published products."""
    return _rm("products")


def products_of_brand(brand_id: str) -> str:
    """A brand's published products."""
    return _rm(f"products:brand:{brand_id}")


def sku_product(sku: str) -> str:
    return _rm(f"sku:{sku}")


def stock(sku: str) -> str:
    return _rm(f"stock:{sku}")


def cart(user_id: str) -> str:
    return _rm(f"cart:{user_id}")


def order(order_id: str) -> str:
    return _rm(f"order:{order_id}")


def orders() -> str:
    return _rm("orders")


def orders_of_customer(customer_id: str) -> str:
    return _rm(f"orders:customer:{customer_id}")


def orders_of_courier(courier_id: str) -> str:
    return _rm(f"orders:courier:{courier_id}")


def orders_with_status(status: str) -> str:
    return _rm(f"orders:status:{status}")


def notifications(user_id: str) -> str:
    """A user's notifications by time (an index of sort keys)."""
    return _rm(f"notifications:{user_id}")


def notification_docs(user_id: str) -> str:
    return _rm(f"notification-docs:{user_id}")


def notification_reads(user_id: str) -> str:
    """The ids of the notifications a user has read."""
    return _rm(f"notification-reads:{user_id}")

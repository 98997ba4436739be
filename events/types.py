"""Bounded scalar types reused by the contracts."""

from typing import Annotated

from msgspec import Meta

Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, Meta(min_length=10, max_length=1024)]
DisplayName = Annotated[str, Meta(min_length=1, max_length=100)]
Identifier = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Role = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z_]+(:[A-Za-z0-9_.-]+)?$")]

# The commerce domain's scalars. SKUs are upper case so that one SKU has one spelling: they name
# inventory aggregates (`sku:<SKU>`) and unique claims, where "abc-1" and "ABC-1" must not differ.
Sku = Annotated[str, Meta(min_length=1, max_length=48, pattern=r"^[A-Z0-9][A-Z0-9._-]*$")]
CurrencyCode = Annotated[str, Meta(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
MinorUnits = Annotated[int, Meta(gt=0, le=100_000_000)]  # a unit price of at most 1,000,000.00
Quantity = Annotated[int, Meta(ge=1, le=1_000)]
StockLevel = Annotated[int, Meta(ge=0, le=1_000_000)]
BrandName = Annotated[str, Meta(min_length=1, max_length=100)]
ProductName = Annotated[str, Meta(min_length=1, max_length=200)]
Description = Annotated[str, Meta(max_length=2_000)]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]

"""Brands, products and stock levels, from the brand, product and SKU aggregates."""

from typing import Any

from events.envelope import EventRecord
from events.events import (
    BrandCreated,
    BrandDeleted,
    BrandUpdated,
    Event,
    InventoryCommitted,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
    InventoryRestocked,
    ProductCreated,
    ProductPublished,
    ProductUnpublished,
    ProductUpdated,
)
from infra import catalog_views, stock_views
from infra.views import price_of


def project(pipe: Any, record: EventRecord, event: Event) -> None:
    version = record.aggregate_version
    match event:
        case BrandCreated() | BrandUpdated():
            created_at = record.occurred_at if isinstance(event, BrandCreated) else None
            catalog_views.queue_brand(
                pipe,
                event.brand_id,
                version,
                name=event.name,
                description=event.description,
                created_at=created_at,
            )
        case BrandDeleted():
            catalog_views.queue_brand_deleted(pipe, event.brand_id, version)
        case ProductCreated():
            view = catalog_views.ProductView(
                product_id=event.product_id,
                brand_id=event.brand_id,
                name=event.name,
                description=event.description,
                price=price_of(event.price),
                variants=tuple(
                    catalog_views.VariantView(sku=v.sku, name=v.name) for v in event.variants
                ),
                published=False,
            )
            catalog_views.queue_product_created(pipe, view, version, created_at=record.occurred_at)
        case ProductUpdated():
            catalog_views.queue_product_updated(
                pipe,
                event.product_id,
                version,
                name=event.name,
                description=event.description,
                price=price_of(event.price),
            )
        case ProductPublished() | ProductUnpublished():
            published = isinstance(event, ProductPublished)
            catalog_views.queue_publication(
                pipe, event.product_id, event.brand_id, version, published=published
            )
        case InventoryRestocked():
            stock_views.queue_stock(
                pipe, event.sku, version, available=event.available, on_hand=event.on_hand
            )
        case InventoryReserved() | InventoryReservationFailed() | InventoryReleased():
            stock_views.queue_stock(pipe, event.sku, version, available=event.available)
        case InventoryCommitted():
            stock_views.queue_stock(pipe, event.sku, version, on_hand=event.on_hand)
        case _:
            pass

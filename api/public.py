"""The public API (process `web`): commands, sign-in, the catalog and the user's own data.

Every route but health is behind the rate limit per client IP.
"""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from api import catalog_queries, customer_queries, health, identity
from api.command_table import public_specs
from api.commands import command_endpoint, get_command
from api.http import EXCEPTION_HANDLERS
from api.metrics import metrics_route
from api.rate_limiting import RateLimitMiddleware
from api.state import lifespan_for
from infra.settings import Settings, settings_or_exit


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or settings_or_exit("web")
    return Starlette(
        routes=[
            # First: Starlette tries the routes in turn, and every command comes through here.
            Route("/command", command_endpoint(public_specs()), methods=["POST"]),
            *health.ROUTES,
            metrics_route(settings, "web"),
            Route("/commands/{command_id}", get_command, methods=["GET"]),
            *identity.ROUTES,
            *catalog_queries.ROUTES,
            *customer_queries.ROUTES,
        ],
        middleware=[Middleware(RateLimitMiddleware, settings=settings)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan_for(settings),
    )

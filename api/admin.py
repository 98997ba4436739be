"""The admin API (process `admin`): its own port, every route but health for admin roles only."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api import admin_history, admin_operations, admin_queries, health
from api.auth import require_admin
from api.command_table import admin_specs
from api.commands import command_endpoint, get_command
from api.http import EXCEPTION_HANDLERS
from api.metrics import measure_at_scrape, metrics_route
from api.state import lifespan_for
from infra.settings import Settings, settings_or_exit


async def admin_get_command(request: Request) -> Response:
    await require_admin(request)
    return await get_command(request)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or settings_or_exit("admin")
    return Starlette(
        routes=[
            # First: Starlette tries the routes in turn, and every command comes through here.
            Route("/command", command_endpoint(admin_specs(), require_admin), methods=["POST"]),
            *health.ROUTES,
            metrics_route(settings, "admin", measure_at_scrape),
            Route("/commands/{command_id}", admin_get_command, methods=["GET"]),
            *admin_operations.ROUTES,
            *admin_queries.ROUTES,
            *admin_history.ROUTES,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan_for(settings, process="admin"),
    )

"""Users and their roles from two aggregates (their own and the super admins), in any order."""

import random

import pytest
from redis.asyncio import Redis

from events.events import DisplayNameChanged, RoleAssigned, RoleRevoked, UserRegistered
from infra.read_models import get_user, list_users
from infra.settings import Settings
from tests.infra.commerce_support import history, project_all
from worker.deps import Deps
from worker.projector import Projector

SUPER_ADMINS = "roles:super_admins"


@pytest.fixture
async def projector(settings: Settings, redis: Redis) -> Projector:
    projector = Projector(Deps(settings=settings, redis=redis, consumer="p1"))
    await projector.prepare()
    return projector


async def test_roles_from_the_user_and_the_super_admins_make_one_list_in_any_order(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    root = UserRegistered(user_id="root", email="r@x.io", given_name="R", roles=("super_admin",))
    kurt = UserRegistered(user_id="kurt", email="k@x.io", given_name="K", roles=("customer",))
    records = [
        *history("user:root", root),
        *history("user:kurt", kurt, RoleAssigned(user_id="kurt", role="courier")),
        *history(
            SUPER_ADMINS,
            RoleAssigned(user_id="root", role="super_admin"),
            RoleAssigned(user_id="kurt", role="super_admin"),
            RoleRevoked(user_id="root", role="super_admin"),
        ),
    ]
    random.Random(5).shuffle(records)

    await project_all(redis, settings, projector, records)

    root_view, kurt_view = await get_user(redis, "root"), await get_user(redis, "kurt")
    assert root_view is not None and root_view.roles == ()
    assert kurt_view is not None and kurt_view.roles == ("courier", "customer", "super_admin")
    assert [u.user_id for u in (await list_users(redis, role="super_admin"))[0]] == ["kurt"]
    assert [u.user_id for u in (await list_users(redis, role="courier"))[0]] == ["kurt"]
    assert len((await list_users(redis))[0]) == 2


async def test_the_start_up_admin_is_a_super_admin_before_the_singleton_counts_them(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    root = UserRegistered(user_id="root", email="r@x.io", given_name="R", roles=("super_admin",))
    await project_all(redis, settings, projector, history("user:root", root))
    assert [u.user_id for u in (await list_users(redis, role="super_admin"))[0]] == ["root"]

    revoked = history(
        SUPER_ADMINS,
        RoleAssigned(user_id="root", role="super_admin"),
        RoleRevoked(user_id="root", role="super_admin"),
    )
    await project_all(redis, settings, projector, revoked)
    await project_all(redis, settings, projector, history("user:root", root))  # replayed

    view = await get_user(redis, "root")
    assert view is not None and view.roles == ()
    assert (await list_users(redis, role="super_admin"))[0] == []


async def test_a_rename_projected_before_the_registration_is_kept(
    redis: Redis, settings: Settings, projector: Projector
) -> None:
    registered = UserRegistered(user_id="u1", email="u@x.io", given_name="Old", roles=())
    records = history(
        "user:u1",
        registered,
        RoleAssigned(user_id="u1", role="courier"),
        DisplayNameChanged(user_id="u1", display_name="New"),
    )

    await project_all(redis, settings, projector, list(reversed(records)))

    view = await get_user(redis, "u1")
    assert view is not None and (view.display_name, view.roles) == ("New", ("courier",))

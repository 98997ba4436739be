"""The brand aggregate (`brand:<id>`): a unique name, edits, deletion, moderator invitations.

A brand name is unique through the claim `brand-name:<normalised name>`, owned by the brand id.
Moderators are not listed here: being one is the role `brand_moderator:<brand_id>` on the user,
which the saga assigns when an invitation is accepted. The brand keeps only pending invitations.
"""

from dataclasses import dataclass

from domain import roles
from domain.aggregate import AggregateRules, Claims, Context
from domain.changes import changed
from domain.errors import (
    BrandExists,
    BrandNameTaken,
    NoInvitation,
    UnknownBrand,
    UnsupportedCommand,
)
from events.commands import (
    AcceptModeratorInvite,
    Command,
    CreateBrand,
    DeleteBrand,
    InviteModerator,
    UpdateBrand,
)
from events.events import (
    BrandCreated,
    BrandDeleted,
    BrandUpdated,
    Event,
    ModeratorInviteAccepted,
    ModeratorInvited,
)


@dataclass(frozen=True)
class Brand:
    brand_id: str
    name: str
    description: str
    invited: frozenset[str] = frozenset()
    deleted: bool = False


def normalise_brand_name(name: str) -> str:
    """Case and spacing make no new name: "Acme  Foods" is "acme foods"."""
    return " ".join(name.casefold().split())


def brand_name_claim(name: str) -> str:
    return f"brand-name:{normalise_brand_name(name)}"


def claims(command: Command) -> Claims:
    match command:
        case CreateBrand(brand_id=brand_id, name=name):
            return {brand_name_claim(name): brand_id}
        case UpdateBrand(brand_id=brand_id, name=str() as name):
            return {brand_name_claim(name): brand_id}
        case _:
            return {}


def decide(state: Brand | None, command: Command, ctx: Context) -> list[Event]:
    match command:
        case CreateBrand():
            roles.require_admin(ctx, "create a brand")
            if state is not None:
                raise BrandExists(f"brand {command.brand_id} already exists")
            _require_name_free(command.name, command.brand_id, ctx)
            return [
                BrandCreated(
                    brand_id=command.brand_id, name=command.name, description=command.description
                )
            ]
        case UpdateBrand():
            roles.require_catalog_editor(ctx, command.brand_id, "edit this brand")
            return _update(_live(state, command.brand_id), command, ctx)
        case DeleteBrand():
            roles.require_admin(ctx, "delete a brand")
            if state is None:
                raise UnknownBrand(f"no brand {command.brand_id}")
            return [] if state.deleted else [BrandDeleted(brand_id=command.brand_id)]
        case InviteModerator():
            roles.require_catalog_editor(ctx, command.brand_id, "invite moderators to this brand")
            brand = _live(state, command.brand_id)
            if command.invitee_user_id in brand.invited:
                return []
            return [
                ModeratorInvited(
                    brand_id=brand.brand_id,
                    invitee_user_id=command.invitee_user_id,
                    invited_by=ctx.actor,
                )
            ]
        case AcceptModeratorInvite():
            brand = _live(state, command.brand_id)
            if ctx.actor is None or ctx.actor not in brand.invited:
                raise NoInvitation(f"no pending invitation to moderate {brand.brand_id}")
            return [ModeratorInviteAccepted(brand_id=brand.brand_id, user_id=ctx.actor)]
        case _:
            raise UnsupportedCommand(type(command).__name__)


def _live(state: Brand | None, brand_id: str) -> Brand:
    if state is None or state.deleted:
        raise UnknownBrand(f"no brand {brand_id}")
    return state


def _require_name_free(name: str, brand_id: str, ctx: Context) -> None:
    owner = ctx.owners.get(brand_name_claim(name))
    if owner is not None and owner != brand_id:
        raise BrandNameTaken(f"a brand named {name!r} already exists")


def _update(brand: Brand, command: UpdateBrand, ctx: Context) -> list[Event]:
    name = command.name if command.name is not None else brand.name
    description = command.description if command.description is not None else brand.description
    if (name, description) == (brand.name, brand.description):
        return []
    _require_name_free(name, brand.brand_id, ctx)
    return [BrandUpdated(brand_id=brand.brand_id, name=name, description=description)]


def evolve(state: Brand | None, event: Event) -> Brand | None:
    match event:
        case BrandCreated():
            return Brand(brand_id=event.brand_id, name=event.name, description=event.description)
        case BrandUpdated() if state is not None:
            return changed(state, name=event.name, description=event.description)
        case BrandDeleted() if state is not None:
            return changed(state, deleted=True, invited=frozenset())
        case ModeratorInvited() if state is not None:
            return changed(state, invited=state.invited | {event.invitee_user_id})
        case ModeratorInviteAccepted() if state is not None:
            return changed(state, invited=state.invited - {event.user_id})
        case _:
            return state


RULES = AggregateRules(evolve=evolve, decide=decide, claims=claims, state_type=Brand)

"""The apiaries' JSON API: a key's holder lists their apiaries, adds one, reads one and its
members; an owner changes roles, removes members and invites (app/apiaries/openapi.py documents
it from these models).

Who may see or run an apiary is app/web/auth.py's `apiary_for`, as on the pages: to anyone
who is not a member (or, for an owner's action, not an owner) it does not exist (404). An API
key acts with its user's roles. Errors are problem documents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from app.apiaries import queries
from app.apiaries.schemas import ApiaryForm, InvitationForm, RoleForm
from app.models import Apiary, ApiaryRole
from app.web import idempotency
from app.web.api import (
    Problem,
    api_owner,
    api_view,
    create_once,
    created,
    idempotency_key,
    parse_body,
    read_json,
)
from app.web.auth import Membership, apiary_for
from app.web.database import db_session
from app.web.i18n import translate
from app.web.paths import path_id


def _not_at_null_island(schema: dict[str, Any]) -> None:
    schema["not"] = {
        "description": "Latitude and longitude both 0 is an unset GPS, not an apiary.",
        "required": ["latitude", "longitude"],
        "properties": {"latitude": {"const": 0}, "longitude": {"const": 0}},
    }


class ApiaryIn(ApiaryForm):
    """An apiary as a client sends it: the same rules as the apiary form."""

    model_config = ConfigDict(
        extra="forbid", title="ApiaryIn", json_schema_extra=_not_at_null_island
    )


class ApiaryOut(BaseModel):
    """An apiary, with the asker's role in it. Coordinates are WGS 84 degrees."""

    id: int
    name: str
    latitude: float
    longitude: float
    address: str
    registration_number: str | None
    notes: str
    archived_at: datetime | None
    role: ApiaryRole


class ApiaryList(BaseModel):
    items: list[ApiaryOut]


class MemberOut(BaseModel):
    """A member of an apiary, by name (their email stays theirs)."""

    user_id: int
    name: str
    role: ApiaryRole
    added_at: datetime


class MemberList(BaseModel):
    items: list[MemberOut]


class RoleIn(RoleForm):
    model_config = ConfigDict(extra="forbid", title="RoleIn")


class InvitationIn(InvitationForm):
    """An invitation: without `email` a link (answered once, as `url`), with one for that
    existing account (which finds it on its apiaries page)."""

    model_config = ConfigDict(extra="forbid", title="InvitationIn")


class InvitationOut(BaseModel):
    id: int
    role: ApiaryRole
    expires_at: datetime
    url: str | None  # the link, shown in this answer only; None for an invitation by email


async def apiary_out(db: AsyncSession, found: Membership) -> ApiaryOut:
    apiary = found.apiary
    latitude, longitude = await queries.location_of(db, apiary.id)
    return ApiaryOut(
        id=apiary.id,
        name=apiary.name,
        latitude=latitude,
        longitude=longitude,
        address=apiary.address,
        registration_number=apiary.registration_number,
        notes=apiary.notes,
        archived_at=apiary.archived_at,
        role=found.role,
    )


def answer(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


def refused(error: queries.Refused, field: str) -> Problem:
    """A request that is well formed but clashes with how things stand (the last owner, an
    account already a member, an email no account has): 409, and why."""
    message = translate(error.message)
    return Problem(
        409, message, errors=[{"location": ["body", field], "message": message, "type": "refused"}]
    )


@api_view
async def apiary_list(request: web.Request) -> web.Response:
    user_id = await api_owner(request)
    async with db_session(request) as db:
        rows = await queries.apiaries_of_user(db, user_id)
        items = [await apiary_out(db, Membership(row.apiary, row.role)) for row in rows]
    return answer(ApiaryList(items=items))


@api_view
async def apiary_create(request: web.Request) -> web.Response:
    """A new apiary, its key's holder its owner; made once per Idempotency-Key."""
    user_id = await api_owner(request)
    key = idempotency_key(request)
    body = await read_json(request)
    data = parse_body(ApiaryIn, body)
    guard = idempotency.for_json(request, user_id, key, body)

    async def add() -> idempotency.Answer:
        apiary_id = await queries.add_apiary(db, user_id, data)
        made = await apiary_out(db, await apiary_for(request, apiary_id, db=db))
        return created(made, str(request.app.router["api_apiary"].url_for(id=str(apiary_id))))

    async with db_session(request) as db, db.begin():
        return await create_once(db, guard, add, kept_as=Apiary)


@api_view
async def apiary_detail(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        return answer(await apiary_out(db, await apiary_for(request, db=db)))


@api_view
async def member_list(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        found = await apiary_for(request, db=db)
        members = await queries.members_of(db, found.apiary.id)
    items = [
        MemberOut(user_id=m.user_id, name=m.name, role=m.role, added_at=m.added_at) for m in members
    ]
    return answer(MemberList(items=items))


@api_view
async def member_role(request: web.Request) -> web.Response:
    found = await apiary_for(request, own=True)
    data = parse_body(RoleIn, await read_json(request))
    user_id = path_id(request, "user")
    async with db_session(request) as db:
        try:
            known = await queries.change_role(db, found.apiary.id, user_id, data.role)
        except queries.Refused as error:
            raise refused(error, "role") from None
        if not known:
            raise Problem(404, f"The apiary has no member {user_id}.")
        member = next(
            m for m in await queries.members_of(db, found.apiary.id) if m.user_id == user_id
        )
    return answer(
        MemberOut(user_id=user_id, name=member.name, role=member.role, added_at=member.added_at)
    )


@api_view
async def member_remove(request: web.Request) -> web.Response:
    """An owner removes a member; any member removes themself (leaves)."""
    user_id = path_id(request, "user")
    asker = await api_owner(request)
    found = await apiary_for(request, own=user_id != asker)
    async with db_session(request) as db:
        try:
            known = await queries.remove_member(db, found.apiary.id, user_id)
        except queries.Refused as error:
            raise refused(error, "user") from None
    if not known:
        raise Problem(404, f"The apiary has no member {user_id}.")
    return web.Response(status=204)


@api_view
async def invitation_create(request: web.Request) -> web.Response:
    """An invitation; a link's URL is in this answer alone (only its hash is kept), so the
    request takes no Idempotency-Key: sent again, it makes another invitation."""
    found = await apiary_for(request, own=True)
    data = parse_body(InvitationIn, await read_json(request))
    if found.apiary.archived_at is not None:
        raise Problem(409, "The apiary is archived: open it again to invite.")
    async with db_session(request) as db:
        try:
            made, token = await queries.invite(db, found.apiary.id, await api_owner(request), data)
        except queries.Refused as error:
            raise refused(error, "email") from None
    url = f"{request.scheme}://{request.host}/invitations/{token}" if token else None
    invitation = InvitationOut(id=made.id, role=made.role, expires_at=made.expires_at, url=url)
    return answer(invitation, status=201)

"""Clubs: the list of one's clubs (with the ones to accept), a club's page (its apiaries,
members and what is due), its form, and giving an apiary to a club.

A club exists for its joined members alone; its organisers run it (members, roles, apiaries).
To anyone else, and to a member trying an organiser's action, it does not exist (404). Every
change of members goes through app/apiaries/clubs.py, which never leaves a club without an
organiser, nor an apiary without an owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, EmailStr, Field, StringConstraints

from app.apiaries import clubs
from app.apiaries.queries import Refused
from app.keys import settings_key
from app.models import Club, ClubRole
from app.web.auth import apiary_for, login_required, user_of
from app.web.database import db_session
from app.web.forms import NOT_BLANK, Form, Number, read_form
from app.web.htmx import redirect, render
from app.web.i18n import N_, translate
from app.web.paths import MAX_ID, path_id

CLUB_ROLE_LABELS = {ClubRole.organiser: N_("Organiser"), ClubRole.member: N_("Member")}
# The answer to a club choice that names no club (the error page translates it).
NO_SUCH_CLUB = N_("Choose one of your clubs, or none to take the apiary out of its club.")


# --- what the forms accept --------------------------------------------------------------------


class ClubForm(BaseModel):
    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NOT_BLANK),
    ] = Field(title=N_("Name"))


class ClubMemberForm(BaseModel):
    """A member to add: the existing account with this email, who then accepts."""

    email: EmailStr = Field(title=N_("Email"))


class ClubRoleForm(BaseModel):
    role: ClubRole = Field(title=N_("Role"))


class ApiaryClubForm(BaseModel):
    """The club to give an apiary to; blank takes it out of its club."""

    club_id: Annotated[Annotated[int, Field(gt=0, le=MAX_ID)] | None, Number] = Field(
        default=None, title=N_("Club")
    )


def club_roles() -> dict[ClubRole, str]:
    return {role: translate(label) for role, label in CLUB_ROLE_LABELS.items()}


# --- who may see or run a club ----------------------------------------------------------------


@dataclass(frozen=True)
class ClubMembership:
    """A club with the asker's role in it."""

    club: Club
    role: ClubRole

    @property
    def organises(self) -> bool:
        return self.role == ClubRole.organiser


async def club_for(request: web.Request, *, organise: bool = False) -> ClubMembership:
    """The URL's club with the asker's role, if they have joined it (with `organise`, as an
    organiser); to anyone else it does not exist (404)."""
    async with db_session(request) as db:
        found = await clubs.membership(db, path_id(request), user_of(request).id)
    if found is None or (organise and found[1] != ClubRole.organiser):
        raise web.HTTPNotFound()
    return ClubMembership(*found)


# --- the list and the form --------------------------------------------------------------------


@login_required
async def club_list(request: web.Request) -> web.Response:
    user = user_of(request)
    async with db_session(request) as db:
        mine = await clubs.clubs_of_user(db, user.id)
        invitations = await clubs.invitations_for(db, user.id)
    context = {"clubs": mine, "invitations": invitations, "roles": club_roles()}
    return render(request, "clubs/list.html", context, partial="partials/clubs/list.html")


def form_page(request: web.Request, form: Form[ClubForm], *, status: int = 200) -> web.Response:
    return render(
        request,
        "clubs/form.html",
        {"form": form},
        partial="partials/clubs/form.html",
        status=status,
    )


@login_required
async def club_new(request: web.Request) -> web.Response:
    return form_page(request, Form(values={}))


@login_required
async def club_create(request: web.Request) -> web.Response:
    form = await read_form(request, ClubForm)
    if form.data is None:
        return form_page(request, form, status=422)
    async with db_session(request) as db:
        club_id = await clubs.create_club(db, user_of(request).id, form.data.name)
    return redirect(request, f"/clubs/{club_id}")


# --- a club's page ----------------------------------------------------------------------------


async def detail_page(
    request: web.Request,
    found: ClubMembership,
    *,
    member_form: Form[ClubMemberForm] | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> web.Response:
    club = found.club
    user_id = user_of(request).id
    day = datetime.now(request.app[settings_key].zone).date()
    async with db_session(request) as db:
        apiaries = await clubs.apiaries_of_club(db, club.id)
        members = await clubs.members_of_club(db, club.id)
        due = await clubs.due_in_club(db, club.id, day)
        readable = await clubs.readable_apiaries(db, user_id)
        to_give = await clubs.apiaries_to_give(db, user_id, club.id) if found.organises else []
    if not found.organises:  # those not yet joined are the organisers' business
        members = [member for member in members if member.joined_at is not None]
    context: dict[str, Any] = {
        "club": club,
        "membership": found,
        "apiaries": apiaries,
        "members": members,
        "due": due,
        "day": day,
        "due_days": clubs.DUE_DAYS,
        "readable": readable,
        "to_give": to_give,
        "me": user_id,
        "member_form": member_form or Form(values={}),
        "refusal": refusal,
        "roles": club_roles(),
    }
    return render(
        request, "clubs/detail.html", context, partial="partials/clubs/detail.html", status=status
    )


@login_required
async def club_detail(request: web.Request) -> web.Response:
    return await detail_page(request, await club_for(request))


# --- members ----------------------------------------------------------------------------------


@login_required
async def member_add(request: web.Request) -> web.Response:
    """Add an existing account by email: the person finds the club on their clubs page and
    accepts (or declines) it."""
    found = await club_for(request, organise=True)
    form = await read_form(request, ClubMemberForm)
    if form.data is None:
        return await detail_page(request, found, member_form=form, status=422)
    async with db_session(request) as db:
        try:
            await clubs.add_member(db, found.club.id, user_of(request).id, str(form.data.email))
        except Refused as refused:
            form.add_error("email", translate(refused.message))
            return await detail_page(request, found, member_form=form, status=422)
    return redirect(request, f"/clubs/{found.club.id}")


@login_required
async def member_role(request: web.Request) -> web.Response:
    found = await club_for(request, organise=True)
    form = await read_form(request, ClubRoleForm)
    if form.data is None:
        refusal = next(iter(form.errors.values()))
        return await detail_page(request, found, refusal=refusal, status=422)
    async with db_session(request) as db:
        try:
            known = await clubs.change_role(
                db, found.club.id, path_id(request, "user"), form.data.role
            )
        except Refused as refused:
            return await detail_page(request, found, refusal=translate(refused.message), status=422)
    if not known:
        raise web.HTTPNotFound()
    return redirect(request, f"/clubs/{found.club.id}")


@login_required
async def member_remove(request: web.Request) -> web.Response:
    """Take a member out of the club, or withdraw their invitation."""
    found = await club_for(request, organise=True)
    user_id = path_id(request, "user")
    async with db_session(request) as db:
        try:
            known = await clubs.remove_member(db, found.club.id, user_id)
        except Refused as refused:
            return await detail_page(request, found, refusal=translate(refused.message), status=422)
    if not known:
        raise web.HTTPNotFound()
    if user_id == user_of(request).id:  # an organiser who took themselves out
        return redirect(request, "/clubs")
    return redirect(request, f"/clubs/{found.club.id}")


@login_required
async def club_leave(request: web.Request) -> web.Response:
    found = await club_for(request)
    async with db_session(request) as db:
        try:
            await clubs.remove_member(db, found.club.id, user_of(request).id)
        except Refused as refused:
            return await detail_page(request, found, refusal=translate(refused.message), status=422)
    return redirect(request, "/clubs")


@login_required
async def club_accept(request: web.Request) -> web.Response:
    """The person added to the club joins it; to anyone else the club does not exist."""
    async with db_session(request) as db:
        if not await clubs.accept(db, path_id(request), user_of(request).id):
            raise web.HTTPNotFound()
    return redirect(request, f"/clubs/{path_id(request)}")


@login_required
async def club_decline(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        if not await clubs.decline(db, path_id(request), user_of(request).id):
            raise web.HTTPNotFound()
    return redirect(request, "/clubs")


# --- an apiary's club -------------------------------------------------------------------------


async def apiary_club(request: web.Request) -> web.Response:
    """Give an apiary to a club, or take it out of its club (a blank club): for an owner of the
    apiary; giving, for one who organises the club too. Back to the club's page (the one it
    joined, or the one it left); a club the asker does not organise does not exist (404)."""
    found = await apiary_for(request, own=True)
    form = await read_form(request, ApiaryClubForm)
    if form.data is None:
        raise web.HTTPUnprocessableEntity(reason=NO_SUCH_CLUB)
    club_id = form.data.club_id
    user_id = user_of(request).id
    async with db_session(request) as db:
        if club_id is not None and club_id not in dict(await clubs.organised_by(db, user_id)):
            raise web.HTTPNotFound()
        try:
            before = await clubs.set_club(db, found.apiary.id, club_id)
        except Refused as refused:
            raise web.HTTPUnprocessableEntity(reason=refused.message) from None
    shown = club_id or before
    return redirect(request, f"/clubs/{shown}" if shown else f"/apiaries/{found.apiary.id}")

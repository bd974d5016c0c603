"""Apiaries: the list, an apiary's page (its hives, members and invitations), its form, and
taking an invitation.

Who may see or run an apiary is app/web/auth.py's `apiary_for`: its members see it, its owners
run it (members, invitations, renaming, archiving, deleting); to anyone else it does not exist
(404). Every change of members goes through app/apiaries/queries.py, which never leaves an
apiary without an owner.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.apiaries import queries
from app.apiaries.schemas import (
    MAX_INVITATION_DAYS,
    ROLE_HINTS,
    ROLE_LABELS,
    ApiaryForm,
    InvitationForm,
    RoleForm,
)
from app.models import ApiaryRole
from app.web.auth import Membership, apiary_for, login_required, user_of
from app.web.context import map_settings
from app.web.database import db_session
from app.web.forms import Form, read_form
from app.web.htmx import redirect, render
from app.web.i18n import translate
from app.web.paths import path_id


def roles() -> dict[ApiaryRole, str]:
    return {role: translate(label) for role, label in ROLE_LABELS.items()}


@login_required
async def apiary_list(request: web.Request) -> web.Response:
    user = user_of(request)
    async with db_session(request) as db:
        apiaries = await queries.apiaries_of_user(db, user.id)
        invitations = await queries.invitations_for(db, user.id)
    context = {"apiaries": apiaries, "invitations": invitations, "roles": roles()}
    return render(request, "apiaries/list.html", context, partial="partials/apiaries/list.html")


# --- an apiary's page -------------------------------------------------------------------------


async def detail_page(
    request: web.Request,
    found: Membership,
    *,
    invitation_form: Form[InvitationForm] | None = None,
    new_link: str | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> web.Response:
    apiary = found.apiary
    async with db_session(request) as db:
        hives = await queries.hives_in(db, apiary.id)
        members = await queries.members_of(db, apiary.id)
        invitations = await queries.open_invitations(db, apiary.id) if found.owns else []
        latitude, longitude = await queries.location_of(db, apiary.id)
    context: dict[str, Any] = {
        "apiary": apiary,
        "membership": found,
        "latitude": latitude,
        "longitude": longitude,
        "hives": hives,
        "members": members,
        "me": user_of(request).id,
        "invitations": invitations,
        "invitation_form": invitation_form or Form(values={"role": "keeper", "days": "7"}),
        "new_link": new_link,
        "refusal": refusal,
        "roles": roles(),
        "role_hints": {role: translate(hint) for role, hint in ROLE_HINTS.items()},
        "max_days": MAX_INVITATION_DAYS,
    }
    return render(
        request,
        "apiaries/detail.html",
        context,
        partial="partials/apiaries/detail.html",
        status=status,
    )


async def apiary_detail(request: web.Request) -> web.Response:
    return await detail_page(request, await apiary_for(request))


# --- making and editing -----------------------------------------------------------------------


def form_page(
    request: web.Request,
    form: Form[ApiaryForm],
    *,
    found: Membership | None = None,
    status: int = 200,
) -> web.Response:
    action = "/apiaries" if found is None else f"/apiaries/{found.apiary.id}/edit"
    context = {"form": form, "found": found, "action": action, **map_settings(request)}
    return render(
        request, "apiaries/form.html", context, partial="partials/apiaries/form.html", status=status
    )


@login_required
async def apiary_new(request: web.Request) -> web.Response:
    return form_page(request, Form(values={}))


@login_required
async def apiary_create(request: web.Request) -> web.Response:
    form = await read_form(request, ApiaryForm)
    if form.data is None:
        return form_page(request, form, status=422)
    async with db_session(request) as db:
        apiary_id = await queries.create_apiary(db, user_of(request).id, form.data)
    return redirect(request, f"/apiaries/{apiary_id}")


async def apiary_edit(request: web.Request) -> web.Response:
    found = await apiary_for(request, own=True)
    apiary = found.apiary
    async with db_session(request) as db:
        latitude, longitude = await queries.location_of(db, apiary.id)
    values = {
        "name": apiary.name,
        "latitude": f"{latitude:.6f}",
        "longitude": f"{longitude:.6f}",
        "address": apiary.address,
        "registration_number": apiary.registration_number or "",
        "notes": apiary.notes,
    }
    return form_page(request, Form(values=values), found=found)


async def apiary_update(request: web.Request) -> web.Response:
    found = await apiary_for(request, own=True)
    form = await read_form(request, ApiaryForm)
    if form.data is None:
        return form_page(request, form, found=found, status=422)
    async with db_session(request) as db:
        await queries.update_apiary(db, found.apiary.id, form.data)
    return redirect(request, f"/apiaries/{found.apiary.id}")


async def apiary_archive(request: web.Request) -> web.Response:
    """Archive an apiary (or open it again): its hives and records stay, no one is invited."""
    found = await apiary_for(request, own=True)
    archived = (await request.post()).get("archived") == "true"
    async with db_session(request) as db:
        await queries.set_archived(db, found.apiary.id, archived)
    return redirect(request, f"/apiaries/{found.apiary.id}")


async def apiary_delete(request: web.Request) -> web.Response:
    found = await apiary_for(request, own=True)
    async with db_session(request) as db:
        try:
            await queries.delete_apiary(db, found.apiary.id)
        except queries.Refused as refused:
            return await detail_page(request, found, refusal=translate(refused.message), status=422)
    return redirect(request, "/apiaries")


# --- members ----------------------------------------------------------------------------------


async def member_role(request: web.Request) -> web.Response:
    found = await apiary_for(request, own=True)
    form = await read_form(request, RoleForm)
    if form.data is None:
        return await detail_page(
            request, found, refusal=next(iter(form.errors.values())), status=422
        )
    async with db_session(request) as db:
        try:
            known = await queries.change_role(
                db, found.apiary.id, path_id(request, "user"), form.data.role
            )
        except queries.Refused as refused:
            return await detail_page(request, found, refusal=translate(refused.message), status=422)
    if not known:
        raise web.HTTPNotFound()
    return await after_member_change(request, found)


async def member_remove(request: web.Request) -> web.Response:
    found = await apiary_for(request, own=True)
    async with db_session(request) as db:
        try:
            known = await queries.remove_member(db, found.apiary.id, path_id(request, "user"))
        except queries.Refused as refused:
            return await detail_page(request, found, refusal=translate(refused.message), status=422)
    if not known:
        raise web.HTTPNotFound()
    return await after_member_change(request, found)


async def after_member_change(request: web.Request, found: Membership) -> web.Response:
    """Back to the apiary's page, or, for an owner who has just stepped down from running it
    (or out of it), wherever they may still go."""
    async with db_session(request) as db:
        mine = {
            row.apiary.id: row.role
            for row in await queries.apiaries_of_user(db, user_of(request).id)
        }
    if found.apiary.id in mine:
        return redirect(request, f"/apiaries/{found.apiary.id}")
    return redirect(request, "/apiaries")


async def apiary_leave(request: web.Request) -> web.Response:
    found = await apiary_for(request)
    async with db_session(request) as db:
        try:
            await queries.remove_member(db, found.apiary.id, user_of(request).id)
        except queries.Refused as refused:
            return await detail_page(request, found, refusal=translate(refused.message), status=422)
    return redirect(request, "/apiaries")


# --- invitations ------------------------------------------------------------------------------


async def invitation_create(request: web.Request) -> web.Response:
    """An invitation: a link shown on this answer once (only its hash is kept), or one for an
    existing account, which sees it on its apiaries page."""
    found = await apiary_for(request, own=True)
    form = await read_form(request, InvitationForm)
    if form.data is None or found.apiary.archived_at is not None:
        return await detail_page(request, found, invitation_form=form, status=422)
    async with db_session(request) as db:
        try:
            _, token = await queries.invite(db, found.apiary.id, user_of(request).id, form.data)
        except queries.Refused as refused:
            form.add_error("email", translate(refused.message))
            return await detail_page(request, found, invitation_form=form, status=422)
    if token is None:
        return redirect(request, f"/apiaries/{found.apiary.id}")
    link = f"{request.scheme}://{request.host}/invitations/{token}"
    return await detail_page(request, found, new_link=link)


async def invitation_revoke(request: web.Request) -> web.Response:
    found = await apiary_for(request, own=True)
    async with db_session(request) as db:
        if not await queries.revoke(db, found.apiary.id, path_id(request, "invitation")):
            raise web.HTTPNotFound()
    return redirect(request, f"/apiaries/{found.apiary.id}")


@login_required
async def invitation_page(request: web.Request) -> web.Response:
    """What a link invites to, with Accept; one that cannot be used says so and changes nothing."""
    async with db_session(request) as db:
        invitation = await queries.invitation_by_token(db, request.match_info["token"])
    return invitation_answer(request, invitation)


def invitation_answer(request: web.Request, invitation: queries.Invitation | None) -> web.Response:
    return render(
        request,
        "apiaries/invitation.html",
        {"invitation": invitation, "roles": roles()},
        partial="partials/apiaries/invitation.html",
        status=200 if invitation else 404,
    )


@login_required
async def invitation_accept(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        invitation = await queries.invitation_by_token(db, request.match_info["token"])
        apiary_id = invitation and await queries.accept(db, invitation.id, user_of(request).id)
    if not apiary_id:
        return invitation_answer(request, None)
    return redirect(request, f"/apiaries/{apiary_id}")


@login_required
async def account_invitation_accept(request: web.Request) -> web.Response:
    """Accept an invitation addressed to the signed-in account."""
    user_id = user_of(request).id
    async with db_session(request) as db:
        invitation = await queries.invitation_for_user(db, path_id(request), user_id)
        apiary_id = invitation and await queries.accept(db, invitation.id, user_id)
    if not apiary_id:
        return invitation_answer(request, None)
    return redirect(request, f"/apiaries/{apiary_id}")


@login_required
async def account_invitation_decline(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        await queries.decline(db, path_id(request), user_of(request).id)
    return redirect(request, "/apiaries")

"""Hives: the list, the form, the map and the GeoJSON behind it (the hive's own page, which
gathers its inspections and sensors too, is app/pages/hive.py).

Who may see or change a hive is app/web/auth.py's `hive_for`: another user's hive does not
exist (404), and anonymous visitors are sent to log in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.hives import queries
from app.hives.schemas import (
    FRAME_TYPE_LABELS,
    MAX_BBOX_AREA,
    ORIGIN_LABELS,
    STATUS_LABELS,
    Bbox,
    HiveForm,
    HiveListQuery,
)
from app.keys import settings_key, user_key
from app.models import User
from app.web import idempotency
from app.web.auth import HiveView, hive_for, login_required, user_of
from app.web.context import map_settings
from app.web.database import db_session
from app.web.forms import Form, read_form
from app.web.htmx import htmx, push_url, redirect, render
from app.web.i18n import translate

GEOJSON = "application/geo+json"


def translated[K](labels: dict[K, str]) -> dict[K, str]:
    """The labels in the reader's language (they are marked with N_() in app/hives/schemas.py)."""
    return {value: translate(label) for value, label in labels.items()}


def choices() -> dict[str, Any]:
    """The frame types, origins and statuses as the reader reads them, by their values."""
    return {
        "frame_types": translated(FRAME_TYPE_LABELS),
        "origins": translated(ORIGIN_LABELS),
        "statuses": translated(STATUS_LABELS),
    }


def list_query(request: web.Request) -> HiveListQuery:
    """The list's state from the URL; a value that makes no sense falls back to its default."""
    values = {key: request.query[key] for key in HiveListQuery.model_fields if key in request.query}
    try:
        return HiveListQuery.model_validate(values)
    except ValidationError as error:
        for item in error.errors():
            values.pop(str(item["loc"][0]), None)
        return HiveListQuery.model_validate(values)


def page_url(query: HiveListQuery, page: int) -> str:
    state = query.model_dump(exclude_defaults=True) | {"page": page}
    if page == 1:
        state.pop("page")
    return "/hives" + (f"?{urlencode(state)}" if state else "")


@login_required
async def hive_list(request: web.Request) -> web.Response:
    user = user_of(request)
    query = list_query(request)
    async with db_session(request) as db:
        page = await queries.list_hives(db, user.id, query)
        sites = await queries.sites_of(db, user.id)
    context = {
        "query": query,
        "result": page,
        "sites": sites,
        "statuses": translated(STATUS_LABELS),
        "previous_url": page_url(query, page.page - 1) if page.page > 1 else None,
        "next_url": page_url(query, page.page + 1) if page.page < page.pages else None,
    }
    response = render(request, "hives/list.html", context, partial="partials/hives/results.html")
    if htmx(request).wants_fragment:  # the address bar shows the list's state, tidily
        push_url(response, page_url(query, page.page))
    return response


async def form_page(
    request: web.Request,
    form: Form[HiveForm],
    *,
    hive: HiveView | None = None,
    status: int = 200,
) -> web.Response:
    action = "/hives" if hive is None else f"/hives/{hive.hive.id}/edit"
    async with db_session(request) as db:
        apiary_names = await queries.sites_of(db, user_of(request).id)
    context = {"form": form, "hive": hive, "action": action, "apiary_names": apiary_names}
    return render(
        request,
        "hives/form.html",
        {**context, **choices(), **map_settings(request)},
        partial="partials/hives/form.html",
        status=status,
    )


@login_required
async def hive_new(request: web.Request) -> web.Response:
    values = {
        "status": "active",
        "frame_type": "langstroth",
        idempotency.FIELD: idempotency.fresh_key(),
    }
    return await form_page(request, Form(values=values))


@login_required
async def hive_create(request: web.Request) -> web.Response:
    """A new hive, once per the form's Idempotency-Key: a double tap makes one hive."""
    form = await read_form(request, HiveForm)
    key = idempotency.form_key(request, form)
    if form.data is None:
        return await form_page(request, form, status=422)
    data = form.data

    async def add(db: AsyncSession) -> idempotency.Answer:
        return idempotency.Answer(
            303, f"/hives/{await queries.add_hive(db, user_of(request).id, data)}"
        )

    answer = await idempotency.create_from_form(request, form, user_of(request).id, key, add)
    if answer is None:
        return await form_page(request, form, status=422)
    return redirect(request, answer.location)


async def hive_card(request: web.Request) -> web.Response:
    """The map popup's card: a summary that links to the hive's page."""
    found = await hive_for(request)
    return render(
        request,
        "hives/card.html",
        {"hive": found.hive, "statuses": translated(STATUS_LABELS)},
        partial="partials/hives/card.html",
    )


def edit_values(found: HiveView) -> dict[str, str]:
    hive = found.hive
    return {
        "name": hive.name,
        "latitude": f"{found.latitude:.6f}",
        "longitude": f"{found.longitude:.6f}",
        "site": hive.site or "",
        "frame_type": hive.frame_type.value,
        "origin": hive.origin.value if hive.origin else "",
        "status": hive.status.value,
        "installed_on": hive.installed_on.isoformat() if hive.installed_on else "",
        "notes": hive.notes,
    }


async def hive_edit(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    return await form_page(request, Form(values=edit_values(found)), hive=found)


async def hive_update(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await read_form(request, HiveForm)
    if form.data is None:
        return await form_page(request, form, hive=found, status=422)
    async with db_session(request) as db:
        try:
            await queries.update_hive(db, user_of(request).id, found, form.data)
        except queries.MoveRefused:
            form.add_error("site", translate(queries.MOVE_REFUSED))
            return await form_page(request, form, hive=found, status=422)
    return redirect(request, f"/hives/{found.hive.id}")


async def hive_delete_confirm(request: web.Request) -> web.Response:
    found = await hive_for(request, own=True)
    return render(
        request,
        "hives/delete.html",
        {"hive": found.hive},
        partial="partials/hives/delete.html",
    )


async def hive_delete(request: web.Request) -> web.Response:
    found = await hive_for(request, own=True)
    async with db_session(request) as db:
        await queries.delete_hive(db, found.hive.id)
    return redirect(request, "/hives")


@login_required
async def hive_map(request: web.Request) -> web.Response:
    context = map_settings(request) | {"max_bbox_area": MAX_BBOX_AREA}
    return render(request, "hives/map.html", context, partial="partials/hives/map.html")


async def hives_geojson(request: web.Request) -> web.Response:
    """The signed-in user's hives in the bounding box, as GeoJSON built by PostGIS."""
    user: User | None = request.get(user_key)
    if user is None:
        raise web.HTTPUnauthorized(reason="Log in to see your hives.")
    bbox = None
    if "bbox" in request.query:
        try:
            bbox = Bbox.parse(request.query["bbox"])
        except (ValueError, ValidationError) as error:
            raise web.HTTPUnprocessableEntity(
                reason=f"Invalid bbox: {bbox_problem(error)}"
            ) from None
    async with db_session(request) as db:
        collection = await queries.hives_geojson(
            db, user.id, bbox, request.app[settings_key].map_feature_cap
        )
    return web.Response(
        text=collection,
        content_type=GEOJSON,
        headers={"Cache-Control": "private, no-cache", "Vary": "Cookie"},
    )


def bbox_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{first['loc'][0]}: {first['msg']}"
    return str(error)

"""The field log's pages: record and schedule inspections, log harvests, the calendar feed.

Every create takes an Idempotency-Key (the header, or the form's hidden `idempotency_key`): a
double tap or an offline outbox replaying its queue creates the record once, and the repeat is
answered like the first request. The same key with other values is a 422: the form again, with
a fresh key and a message saying that it was already sent.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from app.inspections import queries
from app.inspections.schemas import (
    ACTION_LABELS,
    FUTURE_INSPECTION,
    QUEEN_CELL_LABELS,
    TEMPERAMENT_LABELS,
    VARROA_METHOD_LABELS,
    WEATHER_LABELS,
    HarvestForm,
    InspectionForm,
    ScheduleForm,
    in_the_future,
)
from app.keys import settings_key
from app.models import Hive, Inspection
from app.web import formatting, idempotency
from app.web.auth import HiveView, hive_for, login_required, safe_next, user_of
from app.web.context import local_today
from app.web.database import db_session
from app.web.forms import Form, read_form, validate
from app.web.htmx import redirect, render, vary
from app.web.i18n import N_, _, translate
from app.web.paths import MAX_ID, path_id


def local_now(request: web.Request) -> datetime:
    return datetime.now(request.app[settings_key].zone)


def translated[K](labels: dict[K, str]) -> dict[K, str]:
    """A label dict in the request's language (its keys, the values sent, stay as they are)."""
    return {key: translate(label) for key, label in labels.items()}


def checklist_choices() -> dict[str, Any]:
    return {
        "queen_cell_kinds": translated(QUEEN_CELL_LABELS),
        "temperaments": translated(TEMPERAMENT_LABELS),
        "varroa_methods": translated(VARROA_METHOD_LABELS),
        "action_labels": translated(ACTION_LABELS),
        "weather_labels": translated(WEATHER_LABELS),
    }


async def owned_inspection(request: web.Request, *, change: bool = True) -> tuple[Inspection, Hive]:
    """The URL's inspection and its hive, if the user may change it (or, without `change`, read
    it): else 404, as for an inspection that does not exist."""
    async with db_session(request) as db:
        found = await queries.inspection_of(
            db, user_of(request).id, path_id(request), change=change
        )
    if found is None:
        raise web.HTTPNotFound()
    return found


def as_id(text: str) -> int | None:
    """An id from a query string or form field; anything else (or too big to exist) is None."""
    return int(text) if text.isdigit() and int(text) <= MAX_ID else None


def created(location: str) -> idempotency.Answer:
    """A form's create answers where its record is (a 303 there, or HX-Redirect for htmx)."""
    return idempotency.Answer(303, location)


# --- Recording an inspection ---------------------------------------------------------------


def inspection_values(request: web.Request) -> dict[str, Any]:
    """Sensible defaults: now, and the next visit in a week (last time's values sit beside)."""
    now = local_now(request)
    return {
        "done_at": now.strftime("%Y-%m-%dT%H:%M"),
        "next_inspection_on": (now.date() + timedelta(days=7)).isoformat(),
        "idempotency_key": idempotency.fresh_key(),
        "actions": [],
    }


def inspection_page(
    request: web.Request,
    found: HiveView,
    form: Form[InspectionForm],
    *,
    previous: Inspection | None,
    schedule: Inspection | None = None,
    editing: Inspection | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "inspections/record.html",
        {
            "form": form,
            "hive": found.hive,
            "previous": previous,
            "schedule": schedule,
            "editing": editing,
            **checklist_choices(),
        },
        partial="partials/inspections/record.html",
        status=status,
    )


@login_required
async def inspection_new(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    schedule = None
    async with db_session(request) as db:
        previous = await queries.previous_inspection(db, found.hive.id)
        schedule_id = as_id(request.query.get("schedule", ""))
        if schedule_id is not None:
            schedule = await queries.open_schedule_of(db, found.hive.id, schedule_id)
    values = inspection_values(request)
    if schedule is not None:
        values["schedule"] = str(schedule.id)
    return inspection_page(
        request, found, Form(values=values), previous=previous, schedule=schedule
    )


def zoned(value: Any, request: web.Request) -> Any:
    """A time typed without a zone (datetime-local) is the city's local time."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=request.app[settings_key].zone)
    return value


def in_the_city(form: Form[InspectionForm], request: web.Request) -> InspectionForm | None:
    """The checklist with its time in the city's zone; None (and the form's message) when that
    time is still to come there."""
    if form.data is None:
        return None
    done_at = zoned(form.data.done_at, request)
    if in_the_future(done_at):
        form.add_error("done_at", translate(FUTURE_INSPECTION))
        return None
    return form.data.model_copy(update={"done_at": done_at})


async def inspection_refused(
    request: web.Request, found: HiveView, form: Form[InspectionForm]
) -> web.Response:
    """The checklist again (422) with its messages, and last time's values beside it."""
    async with db_session(request) as db:
        previous = await queries.previous_inspection(db, found.hive.id)
    return inspection_page(request, found, form, previous=previous, status=422)


@login_required
async def inspection_create(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await read_form(request, InspectionForm, lists=("actions",))
    key = idempotency.form_key(request, form)
    schedule_id = as_id(form.values.get("schedule", ""))
    data = in_the_city(form, request)
    if data is None:
        return await inspection_refused(request, found, form)

    async def record(db: AsyncSession) -> idempotency.Answer:
        inspection_id = await queries.record(
            db, found.hive.id, data, schedule_id, by=user_of(request).id
        )
        return created(f"/hives/{found.hive.id}#inspection-{inspection_id}")

    answer = await idempotency.create_from_form(
        request, form, user_of(request).id, key, record, synced_as="inspection"
    )
    if answer is None:
        return await inspection_refused(request, found, form)
    return redirect(request, answer.location or "/")


# --- Correcting a recorded inspection --------------------------------------------------------


def stored_values(inspection: Inspection, request: web.Request) -> dict[str, Any]:
    """A recorded inspection as its form shows it: each answer as it would be typed."""
    values: dict[str, Any] = {}
    for name in InspectionForm.model_fields:
        value = getattr(inspection, name, None)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, datetime):
            value = value.astimezone(request.app[settings_key].zone).strftime("%Y-%m-%dT%H:%M")
        elif isinstance(value, Enum):
            value = value.value
        values[name] = value if isinstance(value, list) else str(value)
    values.setdefault("done_at", local_now(request).strftime("%Y-%m-%dT%H:%M"))
    return values


async def owned_inspection_with_hive(request: web.Request) -> tuple[Inspection, HiveView]:
    inspection, _ = await owned_inspection(request)
    return inspection, await hive_for(request, inspection.hive_id, change=True)


@login_required
async def inspection_edit(request: web.Request) -> web.Response:
    inspection, found = await owned_inspection_with_hive(request)
    form: Form[InspectionForm] = Form(values=stored_values(inspection, request))
    return inspection_page(request, found, form, previous=None, editing=inspection)


@login_required
async def inspection_update(request: web.Request) -> web.Response:
    inspection, found = await owned_inspection_with_hive(request)
    form = await read_form(request, InspectionForm, lists=("actions",))
    data = in_the_city(form, request)
    if data is None:
        return inspection_page(request, found, form, previous=None, editing=inspection, status=422)
    async with db_session(request) as db, db.begin():
        await queries.correct(db, inspection, data, by=user_of(request).id)
    return redirect(request, f"/hives/{found.hive.id}#inspection-{inspection.id}")


# --- Scheduling ---------------------------------------------------------------------------


def schedule_page(
    request: web.Request, found: HiveView, form: Form[ScheduleForm], status: int = 200
) -> web.Response:
    return render(
        request,
        "inspections/schedule.html",
        {"form": form, "hive": found.hive},
        partial="partials/inspections/schedule.html",
        status=status,
    )


@login_required
async def schedule_new(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    values = {
        "scheduled_for": (local_today(request) + timedelta(days=7)).isoformat(),
        "idempotency_key": idempotency.fresh_key(),
    }
    return schedule_page(request, found, Form(values=values))


@login_required
async def schedule_create(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await read_form(request, ScheduleForm)
    key = idempotency.form_key(request, form)
    if form.data is None:
        return schedule_page(request, found, form, status=422)
    data = form.data

    async def schedule(db: AsyncSession) -> idempotency.Answer:
        await queries.schedule(db, found.hive.id, data, user_of(request).id)
        return created(f"/hives/{found.hive.id}")

    answer = await idempotency.create_from_form(request, form, user_of(request).id, key, schedule)
    if answer is None:
        return schedule_page(request, found, form, status=422)
    return redirect(request, answer.location or "/")


# --- One inspection: its page, done, rescheduled, deleted -----------------------------------


@login_required
async def inspection_detail(request: web.Request) -> web.Response:
    inspection, hive = await owned_inspection(request, change=False)
    async with db_session(request) as db:
        recorded_by = await queries.name_of(db, inspection.recorded_by)
        may_change = await queries.inspection_of(
            db, user_of(request).id, inspection.id, change=True
        )
    return render(
        request,
        "inspections/detail.html",
        {
            "inspection": inspection,
            "hive": hive,
            "recorded_by": recorded_by,
            "may_change": may_change is not None,
            "worries": queries.worries(inspection, request.app[settings_key].varroa_alert_per_100),
            **checklist_choices(),
        },
        partial="partials/inspections/detail.html",
    )


def back_to(request: web.Request, posted: Any, default: str) -> web.Response:
    """Where an in-place action returns: `next`, if it is ours.

    A plain 303, for htmx too: htmx follows it with its headers, so a Today list that posted
    "done" gets the Today fragment back and swaps it in place.
    """
    response = web.Response(
        status=303, headers={"Location": safe_next(posted.get("next"), default)}
    )
    vary(response, "HX-Request")
    return response


@login_required
async def inspection_done(request: web.Request) -> web.Response:
    inspection, hive = await owned_inspection(request)
    posted = await request.post()
    async with db_session(request) as db, db.begin():
        await queries.mark_done(db, inspection, local_now(request))
    return back_to(request, posted, f"/hives/{hive.id}")


@login_required
async def inspection_reschedule(request: web.Request) -> web.Response:
    inspection, hive = await owned_inspection(request)
    posted = await request.post()
    form = validate(
        {
            "scheduled_for": str(posted.get("scheduled_for", "")),
            "schedule_note": inspection.schedule_note,
        },
        ScheduleForm,
    )
    if form.data is None or inspection.done_at is not None:
        if inspection.done_at is not None:
            form.add_error("scheduled_for", _("This inspection is already done."))
        return render(
            request,
            "inspections/reschedule.html",
            {
                "form": form,
                "inspection": inspection,
                "hive": hive,
                "next": safe_next(posted.get("next"), ""),
            },
            partial="partials/inspections/reschedule.html",
            status=422,
        )
    async with db_session(request) as db, db.begin():
        await queries.reschedule(db, inspection, form.data.scheduled_for)
    return back_to(request, posted, f"/hives/{hive.id}")


@login_required
async def inspection_reschedule_form(request: web.Request) -> web.Response:
    inspection, hive = await owned_inspection(request)
    values = {
        "scheduled_for": inspection.scheduled_for.isoformat() if inspection.scheduled_for else ""
    }
    return render(
        request,
        "inspections/reschedule.html",
        {
            "form": Form(values=values),
            "inspection": inspection,
            "hive": hive,
            "next": safe_next(request.query.get("next"), ""),
        },
        partial="partials/inspections/reschedule.html",
    )


@login_required
async def inspection_delete(request: web.Request) -> web.Response:
    inspection, hive = await owned_inspection(request)
    async with db_session(request) as db, db.begin():
        await queries.delete_inspection(db, inspection)
    return redirect(request, f"/hives/{hive.id}")


# --- Harvests -----------------------------------------------------------------------------


async def active_hives(request: web.Request) -> list[Hive]:
    async with db_session(request) as db:
        return await queries.active_hives_of(db, user_of(request).id)


def harvest_page(
    request: web.Request, form: Form[HarvestForm], hives: list[Hive], status: int = 200
) -> web.Response:
    chosen = [hive for hive in hives if str(hive.id) in form.values.get("hive_ids", [])]
    return render(
        request,
        "inspections/harvest_form.html",
        {"form": form, "hives": hives, "only_hive": chosen[0] if len(chosen) == 1 else None},
        partial="partials/inspections/harvest_form.html",
        status=status,
    )


@login_required
async def harvest_new(request: web.Request) -> web.Response:
    hives = await active_hives(request)
    chosen = [h for h in request.query.getall("hive", []) if h.isdigit()]
    values: dict[str, Any] = {
        "harvested_on": local_today(request).isoformat(),
        "hive_ids": chosen,
        "split": "even",
        "idempotency_key": idempotency.fresh_key(),
    }
    return harvest_page(request, Form(values=values), hives)


QUALITY_AS_JSON = N_('Write the metrics as a JSON object, e.g. {"hmf_mg_kg": 8}')


def harvest_form(values: dict[str, Any]) -> Form[HarvestForm]:
    """The harvest form checked; its quality metrics are typed as JSON text."""
    quality_text = str(values.get("quality", "")).strip()
    given = dict(values)
    quality: Any = {}
    if quality_text:
        try:
            quality = json.loads(quality_text)
        except ValueError:
            quality = None
    given["quality"] = quality
    form = validate(given, HarvestForm)
    form.values["quality"] = quality_text
    if not isinstance(quality, dict):
        form.add_error("quality", translate(QUALITY_AS_JSON))
    return form


def harvest_input(posted: Any) -> dict[str, Any]:
    """The harvest form's fields as the schema reads them: `kg_<hive>` become `kg_by_hive`."""
    values: dict[str, Any] = {
        name: value
        for name, value in posted.items()
        if isinstance(value, str) and name != "_csrf" and not name.startswith("kg_")
    }
    values["hive_ids"] = [h for h in posted.getall("hive_ids", []) if isinstance(h, str)]
    kg_by_hive: dict[str, str] = {}
    for name, value in posted.items():
        if name.startswith("kg_") and isinstance(value, str) and value.strip():
            kg_by_hive[name.removeprefix("kg_")] = value  # a blank one is a hive not weighed
        if name.startswith("kg_") and isinstance(value, str):
            values[name] = value
    values["kg_by_hive"] = kg_by_hive
    return values


@login_required
async def harvest_create(request: web.Request) -> web.Response:
    user = user_of(request)
    posted = await request.post()
    form = harvest_form(harvest_input(posted))
    key = idempotency.form_key(request, form)
    hives = await active_hives(request)
    if form.data is None:
        return harvest_page(request, form, hives, status=422)
    data = form.data

    async def harvest(db: AsyncSession) -> idempotency.Answer:
        changeable = await queries.changeable_hive_ids(db, user.id, data.hive_ids)
        if changeable != set(data.hive_ids):
            raise web.HTTPNotFound()  # a hive you may not change is not there to harvest
        return created(f"/harvests/{await queries.create_harvest(db, user.id, data)}")

    try:
        answer = await idempotency.create_from_form(
            request, form, user.id, key, harvest, synced_as="harvest"
        )
    except queries.HarvestWithheld as withheld:
        zone = request.app[settings_key].zone
        form.add_error("harvested_on", withheld.message(formatting.date(withheld.allowed_on, zone)))
        answer = None
    if answer is None:
        return harvest_page(request, form, hives, status=422)
    return redirect(request, answer.location or "/")


@login_required
async def harvest_list(request: web.Request) -> web.Response:
    user = user_of(request)
    year = request.query.get("season", "")
    day = local_today(request)
    if year.isdigit() and 1900 <= int(year) <= day.year:
        day = date(int(year), 12, 31)
    async with db_session(request) as db:
        totals = await queries.season_totals(db, user.id, day)
        harvests = await queries.recent_harvests(db, user.id)
    return render(
        request,
        "inspections/harvests.html",
        {"totals": totals, "harvests": harvests, "this_year": local_today(request).year},
        partial="partials/inspections/harvests.html",
    )


async def owned_harvest(request: web.Request, *, change: bool = False) -> queries.HarvestView:
    """The URL's harvest if the user may read one of its hives (with `change`, change all of
    them); else 404."""
    async with db_session(request) as db:
        found = await queries.harvest_of(db, user_of(request).id, path_id(request), change=change)
    if found is None:
        raise web.HTTPNotFound()
    return found


@login_required
async def harvest_detail(request: web.Request) -> web.Response:
    found = await owned_harvest(request)
    async with db_session(request) as db:
        may_change = await queries.harvest_of(
            db, user_of(request).id, found.harvest.id, change=True
        )
    return render(
        request,
        "inspections/harvest.html",
        {
            "harvest": found.harvest,
            "shares": found.shares,
            "treatments": found.treatments,
            "recorded_by": found.recorded_by,
            "may_change": may_change is not None,
        },
        partial="partials/inspections/harvest.html",
    )


@login_required
async def harvest_delete(request: web.Request) -> web.Response:
    found = await owned_harvest(request, change=True)
    async with db_session(request) as db, db.begin():
        await queries.delete_harvest(db, found.harvest)
    return redirect(request, "/harvests")

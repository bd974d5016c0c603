"""A colony's page, its family tree, the season, and the small forms of its events.

Every event is a create through the Idempotency-Key (app/web/idempotency.py): a double tap or
the offline outbox replaying its queue records it once. What cannot be (see queries.Refused) is
a 422: the form again with the message beside its field, and nothing saved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from app.colonies import queries
from app.colonies.queries import Refused
from app.colonies.schemas import (
    COLONY_STATUS_LABELS,
    COLOUR_LABELS,
    EVENT_LABELS,
    OLD_QUEEN_FATES,
    QUEEN_ORIGIN_LABELS,
    QUEEN_STATUS_LABELS,
    BoxesForm,
    DiedForm,
    EventForm,
    MarkingColour,
    QueenForm,
    RequeenForm,
    SoldForm,
    SplitForm,
    StartForm,
    SwarmCapturedForm,
    SwarmLostForm,
    UnionForm,
    colour_of,
)
from app.colonies.tree import family_of
from app.keys import settings_key
from app.models import Colony, Hive, Queen
from app.web import idempotency
from app.web.auth import HiveView, apiary_for, hive_for, login_required, user_of
from app.web.context import local_today
from app.web.database import db_session
from app.web.formatting import date_time
from app.web.forms import Form, read_form
from app.web.htmx import redirect, render
from app.web.i18n import N_, _, translate
from app.web.paths import MAX_ID, path_id

COLONY_LABEL = N_("Colony")


def translated[K](labels: dict[K, str]) -> dict[K, str]:
    return {key: translate(label) for key, label in labels.items()}


def labels() -> dict[str, Any]:
    """The words for colonies, queens and events, in the reader's language."""
    return {
        "colony_statuses": translated(COLONY_STATUS_LABELS),
        "colours": translated(COLOUR_LABELS),
        "event_labels": translated(EVENT_LABELS),
        "queen_origins": translated(QUEEN_ORIGIN_LABELS),
        "queen_statuses": translated(QUEEN_STATUS_LABELS),
        "old_queen_fates": translated(OLD_QUEEN_FATES),
    }


async def owned_colony(request: web.Request, db: AsyncSession, *, change: bool = True) -> Colony:
    """The URL's colony if the user may record its events (without `change`, read it); else
    404, as for a colony that never was."""
    colony = await queries.colony_of(db, user_of(request).id, path_id(request), change=change)
    if colony is None:
        raise web.HTTPNotFound()
    return colony


def refuse(form: Form[Any], refusal: Refused) -> None:
    """A refusal found by the queries, beside its field."""
    form.labels.setdefault("colony", translate(COLONY_LABEL))
    form.add_error(refusal.field, translate(refusal.message))


async def create_once(
    request: web.Request,
    form: Form[Any],
    create: Callable[[AsyncSession], Awaitable[idempotency.Answer]],
) -> idempotency.Answer | None:
    """The form's create, once per Idempotency-Key; None (and the form's message) when it was
    refused or its key was spent on other values."""
    key = idempotency.form_key(request, form)
    if not form.valid:
        return None
    try:
        return await idempotency.create_from_form(
            request, form, user_of(request).id, key, create, synced_as="colony_event"
        )
    except Refused as refusal:
        refuse(form, refusal)
        return None


# --- a colony's page, the lineages, the season -------------------------------------------------


@login_required
async def colony_page(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        colony = await owned_colony(request, db, change=False)
        user_id = user_of(request).id
        family = await family_of(db, user_id)
        may_change = await queries.colony_of(db, user_id, colony.id, change=True)
        context = {
            "colony": colony,
            "may_change": may_change is not None,
            "recorded_by": await queries.name_of(db, colony.owner_id),
            "hive": await queries.hive_of(db, colony),
            "queen": await queries.current_queen(db, colony.id),
            "queens": await queries.queens_of_colony(db, colony.id),
            "events": await queries.events_of_colony(db, colony.id),
            "ancestors": family.ancestors(colony.id),
            "descendants": family.descendants(colony.id),
            "event_kinds": EVENTS,
            **labels(),
        }
    return render(request, "colonies/detail.html", context, partial="partials/colonies/detail.html")


def season_year(request: web.Request) -> int:
    asked = request.query.get("year", "")
    this_year = local_today(request).year
    if asked.isdigit() and 1990 <= int(asked) <= this_year + 1:
        return int(asked)
    return this_year


async def asked_apiary(request: web.Request, db: AsyncSession) -> int | None:
    """The apiary `?apiary=` narrows a page to, if any: one the user may read, else 404."""
    asked = request.query.get("apiary", "")
    if not asked:
        return None
    if not asked.isdigit() or int(asked) > MAX_ID:
        raise web.HTTPNotFound()
    return (await apiary_for(request, int(asked), db=db)).apiary.id


@login_required
async def colony_list(request: web.Request) -> web.Response:
    """The user's lineages (every colony with all that came from it) and a season's numbers,
    of all their apiaries or of one."""
    year = season_year(request)
    user_id = user_of(request).id
    async with db_session(request) as db:
        apiary_id = await asked_apiary(request, db)
        family = await family_of(db, user_id, apiary_id)
        season = await queries.season(db, user_id, year, apiary_id)
        apiaries = await queries.apiary_choices(db, user_id)
    return render(
        request,
        "colonies/list.html",
        {
            "lineages": family.lineages(),
            "season": season,
            "apiaries": apiaries,
            "apiary_id": apiary_id,
            **labels(),
        },
        partial="partials/colonies/list.html",
    )


# --- the events of a colony --------------------------------------------------------------------


@dataclass(frozen=True)
class EventKind:
    """One event's form: its address, schema, title and what it does."""

    slug: str
    schema: type[EventForm]
    title: str
    record: Callable[[AsyncSession, Colony, Any, date, int], Awaitable[int]]


async def _split(db: AsyncSession, colony: Colony, data: SplitForm, today: date, by: int) -> int:
    _, event_id = await queries.split(db, colony, data, today, by)
    return event_id


EVENTS = {
    kind.slug: kind
    for kind in (
        EventKind("split", SplitForm, N_("Split"), _split),
        EventKind("union", UnionForm, N_("Union"), queries.union),
        EventKind("requeen", RequeenForm, N_("Requeen"), queries.requeen),
        EventKind("swarm-lost", SwarmLostForm, N_("Swarm lost"), queries.swarm_lost),
        EventKind("died", DiedForm, N_("Colony died"), queries.died),
        EventKind("sold", SoldForm, N_("Sold or given"), queries.sold),
    )
}


def event_values(request: web.Request, colony: Colony) -> dict[str, Any]:
    today = local_today(request)
    return {
        "happened_on": today.isoformat(),
        "year": str(today.year),
        "idempotency_key": idempotency.fresh_key(),
    }


async def event_choices(
    db: AsyncSession, user_id: int, colony: Colony, zone: ZoneInfo
) -> dict[str, Any]:
    """What the event forms offer `user_id` to choose from: the empty hives and other living
    colonies they may change, the queens they may read, and the swarm alerts of the colony's
    hive."""
    others = await queries.colonies_of(db, user_id, alive=True, change=True)
    return {
        "free_hives": {str(h.id): h.name for h in await queries.free_hives_of(db, user_id)},
        "other_colonies": {str(c.id): c.name for c in others if c.id != colony.id},
        "mother_queens": queen_choices(await queries.queens_of(db, user_id)),
        "swarm_alerts": {
            str(alert.id): _("Swarm alert of %(when)s", when=date_time(alert.raised_at, zone))
            for alert in (
                await queries.swarm_alerts_of(db, colony.hive_id) if colony.hive_id else []
            )
        },
    }


def queen_choices(queens: list[Queen], leave_out: int | None = None) -> dict[str, str]:
    return {
        str(queen.id): f"{queen.year} · {translate(COLOUR_LABELS[colour_named(queen)])}"
        + (f" · {queen.race}" if queen.race else "")
        + f" (#{queen.id})"
        for queen in queens
        if queen.id != leave_out
    }


def colour_named(queen: Queen) -> MarkingColour:
    try:
        return MarkingColour(queen.colour)
    except ValueError:
        return colour_of(queen.year)


async def event_page(
    request: web.Request,
    kind: EventKind,
    colony: Colony,
    form: Form[Any],
    *,
    status: int = 200,
) -> web.Response:
    async with db_session(request) as db:
        choices = await event_choices(
            db, user_of(request).id, colony, request.app[settings_key].zone
        )
    return render(
        request,
        "colonies/event.html",
        {"colony": colony, "kind": kind, "form": form, **choices, **labels()},
        partial="partials/colonies/event.html",
        status=status,
    )


def event_form_view(kind: EventKind) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @login_required
    async def view(request: web.Request) -> web.Response:
        async with db_session(request) as db:
            colony = await owned_colony(request, db)
        form: Form[Any] = Form(values=event_values(request, colony))
        if colony.status != "alive":
            refuse(form, Refused("colony", queries.NOT_ALIVE))
        return await event_page(request, kind, colony, form)

    return view


def event_create_view(kind: EventKind) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @login_required
    async def view(request: web.Request) -> web.Response:
        async with db_session(request) as db:
            colony = await owned_colony(request, db)
        form: Form[Any] = await read_form(request, kind.schema)
        today = local_today(request)
        data = form.data

        user_id = user_of(request).id

        async def record(db: AsyncSession) -> idempotency.Answer:
            mine = await queries.colony_of(db, user_id, colony.id, change=True)
            if mine is None:  # the user left the apiary a moment ago
                raise web.HTTPNotFound()
            event_id = await kind.record(db, mine, data, today, user_id)
            return idempotency.Answer(303, f"/colonies/{colony.id}#event-{event_id}")

        answer = await create_once(request, form, record)
        if answer is None:
            return await event_page(request, kind, colony, form, status=422)
        return redirect(request, answer.location)

    return view


# --- a colony started in an empty hive ---------------------------------------------------------


def start_page(
    request: web.Request, found: HiveView, form: Form[Any], *, status: int = 200
) -> web.Response:
    return render(
        request,
        "colonies/start.html",
        {"hive": found.hive, "form": form},
        partial="partials/colonies/start.html",
        status=status,
    )


@login_required
async def start_form(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    values = {
        "happened_on": local_today(request).isoformat(),
        "name": found.hive.name,
        "idempotency_key": idempotency.fresh_key(),
    }
    return start_page(request, found, Form(values=values))


@login_required
async def start_create(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await read_form(request, StartForm)
    data, today, owner_id = form.data, local_today(request), user_of(request).id

    async def record(db: AsyncSession) -> idempotency.Answer:
        hive = await db.get(Hive, found.hive.id)
        assert hive is not None
        assert data is not None
        colony = await queries.start(db, owner_id, hive, data, today)
        return idempotency.Answer(303, f"/colonies/{colony.id}")

    answer = await create_once(request, form, record)
    if answer is None:
        return start_page(request, found, form, status=422)
    return redirect(request, answer.location)


# --- a swarm captured into an empty hive (the page that also lists the user's claimed city
# swarm reports gathers two rooms, so it lives in app/pages/swarm_capture.py) -----------------


def capture_page(
    request: web.Request,
    found: HiveView,
    form: Form[Any],
    *,
    colonies: list[Colony],
    reports: dict[str, str],
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "colonies/capture.html",
        {
            "hive": found.hive,
            "form": form,
            "source_colonies": {str(c.id): c.name for c in colonies},
            "claimed_reports": reports,
        },
        partial="partials/colonies/capture.html",
        status=status,
    )


def capture_values(request: web.Request, found: HiveView) -> dict[str, Any]:
    values = {
        "happened_on": local_today(request).isoformat(),
        "name": found.hive.name,
        "idempotency_key": idempotency.fresh_key(),
    }
    if (report := request.query.get("report", "")).isdigit():
        values["swarm_report_id"] = report
    return values


async def read_capture(request: web.Request) -> Form[SwarmCapturedForm]:
    return await read_form(request, SwarmCapturedForm)


# --- a queen's details ----------------------------------------------------------------------


async def owned_queen(request: web.Request, db: AsyncSession) -> Queen:
    """The URL's queen if the user may change her details (her page is her form); else 404."""
    queen = await queries.queen_of(db, user_of(request).id, path_id(request), change=True)
    if queen is None:
        raise web.HTTPNotFound()
    return queen


def queen_values(queen: Queen) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(queen, name)
        for name in QueenForm.model_fields
        if name not in ("marked", "clipped")
    }
    values = {
        name: ("" if value is None else str(getattr(value, "value", value)))
        for name, value in values.items()
    }
    if queen.marked:
        values["marked"] = "on"
    if queen.clipped:
        values["clipped"] = "on"
    return values


async def queen_page(
    request: web.Request, queen: Queen, form: Form[Any], *, status: int = 200
) -> web.Response:
    async with db_session(request) as db:
        mothers = queen_choices(
            await queries.queens_of(db, user_of(request).id), leave_out=queen.id
        )
    return render(
        request,
        "colonies/queen.html",
        {"queen": queen, "form": form, "mother_queens": mothers, **labels()},
        partial="partials/colonies/queen.html",
        status=status,
    )


@login_required
async def queen_edit(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        queen = await owned_queen(request, db)
    return await queen_page(request, queen, Form(values=queen_values(queen)))


@login_required
async def queen_update(request: web.Request) -> web.Response:
    form = await read_form(request, QueenForm)
    async with db_session(request) as db:
        queen = await owned_queen(request, db)
        if form.data is not None:
            try:
                await queries.update_queen(db, queen, form.data, user_of(request).id)
                await db.commit()
            except Refused as refusal:
                await db.rollback()
                refuse(form, refusal)
                queen = await owned_queen(request, db)
    if not form.valid:
        return await queen_page(request, queen, form, status=422)
    return redirect(request, f"/colonies/{queen.colony_id}" if queen.colony_id else "/colonies")


# --- the hive's boxes -----------------------------------------------------------------------


def boxes_page(
    request: web.Request, found: HiveView, form: Form[Any], *, status: int = 200
) -> web.Response:
    return render(
        request,
        "colonies/boxes.html",
        {"hive": found.hive, "form": form},
        partial="partials/colonies/boxes.html",
        status=status,
    )


@login_required
async def boxes_form(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    async with db_session(request) as db:
        boxes = await queries.boxes_of(db, found.hive.id)
    stored = BoxesForm.model_validate(boxes, from_attributes=True) if boxes else BoxesForm()
    values = {
        name: str(value)
        for name, value in stored.model_dump().items()
        if value is not None and not isinstance(value, bool)
    }
    values |= {name: "on" for name in ("queen_excluder", "feeder") if getattr(stored, name)}
    return boxes_page(request, found, Form(values=values))


@login_required
async def boxes_save(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await read_form(request, BoxesForm)
    if form.data is None:
        return boxes_page(request, found, form, status=422)
    async with db_session(request) as db:
        await queries.save_boxes(db, found.hive.id, form.data)
        await db.commit()
    return redirect(request, f"/hives/{found.hive.id}")

"""Swarms: the public report form and its status link; collectors, their list, map and claims.

Reporting needs no account. Everything else is for signed-in beekeepers: a report exists for the
collectors whose radius holds it and for its claimer alone, a reporter's contact is shown only to
the collector holding the claim, and claims and releases are rate-limited and recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from aiohttp import web
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import settings_key, user_key
from app.models import SwarmHeight, SwarmSize, User
from app.swarms import queries
from app.swarms.schemas import (
    DEFAULT_RADIUS_KM,
    HEIGHT_LABELS,
    HONEYPOT,
    MAX_CONTACT,
    MAX_DESCRIPTION,
    MAX_HANGING_ON,
    OUTCOME_LABELS,
    SEEN_LABELS,
    SIZE_LABELS,
    CloseForm,
    CollectorForm,
    SeenWhen,
    SwarmReportForm,
)
from app.web import throttle
from app.web.auth import login_required, user_of
from app.web.context import map_settings
from app.web.database import db_session
from app.web.formatting import number
from app.web.forms import Form, read_form
from app.web.htmx import htmx, push_url, redirect, render, retarget, trigger_client_event
from app.web.i18n import N_, _, format_locale, translate
from app.web.paths import path_id
from app.web.urls import absolute_url

GEOJSON = "application/geo+json"
# htmx lists of open reports listen for this, and fetch themselves again.
REPORTS_CHANGED = "swarms-changed"


# --- the public report -------------------------------------------------------------------------


def translated[K](labels: Mapping[K, str]) -> dict[K, str]:
    """A drop-down's {value: label}, its labels in the reader's language."""
    return {value: translate(label) for value, label in labels.items()}


def report_page(
    request: web.Request, form: Form[SwarmReportForm], *, status: int = 200, message: str = ""
) -> web.Response:
    return render(
        request,
        "swarms/report.html",
        {
            "form": form,
            "message": message,
            "honeypot": HONEYPOT,
            "seen_labels": translated(SEEN_LABELS),
            "height_labels": translated(HEIGHT_LABELS),
            "size_labels": translated(SIZE_LABELS),
            "limits": {
                "description": MAX_DESCRIPTION,
                "contact": MAX_CONTACT,
                "hanging_on": MAX_HANGING_ON,
            },
            **map_settings(request),
        },
        partial="partials/swarms/report_form.html",
        status=status,
    )


async def report_form(request: web.Request) -> web.Response:
    defaults = {
        "seen": SeenWhen.now.value,
        "height": SwarmHeight.unknown.value,
        "size": SwarmSize.unknown.value,
    }
    return report_page(request, Form(values=defaults))


def as_typed(value: float) -> str:
    """52.338 (52,338 in German): a number as the reader writes it, every decimal it has (up to
    six), no grouping; the forms read a decimal comma back."""
    return format_decimal(value, "0.######", locale=format_locale())


def outside_message(bounds: tuple[float, float, float, float]) -> str:
    west, south, east, north = bounds
    return _(
        "This place is outside the area CityHive covers "
        "(latitude %(south)s to %(north)s, longitude %(west)s to %(east)s).",
        south=as_typed(south),
        north=as_typed(north),
        west=as_typed(west),
        east=as_typed(east),
    )


async def report_submit(request: web.Request) -> web.Response:
    """Store a report and send the reporter to its status link; or say what to fix (422), or
    how long to wait (429: this address sent its share of reports for now)."""
    settings = request.app[settings_key]
    form = await read_form(request, SwarmReportForm)
    if form.values.get(HONEYPOT):
        form.add_error(HONEYPOT, _("Leave this field empty: it is here to catch robots."))
    if form.data is not None:
        west, south, east, north = settings.service_bounds
        if not (west <= form.data.longitude <= east and south <= form.data.latitude <= north):
            form.add_error("latitude", outside_message(settings.service_bounds))
    if form.data is None:
        return report_page(request, form, status=422)
    address = request.remote or "0.0.0.0"  # noqa: S104 - stored as sent, not a bind address
    async with db_session(request) as db:
        # Counted before the insert, under the throttle's lock: reports sent at once cannot
        # slip past the limit, and one whose insert fails still counts.
        wait = await throttle.take(
            db,
            bucket="swarm-report",
            key=throttle.address_key(request.remote),
            limit=settings.swarm_reports_per_address,
            window_seconds=settings.swarm_report_window_seconds,
        )
        if wait:
            minutes = max(1, round(wait / 60))
            response = report_page(
                request,
                form,
                status=429,
                message=_(
                    "Thank you, but this connection has sent several reports already. "
                    "Please try again in %(minutes)s min.",
                    minutes=number(minutes),
                ),
            )
            response.headers["Retry-After"] = str(wait)
            return response
        token = await queries.create_report(
            db,
            form.data,
            address=address,
            expires_in=timedelta(hours=settings.swarm_report_expiry_hours),
        )
    return redirect(request, f"/swarms/status/{token}")


async def report_status(request: web.Request) -> web.Response:
    """The reporter's private page: where the report stands, and every time it was claimed,
    released or closed. The link is the only key to it."""
    token = request.match_info["token"]
    async with db_session(request) as db:
        found = await queries.report_by_token(db, token)
        if found is None:
            raise web.HTTPNotFound(
                reason=N_("No swarm report has this link. Was all of it copied?")
            )
        zone = request.app[settings_key].zone
        history = await queries.claim_history(db, found.report.id, zone)
    response = render(
        request,
        "swarms/status.html",
        {
            "found": found,
            "history": history,
            "status_url": absolute_url(request, f"/swarms/status/{token}"),
        },
        partial="partials/swarms/status.html",
    )
    response.headers["Cache-Control"] = "no-store"  # the page is its secret link's alone
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# --- collectors --------------------------------------------------------------------------------


def collector_values(collector: queries.CollectorView | None) -> dict[str, str]:
    if collector is None:
        return {"latitude": "", "longitude": "", "radius_km": f"{DEFAULT_RADIUS_KM}"}
    return {
        "latitude": f"{collector.latitude:.6f}",
        "longitude": f"{collector.longitude:.6f}",
        "radius_km": as_typed(collector.radius_km),
    }


async def collect_page(
    request: web.Request,
    form: Form[CollectorForm] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """/swarms: the collector's settings, the open reports near them and their claims."""
    user = user_of(request)
    async with db_session(request) as db:
        collector = await queries.collector_of(db, user.id)
        reports = await queries.open_reports_near(db, user.id)
        claimed = await queries.claimed_by(db, user.id)
    if form is None:
        form = Form(values=collector_values(collector))
    return render(
        request,
        "swarms/collect.html",
        {
            "form": form,
            "collector": collector,
            "swarm_reports": reports,
            "claimed": claimed,
            "saved": request.query.get("saved") == "1",
            **map_settings(request),
        },
        partial=f"partials/swarms/{'collector_form' if form.errors else 'collect'}.html",
        status=status,
    )


@login_required
async def collect(request: web.Request) -> web.Response:
    return await collect_page(request)


@login_required
async def collector_save(request: web.Request) -> web.Response:
    form = await read_form(request, CollectorForm)
    if form.data is None:
        return await collect_page(request, form, status=422)
    async with db_session(request) as db:
        await queries.save_collector(db, user_of(request).id, form.data)
    return redirect(request, "/swarms?saved=1")


@login_required
async def collector_stop(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        await queries.stop_collecting(db, user_of(request).id)
    return redirect(request, "/swarms")


@login_required
async def reports_near(request: web.Request) -> web.Response:
    """The open reports near the collector: the list that Today shows, alone for htmx."""
    async with db_session(request) as db:
        reports = await queries.open_reports_near(db, user_of(request).id)
    return render(
        request,
        "swarms/near.html",
        {"swarm_reports": reports},
        partial="partials/swarms/today_reports.html",
    )


async def reports_geojson(request: web.Request) -> web.Response:
    """The collector's map layer: open reports within their radius, nearest first."""
    user: User | None = request.get(user_key)
    if user is None:
        raise web.HTTPUnauthorized(reason="Log in to see swarm reports.")
    async with db_session(request) as db:
        collection = await queries.open_reports_geojson(db, user.id)
    return web.Response(
        text=collection,
        content_type=GEOJSON,
        headers={"Cache-Control": "private, no-cache", "Vary": "Cookie"},
    )


# --- one report: claim, release, close ---------------------------------------------------------


def report_id(request: web.Request) -> int:
    return path_id(request)  # beyond any stored id: 404, not a failed query


async def report_page_for(
    request: web.Request,
    *,
    close_form: Form[CloseForm] | None = None,
    status: int = 200,
) -> web.Response:
    """A report's page, for the collectors whose radius holds it and for its claimer; 404 for
    everyone else. The contact is on it while the viewer holds the claim."""
    user = user_of(request)
    async with db_session(request) as db:
        found = await queries.report_for(db, report_id(request), user.id)
        if found is None:
            raise web.HTTPNotFound()
        contact = await queries.held_contact(db, found.report.id, user.id)
        collector = await queries.collector_of(db, user.id)
    return render(
        request,
        "swarms/detail.html",
        {
            "found": found,
            "is_claimer": contact is not None,
            "contact": contact,
            "is_collector": collector is not None,
            "close_form": close_form or Form(values={}),
            "outcomes": translated(OUTCOME_LABELS),
            **map_settings(request),
        },
        partial="partials/swarms/detail.html",
        status=status,
    )


@login_required
async def report_detail(request: web.Request) -> web.Response:
    return await report_page_for(request)


REFUSALS = {
    queries.ClaimRefused.claimed: (
        N_("Already claimed"),
        N_("Another beekeeper claimed this swarm first. Nothing was changed."),
    ),
    queries.ClaimRefused.closed: (
        N_("Already closed"),
        N_("This report is closed. Nothing was changed."),
    ),
    queries.ClaimRefused.expired: (
        N_("Report expired"),
        N_("This report expired before anyone claimed it. Nothing was changed."),
    ),
}


def refused(request: web.Request, title: str, detail: str, *, status: int = 409) -> web.Response:
    """The claim or change was refused and nothing changed: say so, and have every list of open
    reports on the page fetch itself again.

    A browser without htmx gets a page with the status. htmx gets the message for the page's
    alert region instead, as a 200 with HX-Retarget: an error status would not be swapped (and
    the browser logs it as a failure), while this is an answer the page shows as it is.
    """
    context = {"title": title, "detail": detail, "report_id": report_id(request)}
    if htmx(request).request:
        response = render(request, "partials/swarms/refused_alert.html", context)
        retarget(response, "#alerts", reswap="innerHTML")
        push_url(response, None)
    else:
        response = render(
            request,
            "swarms/refused.html",
            context,
            partial="partials/swarms/refused.html",
            status=status,
        )
    trigger_client_event(response, REPORTS_CHANGED)
    return response


CLAIM_BUCKET = "swarm-claim"


async def claims_left(request: web.Request, db: AsyncSession) -> web.Response | None:
    """Count this claim or release against the collector's allowance, before it is tried: None
    when it may go ahead, else the 429 that says how long to wait. Claiming and releasing one
    report after another is how contacts would be harvested, so both count."""
    settings = request.app[settings_key]
    wait = await throttle.take(
        db,
        bucket=CLAIM_BUCKET,
        key=str(user_of(request).id),
        limit=settings.swarm_claims_per_collector,
        window_seconds=settings.swarm_claim_window_seconds,
    )
    if not wait:
        return None
    minutes = max(1, round(wait / 60))
    response = refused(
        request,
        _("Too many claims"),
        _(
            "You have claimed or released many swarm reports in a short time. "
            "Please try again in %(minutes)s min. Nothing was changed.",
            minutes=number(minutes),
        ),
        status=429,
    )
    response.headers["Retry-After"] = str(wait)
    return response


async def not_yours(request: web.Request, db: AsyncSession) -> web.Response:
    """A release or close of a claim the user does not hold: 409 on a report they may see, 404
    on one that does not exist for them (so ids cannot be probed this way either)."""
    if await queries.report_for(db, report_id(request), user_of(request).id) is None:
        raise web.HTTPNotFound()
    return refused(request, _("Not yours"), _("You have not claimed this report. Nothing changed."))


@login_required
async def report_claim(request: web.Request) -> web.Response:
    """Claim a report within the collector's radius. Outside it the report does not exist for
    them: 404, as for an id that names nothing."""
    user = user_of(request)
    async with db_session(request) as db:
        if await queries.collector_of(db, user.id) is None:
            return refused(
                request,
                _("Collectors only"),
                _("Only swarm collectors can claim reports: set up collecting first."),
                status=403,
            )
        if too_many := await claims_left(request, db):
            return too_many
        refusal = await queries.claim(db, report_id(request), user.id)
    if refusal == queries.ClaimRefused.missing:
        raise web.HTTPNotFound()
    if refusal is None or refusal == queries.ClaimRefused.yours:
        return redirect(request, f"/swarms/{report_id(request)}")
    title, detail = REFUSALS[refusal]
    return refused(request, translate(title), translate(detail))


@login_required
async def report_release(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        if too_many := await claims_left(request, db):
            return too_many
        if not await queries.release(db, report_id(request), user_of(request).id):
            return await not_yours(request, db)
    return redirect(request, f"/swarms/{report_id(request)}")


@login_required
async def report_close(request: web.Request) -> web.Response:
    form = await read_form(request, CloseForm)
    if form.data is None:
        return await report_page_for(request, close_form=form, status=422)
    async with db_session(request) as db:
        if not await queries.close(db, report_id(request), user_of(request).id, form.data.outcome):
            return await not_yours(request, db)
    return redirect(request, f"/swarms/{report_id(request)}")

"""The home page: a welcome for visitors; for a beekeeper, Today.

Today gathers what needs doing from each feature's queries: inspections overdue, due and coming
this week, each hive's latest inspection with anything worrying flagged, sensor alerts not yet
acknowledged, swarms reported near a collector, treatment strips due out, the hives still to
treat in the winter oxalic window, and the season's honey.
Its actions (done, reschedule) post and come back here; htmx swaps the new Today in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiohttp import web
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.inspections.queries import today
from app.keys import settings_key, user_key
from app.models import CHANGING_ROLES, Hive, HiveStatus
from app.sensors.queries import open_alerts_of
from app.swarms.queries import open_reports_near
from app.treatments.queries import counts_due, due_winter_oxalic, strips_due
from app.web.auth import apiaries_of, hives_of
from app.web.database import db_session
from app.web.htmx import render


async def home(request: web.Request) -> web.Response:
    user = request.get(user_key)
    if user is None:
        return render(request, "home/welcome.html", partial="partials/home/welcome.html")
    settings = request.app[settings_key]
    day = datetime.now(settings.zone).date()
    async with db_session(request) as db:
        hives = await hives_overview(db, user.id)
        agenda = await today(db, user.id, day, settings.varroa_alert_per_100)
        alerts = await open_alerts_of(db, user.id)
        swarm_reports = await open_reports_near(db, user.id)
        strips = await strips_due(db, user.id, day)
        winter_oxalic = await due_winter_oxalic(db, user.id, day)
        mite_counts = await counts_due(db, user.id, day, settings.zone.key)
    return render(
        request,
        "home/apiary.html",
        {
            "hives": hives,
            "today": agenda,
            "alerts": alerts,
            "swarm_reports": swarm_reports,
            "strips_due": strips,
            "winter_oxalic": winter_oxalic,
            "counts_due": mite_counts,
        },
        partial="partials/home/apiary.html",
    )


async def hives_overview(
    db: AsyncSession, user_id: int
) -> Sequence[Row[int, str, str | None, HiveStatus, bool]]:
    """The hives the user may read by site and name, for the overview (no locations needed
    here), and whether they may record in each (`may_change`: not a viewer's)."""
    result = await db.execute(overview_selection(user_id))
    return result.all()


def overview_selection(user_id: int):  # type: ignore[no-untyped-def]  # a long Select[...]
    """The overview's statement (bench/today.py runs the very same)."""
    may_change = Hive.apiary_id.in_(apiaries_of(user_id, CHANGING_ROLES)).label("may_change")
    visible = hives_of(user_id).with_only_columns(
        Hive.id, Hive.name, Hive.site, Hive.status, may_change
    )
    return visible.order_by(Hive.site, Hive.name)

"""The home page: a welcome for visitors; for a beekeeper, Today.

Today gathers what needs doing from each feature's queries: inspections overdue, due and coming
this week, each hive's latest inspection with anything worrying flagged, sensor alerts not yet
acknowledged, swarms reported near a collector, and the season's honey.
Its actions (done, reschedule) post and come back here; htmx swaps the new Today in place.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from app.home import queries
from app.inspections.queries import today
from app.keys import db_key, settings_key, user_key
from app.sensors.queries import open_alerts_of
from app.swarms.queries import open_reports_near
from app.web.htmx import render


async def home(request: web.Request) -> web.Response:
    user = request.get(user_key)
    if user is None:
        return render(request, "home/welcome.html", partial="partials/home/welcome.html")
    settings = request.app[settings_key]
    day = datetime.now(settings.zone).date()
    async with request.app[db_key]() as db:
        hives = await queries.hives_of(db, user.id)
        agenda = await today(db, user.id, day, settings.varroa_alert_per_100)
        alerts = await open_alerts_of(db, user.id)
        swarm_reports = await open_reports_near(db, user.id)
    return render(
        request,
        "home/apiary.html",
        {"hives": hives, "today": agenda, "alerts": alerts, "swarm_reports": swarm_reports},
        partial="partials/home/apiary.html",
    )

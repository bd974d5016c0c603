"""A hive's page: the hive, its timeline of inspections and harvests, its sensors' panel, its
treatments, and whether honey may be taken from it today (the withdrawal guard's answer).

It gathers four features on one screen, so it lives here and not in any of them. The whole
page is read in one database session: the access check, the timeline and the panel share it.
"""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web

from app.hives.views import choices
from app.inspections.queries import timeline_of, withdrawal_of
from app.keys import db_key, settings_key
from app.sensors.device_views import weighing_values
from app.sensors.queries import sensor_panel
from app.treatments.queries import treatments_of
from app.web.auth import hive_for
from app.web.context import map_settings
from app.web.forms import Form
from app.web.htmx import render


def local_today(request: web.Request) -> date:
    return datetime.now(request.app[settings_key].zone).date()


async def hive_page(request: web.Request) -> web.Response:
    async with request.app[db_key]() as db:
        found = await hive_for(request, db=db)
        timeline = await timeline_of(db, found.hive)
        treatments = await treatments_of(db, found.hive.owner_id, hive_id=found.hive.id)
        withheld = await withdrawal_of(db, [found.hive.id], local_today(request))
        sensors = await sensor_panel(
            db, found.hive.owner_id, found.hive.id, request.query.get("range")
        )
    return render(
        request,
        "hives/detail.html",
        {
            "found": found,
            "hive": found.hive,
            "timeline": timeline,
            "treatments": treatments[::-1],  # newest first
            "withheld": withheld,
            "sensor_panel": sensors,
            "weighing": Form(values=weighing_values(request)),
            **choices(),
            **map_settings(request),
        },
        partial="partials/hives/detail.html",
    )

"""A hive's page: the hive, its timeline of inspections and harvests, and its sensors' panel.

It gathers three features on one screen, so it lives here and not in any of them. The whole
page is read in one database session: the access check, the timeline and the panel share it.
"""

from __future__ import annotations

from aiohttp import web

from app.hives.views import choices
from app.inspections.queries import timeline_of
from app.keys import db_key
from app.sensors.queries import sensor_panel
from app.web.auth import hive_for
from app.web.context import map_settings
from app.web.htmx import render


async def hive_page(request: web.Request) -> web.Response:
    async with request.app[db_key]() as db:
        found = await hive_for(request, db=db)
        timeline = await timeline_of(db, found.hive)
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
            "sensor_panel": sensors,
            **choices(),
            **map_settings(request),
        },
        partial="partials/hives/detail.html",
    )

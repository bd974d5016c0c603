"""A hive's page: the hive, its colony and queen, its timeline of inspections, harvests and
colony events, its boxes, its sensors' panel, its treatments, and whether honey may be taken
from it today (the withdrawal guard's answer).

It gathers four features on one screen, so it lives here and not in any of them. The whole
page is read in one database session: the access check, the timeline and the panel share it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.colonies import queries as colonies
from app.colonies.views import labels as colony_labels
from app.hives.views import choices
from app.inspections.queries import timeline_of, timeline_order, withdrawal_of
from app.models import CHANGING_ROLES, ApiaryRole
from app.sensors.device_views import weighing_values
from app.sensors.queries import sensor_panel
from app.treatments.queries import treatments_of
from app.web.auth import hive_for, role_in, user_of
from app.web.context import local_today, map_settings
from app.web.database import db_session
from app.web.forms import Form
from app.web.htmx import render


def queen_missing(timeline: list[Any]) -> bool:
    """Whether the last two inspections saw neither the queen nor eggs: is she gone?"""
    done = sorted(
        (entry.inspection for entry in timeline if entry.kind == "inspection"),
        key=lambda inspection: (inspection.done_at, inspection.id),
        reverse=True,
    )[:2]
    return len(done) == 2 and all(
        inspection.queen_seen is False and inspection.eggs_seen is False for inspection in done
    )


async def hive_page(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        found = await hive_for(request, db=db)  # anonymous visitors go to the log-in page here
        user_id = user_of(request).id
        role = await role_in(db, user_id, found.hive.apiary_id)
        timeline: list[Any] = [
            *await timeline_of(db, found.hive),
            *await colonies.events_of_hive(db, found.hive.id),
        ]
        timeline.sort(key=timeline_order, reverse=True)
        treatments = await treatments_of(db, user_id, hive_id=found.hive.id)
        withheld = await withdrawal_of(db, [found.hive.id], local_today(request))
        colony = await colonies.living_colony_in(db, found.hive.id)
        queen = await colonies.current_queen(db, colony.id) if colony else None
        boxes = await colonies.boxes_of(db, found.hive.id)
        sensors = await sensor_panel(db, user_id, found.hive.id, request.query.get("range"))
    return render(
        request,
        "hives/detail.html",
        {
            "found": found,
            "hive": found.hive,
            # Record, edit and weigh for owners and keepers; delete for owners (hive_for's rule).
            "may_change": role in CHANGING_ROLES,
            "may_delete": role is ApiaryRole.owner,
            "timeline": timeline,
            "treatments": treatments[::-1],  # newest first
            "withheld": withheld,
            "colony": colony,
            "queen": queen,
            "boxes": boxes,
            "queen_missing": colony is not None and queen_missing(timeline),
            **colony_labels(),
            "sensor_panel": sensors,
            "weighing": Form(values=weighing_values(request)),
            **choices(),
            **map_settings(request),
        },
        partial="partials/hives/detail.html",
    )

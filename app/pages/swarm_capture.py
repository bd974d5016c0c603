"""A swarm captured into an empty hive: a new colony (app/colonies/), optionally from a city
swarm report the user claimed (app/swarms/), which is then closed as collected, the colony's
event linking to it. Both happen in one transaction, so neither is saved without the other; the
report is closed by the swarms room's own rule (only the collector holding its claim may).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from app.colonies import queries as colonies
from app.colonies import views as colony_views
from app.models import Hive
from app.swarms import queries as swarms
from app.web import idempotency
from app.web.auth import HiveView, hive_for, login_required, user_of
from app.web.context import local_today
from app.web.database import db_session
from app.web.forms import Form
from app.web.htmx import redirect
from app.web.i18n import N_, _

NOT_YOUR_CLAIM = N_("Choose a swarm report you have claimed.")


async def capture_page(
    request: web.Request, found: HiveView, form: Form[Any], *, status: int = 200
) -> web.Response:
    user_id = user_of(request).id
    async with db_session(request) as db:
        sources = await colonies.colonies_of(db, user_id)
        claimed = await swarms.claimed_by(db, user_id)
    reports = {
        str(view.report.id): _(
            "Report #%(id)s: %(description)s",
            id=view.report.id,
            description=view.report.description,
        )
        for view in claimed
    }
    return colony_views.capture_page(
        request, found, form, colonies=sources, reports=reports, status=status
    )


@login_required
async def capture_form(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form: Form[Any] = Form(values=colony_views.capture_values(request, found))
    return await capture_page(request, found, form)


@login_required
async def capture_create(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await colony_views.read_capture(request)
    data, today, user_id = form.data, local_today(request), user_of(request).id

    async def record(db: AsyncSession) -> idempotency.Answer:
        assert data is not None
        if data.swarm_report_id is not None and not await swarms.close_collected_in(
            db, data.swarm_report_id, user_id
        ):
            raise colonies.Refused("swarm_report_id", NOT_YOUR_CLAIM)
        hive = await db.get(Hive, found.hive.id)
        assert hive is not None
        colony = await colonies.swarm_captured(db, user_id, hive, data, today)
        return idempotency.Answer(303, f"/colonies/{colony.id}")

    answer = await colony_views.create_once(request, form, record)
    if answer is None:
        return await capture_page(request, found, form, status=422)
    return redirect(request, answer.location)

"""QR tags for the boxes: a printable A4 sheet with one label per hive. Scanning a label with
the phone's camera opens that hive's "Record inspection" page (which the service worker keeps
for offline use once the hive's page, or this sheet, has been seen). The codes are drawn by
segno as inline SVG: sharp at any print size, no image requests."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from aiohttp import web
from markupsafe import Markup

from app.colonies.queries import apiary_choices
from app.colonies.views import asked_apiary
from app.models import Hive, HiveStatus
from app.web.auth import hives_of, login_required, user_of
from app.web.database import db_session
from app.web.htmx import render
from app.web.urls import absolute_url


@dataclass(frozen=True)
class Tag:
    hive: Hive
    url: str
    code: Markup


def record_path(hive_id: int) -> str:
    return f"/hives/{hive_id}/inspections/new"


def qr_svg(url: str) -> Markup:
    """The URL as a QR code, inline SVG (medium error correction: a label gets scratched)."""
    code = segno.make(url, error="m", micro=False)
    return Markup(code.svg_inline(scale=4, border=2, dark="#000", omitsize=True))  # noqa: S704


@login_required
async def tag_sheet(request: web.Request) -> web.Response:
    """Labels for the hives the user may record in (a tag opens the inspection form), of all
    their apiaries or of the one asked for."""
    user_id = user_of(request).id
    async with db_session(request) as db:
        apiary_id = await asked_apiary(request, db)
        visible = hives_of(user_id, change=True).where(Hive.status == HiveStatus.active)
        if apiary_id is not None:
            visible = visible.where(Hive.apiary_id == apiary_id)
        rows = await db.execute(visible.order_by(Hive.site.nulls_last(), Hive.name, Hive.id))
        hives = [row[0] for row in rows]
        apiaries = await apiary_choices(db, user_id)
    tags = []
    for hive in hives:
        url = absolute_url(request, record_path(hive.id))
        tags.append(Tag(hive, url, qr_svg(url)))
    return render(
        request,
        "colonies/tags.html",
        {"tags": tags, "apiaries": apiaries, "apiary_id": apiary_id},
        partial="partials/colonies/tags.html",
    )

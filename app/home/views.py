"""The home page: a welcome for visitors, the beekeeper's apiary at a glance once signed in."""

from __future__ import annotations

from aiohttp import web

from app.home import queries
from app.keys import db_key, user_key
from app.web.htmx import render


async def home(request: web.Request) -> web.Response:
    user = request.get(user_key)
    if user is None:
        return render(request, "home/welcome.html", partial="partials/home/welcome.html")
    async with request.app[db_key]() as db:
        hives = await queries.hives_of(db, user.id)
    return render(
        request, "home/apiary.html", {"hives": hives}, partial="partials/home/apiary.html"
    )

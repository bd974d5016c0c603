"""The city: the public density map and its GeoJSON, city statistics, and the forage pressure a
beekeeper sees when placing a hive."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, Field

from app.city import queries
from app.city.cache import density_cache, statistics_cache
from app.city.chart import BAR, swarm_chart
from app.city.grid import HexGrid
from app.geo import Latitude, Longitude
from app.keys import settings_key
from app.settings import Settings
from app.web import throttle
from app.web.auth import login_required, user_of
from app.web.context import map_settings
from app.web.database import db_session
from app.web.forms import Form, validate
from app.web.htmx import htmx, render
from app.web.i18n import N_
from app.web.shared import same_for_everyone

GEOJSON = "application/geo+json"


def grid_of(settings: Settings) -> HexGrid:
    return HexGrid.for_area(settings.service_bounds)


async def city_map(request: web.Request) -> web.Response:
    return render(
        request,
        "city/map.html",
        {"minimum": queries.PUBLISHED_BEEKEEPERS, **map_settings(request)},
        partial="partials/city/map.html",
    )


@same_for_everyone
async def density_geojson(request: web.Request) -> web.Response:
    """Colonies per hexagon for the whole service area, kept for DENSITY_CACHE_SECONDS.

    The same bytes for everyone, so shared caches may keep them too: the view runs without a
    session (@same_for_everyone), so the answer never carries anybody's cookie.
    """
    settings = request.app[settings_key]

    async def make() -> str:
        async with db_session(request) as db:
            return await queries.density_geojson(db, grid_of(settings), settings.service_bounds)

    collection, fresh_for = await density_cache(request.app).get(
        settings.density_cache_seconds, make
    )
    return web.Response(
        text=collection,
        content_type=GEOJSON,
        headers={"Cache-Control": f"public, max-age={int(fresh_for)}"},
    )


async def city_statistics(request: web.Request) -> web.Response:
    """This season's figures, the same for everyone (so kept like the density map): made from
    published figures only, never from the asker's own data."""
    settings = request.app[settings_key]

    async def make() -> queries.CityStatistics:
        async with db_session(request) as db:
            return await queries.city_statistics(db, grid_of(settings), settings.service_bounds)

    stats, _ = await statistics_cache(request.app).get(settings.density_cache_seconds, make)
    return render(
        request,
        "city/stats.html",
        {
            "stats": stats,
            "minimum": queries.PUBLISHED_BEEKEEPERS,
            "chart": swarm_chart(stats.months),
            "bar_width": round(BAR, 1),
        },
        partial="partials/city/stats.html",
    )


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class ForageQuery(BaseModel):
    latitude: Latitude = Field(title=N_("Latitude"))
    longitude: Longitude = Field(title=N_("Longitude"))
    hive: Annotated[int | None, BeforeValidator(_blank_is_none), Field(ge=1)] = None


@login_required
async def forage(request: web.Request) -> web.Response:
    """How many colonies already forage around a spot, with a warning above the threshold.

    Alone (htmx) it is the hive form's live note, answered 200 whatever was typed: the hive form
    itself says what is wrong with its coordinates. As a page it has its own form (for use
    without JavaScript), and a 422 for coordinates it cannot read. Each look-up counts against
    the account's FORAGE_LOOKUPS_PER_USER (then 429 with Retry-After, and a note saying so).
    """
    settings = request.app[settings_key]
    query = request.query
    values = {name: query[name] for name in ForageQuery.model_fields if name in query}
    asked = bool(values.get("latitude", "").strip() or values.get("longitude", "").strip())
    form = validate(values, ForageQuery) if asked else Form[ForageQuery](values=values)
    pressure = None
    if form.data is not None:
        async with db_session(request) as db:
            wait = await throttle.take(
                db,
                bucket="forage",
                key=str(user_of(request).id),
                limit=settings.forage_lookups_per_user,
                window_seconds=settings.forage_lookup_window_seconds,
            )
            if wait:
                return too_many_lookups(request, form, wait)
            pressure = await queries.forage_pressure(
                db,
                grid_of(settings),
                settings.service_bounds,
                latitude=form.data.latitude,
                longitude=form.data.longitude,
                radius_m=settings.forage_radius_m,
                threshold_per_km2=settings.forage_threshold_per_km2,
                exclude_hive_id=form.data.hive,
                owner_id=user_of(request).id,
            )
    status = 422 if form.errors and not htmx(request).wants_fragment else 200
    return render(
        request,
        "city/forage.html",
        {
            "form": form,
            "asked": asked,
            "pressure": pressure,
            "minimum": queries.PUBLISHED_BEEKEEPERS,
        },
        partial="partials/city/forage.html",
        status=status,
    )


def too_many_lookups(request: web.Request, form: Form[ForageQuery], wait: int) -> web.Response:
    """429: this account checked its share of spots for now; the note says how long to wait."""
    response = render(
        request,
        "city/forage.html",
        {"form": form, "asked": True, "pressure": None, "wait_minutes": max(1, round(wait / 60))},
        partial="partials/city/forage.html",
        status=429,
    )
    response.headers["Retry-After"] = str(wait)
    return response

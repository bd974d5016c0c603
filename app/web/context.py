"""What every template can use: the signed-in user, the CSRF token, the htmx details."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from app.keys import csrf_token_key, settings_key, user_key
from app.web.forms import CONTROL_CHARACTERS


def local_today(request: web.Request) -> date:
    """Today in the city (TIME_ZONE): what "today" means on every page and form."""
    return datetime.now(request.app[settings_key].zone).date()


def template_context(request: web.Request) -> dict[str, Any]:
    return {
        "request": request,
        "user": request.get(user_key),
        "csrf_token": request.get(csrf_token_key, ""),
        "current_path": request.path,
        "back_here": back_here(request),
        # The city's zone: a form's "now" is the city's time, not the device's (static/js/pwa.js).
        "time_zone": request.app[settings_key].time_zone,
    }


def back_here(request: web.Request) -> str:
    """This page's path and query, for a form posted elsewhere to come back to (the language
    chooser). A query parameter holding a control character, which no link of ours makes (a
    header someone tries to smuggle through a URL), is left behind rather than written back."""
    kept = [
        (name, value)
        for name, value in request.query.items()
        if _typeable(name) and _typeable(value)
    ]
    return str(request.rel_url.with_query(kept or None).with_fragment(None))


def _typeable(text: str) -> bool:
    """No control character (one search, not a loop over each character of a long value)."""
    return CONTROL_CHARACTERS.search(text) is None


@jinja2.pass_context
def csrf_field(context: jinja2.runtime.Context) -> Markup:
    """`{{ csrf_field() }}`: the hidden `_csrf` input every form that changes something carries
    (app/web/csrf.py checks it), written here once and nowhere else."""
    token = context.get("csrf_token", "")
    return Markup('<input type="hidden" name="_csrf" value="{}">').format(token)


def map_settings(request: web.Request) -> dict[str, Any]:
    """What a page with a map needs: the tile server, its credit, and where maps open."""
    settings = request.app[settings_key]
    return {
        "tile_url": settings.tile_url,
        "tile_attribution": settings.tile_attribution,
        "map_center": settings.map_center,
    }

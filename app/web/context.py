"""What every template can use: the signed-in user, the CSRF token, the htmx details."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.keys import csrf_token_key, settings_key, user_key


def template_context(request: web.Request) -> dict[str, Any]:
    return {
        "request": request,
        "user": request.get(user_key),
        "csrf_token": request.get(csrf_token_key, ""),
        "current_path": request.path,
    }


def map_settings(request: web.Request) -> dict[str, Any]:
    """What a page with a map needs: the tile server, its credit, and where maps open."""
    settings = request.app[settings_key]
    return {
        "tile_url": settings.tile_url,
        "tile_attribution": settings.tile_attribution,
        "map_center": settings.map_center,
    }

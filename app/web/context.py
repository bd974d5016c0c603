"""What every template can use: the signed-in user, the CSRF token, the htmx details."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def template_context(request: web.Request) -> dict[str, Any]:
    return {
        "request": request,
        "user": request.get("user"),
        "csrf_token": request.get("csrf_token", ""),
        "current_path": request.path,
    }

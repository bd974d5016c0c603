"""What every template can use: the signed-in user, the CSRF token, the htmx details."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.keys import csrf_token_key, user_key


def template_context(request: web.Request) -> dict[str, Any]:
    return {
        "request": request,
        "user": request.get(user_key),
        "csrf_token": request.get(csrf_token_key, ""),
        "current_path": request.path,
    }

"""The installable, offline app: the manifest, the service worker and the offline page.

/sw.js is served from the root so that its scope is the whole site, with `no-cache` so the
browser asks for it on every update check (a new shell is a new script, see service_worker.py).
Its own Content-Security-Policy lets it fetch map tiles, which a worker does with connect-src.
"""

from __future__ import annotations

import json
import re

from aiohttp import web

from app.keys import response_headers_key, settings_key, static_key
from app.pwa.compression import compress
from app.pwa.manifest import manifest
from app.pwa.owner import cookie_name
from app.pwa.service_worker import service_worker
from app.web.htmx import render

MANIFEST_TYPE = "application/manifest+json"
SCRIPT_TYPE = "text/javascript"
NO_CACHE = "no-cache"
CONNECT_SRC = re.compile(r"connect-src [^;]*")


async def web_manifest(request: web.Request) -> web.Response:
    """The manifest in the reader's language (the browser sends the page's cookies with it);
    the language middleware says which in Content-Language, and Vary where the header chose."""
    body = json.dumps(manifest(request.app[static_key]), indent=1, ensure_ascii=False)
    response = web.Response(
        text=body,
        content_type=MANIFEST_TYPE,
        headers={"Cache-Control": NO_CACHE},
    )
    return compress(request, response)


def worker_policy(request: web.Request) -> str:
    """The app's Content-Security-Policy, plus the tile server among what the worker may fetch."""
    policy = request.app[response_headers_key]["Content-Security-Policy"]
    tile_origin = request.app[settings_key].tile_origin
    if tile_origin == "'self'":
        return policy
    return CONNECT_SRC.sub(f"connect-src 'self' {tile_origin}", policy, count=1)


async def service_worker_script(request: web.Request) -> web.Response:
    settings = request.app[settings_key]
    worker = service_worker(request.app[static_key], settings.tile_url, cookie_name(settings))
    response = web.Response(
        body=worker.script,
        content_type=SCRIPT_TYPE,
        charset="utf-8",
        headers={
            "Cache-Control": NO_CACHE,
            "Service-Worker-Allowed": "/",
            "Content-Security-Policy": worker_policy(request),
            "CityHive-Version": worker.version,
        },
    )
    return compress(request, response)


async def offline_page(request: web.Request) -> web.Response:
    """What the service worker shows for a page it has no copy of while offline. It is also a
    real page: the outbox's waiting records are listed on it."""
    return render(request, "pwa/offline.html", partial="partials/pwa/offline.html")

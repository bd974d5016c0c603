"""The service worker script: static/js/sw.js, with this build's settings put in front of it.

The settings are what the worker cannot know by itself: the content-hashed URLs of the shell to
precache, where the outbox script and the offline page are, and which URLs are map tiles. Its
version is a hash of all of that plus the worker's own source and the offline page's templates,
so a change to anything it precaches makes a byte-different /sw.js, which the browser installs
as a new worker (and pwa.js offers the reload). The offline page is rendered in a language, so
the translation catalogues count too.

The worker is the same for every language: it shows no words of its own. Its saved pages are
kept with the language they were written in (their Content-Language), and a page asks it to keep
the few words of its last-resort offline page (pwa.js posts them, from the page's texts).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from dataclasses import dataclass

from app.assets import StaticAssets
from app.pwa.owner import ACCESS_HEADER
from app.pwa.owner import HEADER as USER_HEADER
from app.settings import ROOT

SOURCE = "js/sw.js"  # under static/
OUTBOX = "js/outbox.js"
OFFLINE_PATH = "/offline"
# The shell: styles, scripts, vendored libraries and their images, icons, fonts.
PRECACHED_SUFFIXES = (".css", ".js", ".png", ".svg", ".webp", ".ico", ".woff2")
# The offline page is rendered from these: a change to them is a change to the shell.
OFFLINE_TEMPLATES = (
    "base.html",
    "pwa/offline.html",
    "partials/pwa/offline.html",
    "partials/pwa/shell.html",
    "partials/pwa/texts.html",
)
CATALOGUES = "*/LC_MESSAGES/messages.po"  # under translations/: the offline page's words
TILE_LIMIT = 400  # about 10 MB of map tiles: the neighbourhood of an apiary at a few zoom levels
PAGE_LIMIT = 60  # pages kept for offline use; each is a few kilobytes
TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "translations"


@dataclass(frozen=True, slots=True)
class ServiceWorker:
    version: str
    precache: tuple[str, ...]
    script: bytes


def precached_urls(assets: StaticAssets) -> tuple[str, ...]:
    """Every shell file's content-hashed URL (not the worker itself), then the offline page."""
    names = sorted(
        path.relative_to(assets.root).as_posix()
        for path in assets.root.rglob("*")
        if path.is_file() and path.name.endswith(PRECACHED_SUFFIXES)
    )
    urls = []
    for name in names:
        with contextlib.suppress(LookupError):  # a file added since start-up is not served yet
            urls.append(assets.url(name))
    return (*(url for url in urls if not url.startswith(f"/static/{SOURCE}?")), OFFLINE_PATH)


def tile_pattern(tile_url: str) -> str:
    """A JavaScript regular expression matching the URLs a Leaflet tile template produces."""
    if tile_url.startswith("/"):
        return ""  # our own tiles are our own responses: nothing to cache separately
    placeholders = {
        "{s}": "[a-z0-9-]+",
        "{z}": r"\d+",
        "{x}": r"\d+",
        "{y}": r"\d+",
        "{r}": "(@2x)?",
    }
    parts = re.split(r"(\{[a-z]\})", tile_url)
    pattern = "".join(placeholders.get(part, re.escape(part)) for part in parts)
    return f"^{pattern}$"


@functools.lru_cache(maxsize=8)
def service_worker(
    assets: StaticAssets, tile_url: str, user_cookie: str = "cityhive_user"
) -> ServiceWorker:
    """Built once per app, tile setting and tag cookie (fixed for a process's life)."""
    source = (assets.root / SOURCE).read_bytes()
    precache = precached_urls(assets)
    digest = hashlib.sha256(source)
    for url in precache:
        digest.update(url.encode() + b"\n")
    for name in OFFLINE_TEMPLATES:
        path = TEMPLATES / name
        digest.update(path.read_bytes() if path.exists() else b"")
    for path in sorted(TRANSLATIONS.glob(CATALOGUES)):
        digest.update(path.read_bytes())
    digest.update(tile_url.encode() + b"\n" + user_cookie.encode())
    version = digest.hexdigest()[:16]
    settings = {
        "version": version,
        "precache": list(precache),
        "offline": OFFLINE_PATH,
        "outbox": assets.url(OUTBOX),
        "tiles": tile_pattern(tile_url),
        "tileLimit": TILE_LIMIT,
        "pageLimit": PAGE_LIMIT,
        "userCookie": user_cookie,  # whose session this is, even offline (app/pwa/owner.py)
        "userHeader": USER_HEADER,
        "accessHeader": ACCESS_HEADER,  # which memberships a page was saved under
    }
    prefix = (
        "// Written by the server (app/pwa/service_worker.py) for this build.\n"
        f"self.CITYHIVE_SW = {json.dumps(settings, indent=1)};\n"
    )
    return ServiceWorker(version, precache, prefix.encode() + source)

"""Static files for the shell: gzipped where that helps, and without a session.

The shell is most of what a first visit downloads (Leaflet alone is 148 kB, 42 kB gzipped), and
a phone at an apiary may have one bar of signal. Each static text file is compressed once, the
first time it is asked for (again only if the file changes), and kept in memory: all of them
come to about 100 kB. A request for a byte range, a client that does not accept gzip, and the
images get the file as it is, through aiohttp's FileResponse (ETag, ranges, 304).

Static files are answered before the session and CSRF middlewares: they need neither, and a
response that sets a cookie is one that no shared cache keeps (nor should a file fetched
without the user's cookie, such as a manifest icon, replace the user's session cookie).
Pages, fragments and JSON are compressed once per answer by app/web/compression.py, which
leaves these (already encoded) alone.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from app.assets import STATIC_PREFIX
from app.web.htmx import vary

COMPRESSIBLE_SUFFIXES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".map": "application/json",
}
SMALLEST_BYTES = 1024  # below this, gzip's header costs more than it saves


@dataclass(frozen=True, slots=True)
class Compressed:
    body: bytes
    etag: str
    last_modified: str
    content_type: str


class StaticFiles:
    """The files under one folder, and the gzipped bytes of its text files, made on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._made: dict[str, tuple[tuple[int, int], Compressed]] = {}

    def path(self, name: str) -> Path | None:
        """The file `name` (relative to the folder) if there is one, and it is in the folder."""
        if "\x00" in name:  # no file name holds a NUL; the operating system refuses to look
            return None
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def compressed(self, name: str) -> Compressed | None:
        """The file gzipped; None if it is not a text file of some size in the folder."""
        content_type = COMPRESSIBLE_SUFFIXES.get(Path(name).suffix)
        path = self.path(name) if content_type is not None else None
        if content_type is None or path is None:
            return None
        stat = path.stat()
        if stat.st_size < SMALLEST_BYTES:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        made = self._made.get(name)
        if made is not None and made[0] == stamp:
            return made[1]
        compressed = Compressed(
            body=gzip.compress(path.read_bytes(), compresslevel=9, mtime=0),
            etag=f'"{stat.st_mtime_ns:x}-{stat.st_size:x}-gz"',
            last_modified=formatdate(stat.st_mtime, usegmt=True),
            content_type=content_type,
        )
        self._made[name] = (stamp, compressed)
        return compressed


def accepts_gzip(request: web.Request) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def static_files_middleware(static_root: Path) -> Middleware:
    files = StaticFiles(static_root)

    @web.middleware
    async def static_files(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD") or not request.path.startswith(STATIC_PREFIX):
            return await handler(request)
        name = request.path[len(STATIC_PREFIX) :]
        path = files.path(name)
        if path is None:
            return await handler(request)  # not found, or not ours to serve: the usual answer
        plain_only = "Range" in request.headers or not accepts_gzip(request)
        found = None if plain_only else files.compressed(name)
        if found is None:
            return web.FileResponse(path)
        headers = {
            "ETag": found.etag,
            "Last-Modified": found.last_modified,
            "Vary": "Accept-Encoding",
        }
        if found.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=found.body,
            headers={**headers, "Content-Encoding": "gzip", "Content-Type": found.content_type},
        )

    return static_files


def compress(request: web.Request, response: web.Response) -> web.Response:
    """gzip one of our own responses (the manifest, the worker) for a client that accepts it."""
    vary(response, "Accept-Encoding")
    body = response.body
    if accepts_gzip(request) and isinstance(body, bytes) and len(body) >= SMALLEST_BYTES:
        response.enable_compression(web.ContentCoding.gzip)
    return response

"""Pages, fragments and JSON compressed once, as the static files are (app/pwa/compression.py).

A response the app built in memory (`web.Response` with a body: pages, fragments, error pages,
JSON, GeoJSON, CSV) is compressed here, once, after every other middleware has finished with
it: brotli when the client accepts `br`, else gzip, else nothing; `Vary: Accept-Encoding` on
every such response, compressed or not, so no cache hands a compressed body to a client that
cannot read it. Left alone: small bodies (below SMALLEST_BYTES the header costs more than it
saves), responses already encoded (the static files' own gzip, the manifest's), streamed
answers (exports, files: they are never held whole in memory), and types that are compressed
already (images, PDFs).

The levels are chosen for the request path, not for the smallest file: brotli quality 4 and gzip
level 5 compress a page of a few kilobytes in tens of microseconds, within a few per cent of
their highest levels, which cost ten to a hundred times more CPU.
"""

from __future__ import annotations

import zlib

import brotli
from aiohttp import web
from aiohttp.typedefs import Handler

from app.web.htmx import vary

SMALLEST_BYTES = 1024
COMPRESSIBLE_TYPES = frozenset(
    {
        "text/html",
        "text/plain",
        "text/csv",
        "text/calendar",
        "text/css",
        "text/javascript",
        "application/json",
        "application/geo+json",
        "application/problem+json",
        "application/manifest+json",
        "application/javascript",
        "image/svg+xml",
    }
)
BROTLI_QUALITY = 4
GZIP_LEVEL = 5


def accepted_coding(accept_encoding: str) -> str | None:
    """`br` or `gzip`, whichever the client accepts (brotli first), or None.

    A coding listed with `q=0` is refused, as RFC 9110 says."""
    accepted = set()
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=").strip() if params else "1"
        try:
            if float(quality or "1") > 0:
                accepted.add(coding.strip())
        except ValueError:
            continue
    if "br" in accepted:
        return "br"
    if "gzip" in accepted or "x-gzip" in accepted:
        return "gzip"
    return None


def compressed_body(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # the gzip frame
    return packer.compress(body) + packer.flush()


def compressible(response: web.StreamResponse) -> bool:
    """Whether this is an in-memory response of a text type that nothing has encoded yet."""
    return (type(response) is web.Response or isinstance(response, web.HTTPException)) and not (
        response.compression
        or "Content-Encoding" in response.headers
        or response.content_type not in COMPRESSIBLE_TYPES
    )


def compress_response(request: web.Request, response: web.StreamResponse) -> None:
    """Compress `response`'s body in place for `request`'s client, if it is worth it."""
    if not compressible(response):
        return
    assert isinstance(response, web.Response)
    vary(response, "Accept-Encoding")
    body = response.body
    if not isinstance(body, bytes) or len(body) < SMALLEST_BYTES:
        return
    coding = accepted_coding(request.headers.get("Accept-Encoding", ""))
    if coding is None or "Range" in request.headers:
        return
    response.body = compressed_body(body, coding)
    response.headers["Content-Encoding"] = coding


@web.middleware
async def compression_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost but for the request log: every page, error pages included, is compressed."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        compress_response(request, exc)
        raise
    compress_response(request, response)
    return response

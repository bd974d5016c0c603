"""Ids in URLs.

Routes take ids as digits (`{id:\\d+}`), but the database's ids are 32-bit integers: a larger
number names no row, so its page does not exist. Handing it to PostgreSQL instead would fail
the query (a server error) rather than find nothing.
"""

from __future__ import annotations

from aiohttp import web

MAX_ID = 2**31 - 1  # PostgreSQL's integer, which serial ids are


def path_id(request: web.Request, name: str = "id") -> int:
    """The id in the URL; beyond any stored id, this page is not found (404)."""
    value = int(request.match_info[name])
    if value > MAX_ID:
        raise web.HTTPNotFound()
    return value

"""Pages, fragments, JSON and error pages reach the browser compressed once, as it asked."""

from __future__ import annotations

import gzip
import json

import brotli
import pytest

from app.main import create_app
from app.web.compression import accepted_coding


@pytest.fixture
async def raw(aiohttp_client, settings):
    """A client that shows the bytes as sent, without undoing their compression."""
    return await aiohttp_client(create_app(settings), auto_decompress=False)


def decoded(body: bytes, coding: str | None) -> bytes:
    if coding == "br":
        return bytes(brotli.decompress(body))
    if coding == "gzip":
        return gzip.decompress(body)
    return body


async def test_a_page_comes_in_brotli_or_gzip_as_the_browser_accepts(raw):
    plain = await raw.get("/", headers={"Accept-Encoding": "identity"})
    page = await plain.read()
    assert plain.headers.get("Content-Encoding") is None
    assert "Accept-Encoding" in plain.headers["Vary"]
    for accepted, coding in (
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
    ):
        response = await raw.get("/", headers={"Accept-Encoding": accepted})
        assert response.headers["Content-Encoding"] == coding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert "HX-Request" in response.headers["Vary"]
        body = await response.read()
        assert len(body) < len(page)
        assert decoded(body, coding) == page


async def test_fragments_json_and_error_pages_are_compressed_too(raw):
    for path, headers in (
        ("/", {"HX-Request": "true"}),
        ("/api/v1/openapi.json", {}),
        ("/no-such-page", {}),
    ):
        response = await raw.get(path, headers={**headers, "Accept-Encoding": "br"})
        body = decoded(await response.read(), response.headers.get("Content-Encoding"))
        if len(body) >= 1024:
            assert response.headers["Content-Encoding"] == "br", path
    api = await raw.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert json.loads(gzip.decompress(await api.read()))["openapi"]


async def test_what_is_encoded_already_is_not_encoded_again(raw):
    for path in ("/static/css/app.css", "/manifest.webmanifest"):
        response = await raw.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert response.status == 200, path
        assert response.headers.getall("Content-Encoding") == ["gzip"], path
        assert gzip.decompress(await response.read())  # one layer, then the file itself


async def test_a_small_answer_is_sent_as_it_is(raw):
    response = await raw.get("/health/live", headers={"Accept-Encoding": "br, gzip"})
    assert response.headers.get("Content-Encoding") is None


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("GZIP;q=0.5", "gzip"),
        ("x-gzip", "gzip"),
        ("br", "br"),
        ("gzip, br;q=0", "gzip"),
        ("br;q=nonsense, gzip", "gzip"),
        ("deflate", None),
        ("*", None),
    ],
)
def test_the_coding_is_the_one_the_header_accepts(header, coding):
    assert accepted_coding(header) == coding

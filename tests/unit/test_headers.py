"""The headers every response carries, and the templates that let the strict policy hold.

The Content-Security-Policy allows scripts and styles from this site's files only: no inline
script, no event-handler attribute, no style attribute, no eval. The templates are checked for
anything that would need more, and the end-to-end tests run a real Chromium under the policy
(any violation is a console error there, which fails the test). The access matrix checks these
headers on every route's answers, for every kind of caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from app.main import TEMPLATES, create_app
from tests.unit.conftest import csrf_token


def csp_directives(headers: Mapping[str, str]) -> dict[str, list[str]]:
    policy = headers["Content-Security-Policy"]
    directives = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def assert_security_headers(headers: Mapping[str, str]) -> None:
    """What every response must say, whatever its status or shape."""
    csp = csp_directives(headers)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no hosts
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    permissions = dict(
        part.strip().split("=", 1) for part in headers["Permissions-Policy"].split(",")
    )
    assert permissions["geolocation"] == "(self)"  # the hive form's "use my location"
    assert permissions["camera"] == permissions["microphone"] == "()"


async def test_pages_fragments_errors_and_files_all_carry_them(client):
    answers = [
        await client.get("/"),
        await client.get("/", headers={"HX-Request": "true"}),
        await client.get("/login"),
        await client.get("/no-such-page"),
        await client.post("/login", data={}),  # 403: no CSRF token
        await client.put("/api/v1/openapi.json"),  # 405 (the API needs no CSRF token)
        await client.get("/static/css/app.css"),
        await client.get("/api/v1/openapi.json"),
        await client.get("/api/v1/hives"),  # 401 problem
        await client.get("/health/ready"),
    ]
    assert {answer.status for answer in answers} >= {200, 401, 403, 404, 405}
    for answer in answers:
        assert_security_headers(answer.headers)


async def test_a_server_error_carries_them_too(aiohttp_client, settings):
    app = create_app(settings)

    async def broken(request):
        raise RuntimeError("a bug")

    app.router.add_get("/broken", broken)
    response = await (await aiohttp_client(app)).get("/broken")
    assert response.status == 500
    assert_security_headers(response.headers)


async def test_a_too_large_body_is_refused_with_them(aiohttp_client, settings):
    small = settings.model_copy(update={"max_body_bytes": 2048})
    client = await aiohttp_client(create_app(small))
    token = await csrf_token(client)
    response = await client.post("/login", data={"_csrf": token, "email": "x" * 4096})
    assert response.status == 413
    assert_security_headers(response.headers)


async def test_tiles_from_elsewhere_are_the_only_images_from_elsewhere(
    client, aiohttp_client, settings
):
    assert csp_directives((await client.get("/")).headers)["img-src"] == [
        "'self'",
        "data:",
        "https://tile.openstreetmap.org",
    ]
    own_tiles = settings.model_copy(update={"tile_url": "/tiles/{z}/{x}/{y}.png"})
    local = await aiohttp_client(create_app(own_tiles))
    assert csp_directives((await local.get("/")).headers)["img-src"] == ["'self'", "data:"]


# --- templates: nothing that the policy would block -----------------------------------------

TEMPLATE_FILES = sorted(Path(TEMPLATES).rglob("*.html"))
# What the policy forbids in markup: a script element without src (inline code), an event
# handler attribute (onclick=...), a style attribute or element, a javascript: URL, and htmx's
# hx-on attributes (code that htmx would have to eval).
FORBIDDEN = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "an event-handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "a style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
    "a style element": re.compile(r"<style\b", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
    "an hx-on attribute": re.compile(r"\shx-on[:-]", re.I),
}


def test_there_are_templates_to_check():
    assert len(TEMPLATE_FILES) > 10
    assert Path(TEMPLATES, "base.html") in TEMPLATE_FILES


@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_needs_unsafe_inline(template: Path):
    markup = template.read_text()
    found = [what for what, pattern in FORBIDDEN.items() if pattern.search(markup)]
    assert not found, f"{template.name} has {', '.join(found)}: the CSP would block it"


def test_the_checks_find_what_they_look_for():
    samples = {
        "an inline script": "<script>alert(1)</script>",
        "an event-handler attribute": '<button onclick="go()">',
        "a style attribute": '<p style="color: red">',
        "a style element": "<style>p {}</style>",
        "a javascript: URL": '<a href="javascript:go()">',
        "an hx-on attribute": '<form hx-on::after-request="go()">',
    }
    for what, sample in samples.items():
        assert FORBIDDEN[what].search(sample), what
    assert not FORBIDDEN["an inline script"].search('<script src="/static/js/app.js" defer>')


def test_htmx_is_configured_to_need_neither_eval_nor_inline_styles():
    base = Path(TEMPLATES, "base.html").read_text()
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', base)
    assert meta, "base.html has no htmx-config meta"
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False  # hx-on and js: expressions would need 'unsafe-eval'
    assert config["allowScriptTags"] is False  # scripts in swapped content are not run
    assert config["includeIndicatorStyles"] is False  # htmx would inject a <style> element

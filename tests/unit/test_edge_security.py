"""The edge of the app (issue 13): where redirects go, which origin absolute URLs name behind a
proxy, which answers may set cookies, and what request log lines may say.

Items 7 (open redirect), 8 (absolute URLs behind the TLS proxy), 14a (public answers set no
cookie) and 14b (no secret in a log line). Each test is the attack, made against the real app.
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import date, timedelta
from ipaddress import ip_network
from urllib.parse import unquote, urljoin, urlsplit
from uuid import UUID

import pytest
import structlog
from aiohttp import web
from sqlalchemy import select

from app.main import create_app
from app.models import Inspection
from app.observability import configure_logging
from app.settings import Settings
from app.web import auth
from app.web.auth import safe_next
from app.web.urls import valid_host
from tests.unit.conftest import PASSWORD, csrf_token, log_in
from tests.unit.test_hives import new_hive_id
from tests.unit.test_sensors import make_hive
from tests.unit.test_swarms import reported

# --- Item 7: redirect targets ----------------------------------------------------------------

# Raw query strings for `next`, each a way to say "another site" to some browser, or to break
# the Location header. A browser drops tab, CR and LF anywhere in a URL and reads "\" as "/".
HOSTILE_NEXT = [
    "/%09/evil.example",  # "/<TAB>/evil.example" -> //evil.example
    "/%0A/evil.example",
    "/%0D/evil.example",
    "%09//evil.example",
    "//evil.example",
    "///evil.example",
    "/%5Cevil.example",  # "/\evil.example"
    "%5C%5Cevil.example",
    "/%5C/evil.example",
    "/%252F/evil.example",  # "/%2F/evil.example": a second decoding makes it //evil.example
    "/%255Cevil.example",
    "http://evil.example",
    "https:evil.example",
    "HTTPS://evil.example/",
    "javascript:alert(1)",
    "%20javascript:alert(1)",
    "data:text/html,hello",
    "%0d%0a",
    "/%0d%0aSet-Cookie:%20stolen=1",
    "/hives%0d%0aLocation:%20https://evil.example",
    "%20//evil.example",
    "/%20/evil.example",
    "%EF%BC%8F%EF%BC%8Fevil.example",  # fullwidth solidus, twice
    "/%EF%BC%8Fevil.example",
    "/%E2%81%84evil.example",  # fraction slash
    "/%00/evil.example",
    "evil.example",
    "?next=//evil.example",
    "/" + "a" * 3000,
]


def lands_on_this_site(location: str) -> bool:
    """What a browser does with the Location: strip tab/CR/LF, read \\ as /, resolve it."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    resolved = urlsplit(urljoin("https://hives.example.org/login", cleaned))
    return resolved.scheme == "https" and resolved.netloc == "hives.example.org"


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
async def test_item7_open_redirect_hostile_next_lands_home_after_a_real_log_in(
    client, user, hostile
):
    token = await csrf_token(client, f"/login?next={hostile}")
    response = await client.post(
        f"/login?next={hostile}",
        data={"email": user.email, "password": PASSWORD, "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
async def test_item7_open_redirect_hostile_next_for_a_signed_in_user_and_for_htmx(
    logged_in, hostile
):
    """The log-in page of a signed-in user redirects at once; htmx gets HX-Redirect."""
    response = await logged_in.get(f"/login?next={hostile}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/"
    fragment = await logged_in.get(
        f"/signup?next={hostile}", headers={"HX-Request": "true"}, allow_redirects=False
    )
    assert fragment.headers["HX-Redirect"] == "/"


async def test_item7_open_redirect_crlf_in_next_never_drops_the_connection(client):
    """The form page shows the log-in form with a harmless `next`, not a dropped connection."""
    response = await client.get("/login?next=/%0d%0aSet-Cookie:%20stolen=1")
    assert response.status == 200
    assert "stolen" not in await response.text()
    assert "stolen" not in response.headers.get("Set-Cookie", "")


async def test_item7_a_path_on_this_site_is_kept_after_log_in(client, user):
    token = await csrf_token(client, "/login?next=/hives/1%3Fx%3D1")
    response = await client.post(
        "/login?next=/hives/1%3Fx%3D1",
        data={"email": user.email, "password": PASSWORD, "_csrf": token},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/hives/1?x=1"


def test_item7_safe_next_keeps_only_paths_a_browser_resolves_on_this_site():
    targets = [unquote(raw) for raw in HOSTILE_NEXT] + [
        "/\t/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "\uff0f\uff0fevil.example",  # fullwidth solidus
        " /evil.example",
        "/hives\n",
        None,
        7,
        "",
    ]
    for target in targets:
        assert safe_next(target) == "/", repr(target)
    for kept in ("/", "/hives/1?x=1", "/hives?page=2#list", "/today", "/a/b%20c?q=%2F%2F"):
        assert safe_next(kept) == kept
        assert lands_on_this_site(kept)


async def test_item7_in_place_actions_do_not_redirect_off_site(logged_in, db, user):
    """An action form's `next` (acknowledge an alert, inspection done) goes through the same
    check: a forged form cannot send the user elsewhere."""
    hive_id = await make_hive(db, user.id)
    soon = (date.today() + timedelta(days=3)).isoformat()
    token = await csrf_token(logged_in, f"/hives/{hive_id}/inspections/schedule")
    await logged_in.post(
        f"/hives/{hive_id}/inspections/schedule",
        data={"scheduled_for": soon, "_csrf": token},
        allow_redirects=False,
    )
    [inspection_id] = (
        await db.scalars(select(Inspection.id).where(Inspection.hive_id == hive_id))
    ).all()
    response = await logged_in.post(
        f"/inspections/{inspection_id}/done",
        data={"_csrf": token, "next": "/\t/evil.example"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert lands_on_this_site(response.headers["Location"])
    assert response.headers["Location"] == f"/hives/{hive_id}"


async def test_item7_a_header_with_a_line_break_is_a_clean_redirect_not_a_dropped_connection(
    aiohttp_client, settings
):
    """The net under every redirect: whatever builds a Location from input, CR/LF never gets
    to the wire (aiohttp would drop the connection)."""

    async def careless(request: web.Request) -> web.Response:
        target = request.query.get("to", "")
        return web.Response(status=303, headers={"Location": target, "X-Echo": target})

    app = create_app(settings)
    app.router.add_get("/test-careless-redirect", careless)
    client = await aiohttp_client(app)
    response = await client.get(
        "/test-careless-redirect?to=/x%0d%0aSet-Cookie:%20a=b", allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/"
    assert "X-Echo" not in response.headers
    assert "a=b" not in response.headers.get("Set-Cookie", "")


# --- Item 8: absolute URLs behind the TLS proxy ----------------------------------------------

PROXY_HEADERS = {
    "X-Forwarded-For": "198.51.100.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "hives.example.org",
}
CALENDAR_URL = re.compile(r'<code id="calendar-url">([^<]+)</code>')


async def app_client(aiohttp_client, settings, **changes):
    """A client of the app with these settings changed, validated as the environment's are."""
    return await aiohttp_client(create_app(Settings(**{**settings.model_dump(), **changes})))


async def absolute_urls(client, user, headers: dict[str, str]) -> dict[str, str]:
    """Every absolute URL the app shows, asked for with `headers`: the calendar feed (and the
    links inside it), the API page, a hive's device instructions, a swarm status link."""
    await log_in(client, user.email)
    hive_id = await new_hive_id(client)
    token = await csrf_token(client, "/calendar")
    soon = (date.today() + timedelta(days=3)).isoformat()
    await client.post(
        f"/hives/{hive_id}/inspections/schedule",
        data={"scheduled_for": soon, "_csrf": token},
        headers=headers,
    )
    page = await (await client.post("/calendar", data={"_csrf": token}, headers=headers)).text()
    calendar = CALENDAR_URL.search(page)
    assert calendar, page
    feed = await (await client.get(urlsplit(calendar.group(1)).path, headers=headers)).text()
    api = await (await client.get("/api", headers=headers)).text()
    sensors = await (await client.get(f"/hives/{hive_id}/sensors", headers=headers)).text()
    status_path = await reported(client)
    status = await (await client.get(status_path, headers=headers)).text()
    status_url = re.search(r'id="status-link"[^>]*value="([^"]+)"', status)
    assert status_url, status
    return {
        "calendar": calendar.group(1),
        "feed": re.search(r"^URL:(\S+)", feed.replace("\r\n ", ""), re.MULTILINE).group(1),
        "uid": re.search(r"^UID:(\S+)", feed, re.MULTILINE).group(1),
        "api": re.search(r'"(\S+)/api/v1/hives\?', api).group(1),
        "sensors": re.search(r"curl -X POST (\S+)/api/v1/readings", sensors).group(1),
        "status": status_url.group(1),
    }


def origins(urls: dict[str, str]) -> set[str]:
    return {
        f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
        for name, url in urls.items()
        if name != "uid"
    } | {url for name, url in urls.items() if name in ("api", "sensors")}


async def test_item8_behind_a_trusted_proxy_every_absolute_url_says_https(
    aiohttp_client, settings, user
):
    client = await app_client(aiohttp_client, settings, trusted_proxies=[ip_network("127.0.0.0/8")])
    urls = await absolute_urls(client, user, PROXY_HEADERS)
    assert origins(urls) == {"https://hives.example.org"}
    assert UUID(urls["uid"]).version == 5  # not the host name: the same under every name


async def test_item8_rfc7239_forwarded_from_a_trusted_proxy_is_honoured(
    aiohttp_client, settings, user
):
    client = await app_client(aiohttp_client, settings, trusted_proxies=[ip_network("127.0.0.0/8")])
    forwarded = {"Forwarded": 'for="[2001:db8::7]:4711";proto=https;host=hives.example.org'}
    urls = await absolute_urls(client, user, forwarded)
    assert origins(urls) == {"https://hives.example.org"}


async def test_item8_forwarded_headers_from_an_untrusted_peer_are_ignored(client, user):
    urls = await absolute_urls(client, user, PROXY_HEADERS)
    here = f"http://{client.host}:{client.port}"
    assert origins(urls) == {here}


async def test_item8_public_url_wins_over_the_request_and_the_proxy(aiohttp_client, settings, user):
    client = await app_client(
        aiohttp_client,
        settings,
        trusted_proxies=[ip_network("127.0.0.0/8")],
        public_url="https://Bees.Example.net/",
    )
    urls = await absolute_urls(client, user, PROXY_HEADERS)
    assert origins(urls) == {"https://bees.example.net"}
    assert UUID(urls["uid"]).version == 5


@pytest.mark.parametrize(
    "forged_host",
    [
        "evil.example/path",
        "evil.example\\@x",
        'evil.example"><script>',
        "evil example",
        "user@evil.example",
        "evil.example:99999",
        "\uff45\uff56\uff49\uff4c.example",  # fullwidth letters
        "evil.example:80:80",
        "[not-an-address]",
    ],
)
async def test_item8_a_forwarded_host_that_is_not_a_host_is_ignored(
    aiohttp_client, settings, user, forged_host
):
    client = await app_client(aiohttp_client, settings, trusted_proxies=[ip_network("127.0.0.0/8")])
    await log_in(client, user.email)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": forged_host}
    response = await client.get("/api", headers=headers)
    assert response.status == 200
    assert f"https://{client.host}:{client.port}/api/v1/hives" in await response.text()


async def test_item8_a_client_cannot_mix_in_forwarded_past_a_proxy_that_speaks_x_forwarded(
    aiohttp_client, settings, user
):
    """nginx sets X-Forwarded-* and passes the client's own `Forwarded` through: it is ignored."""
    client = await app_client(aiohttp_client, settings, trusted_proxies=[ip_network("127.0.0.0/8")])
    await log_in(client, user.email)
    headers = {
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Proto": "https",
        "Forwarded": "for=203.0.113.9;host=evil.example;proto=http",
    }
    page = await (await client.get("/api", headers=headers)).text()
    assert f"https://{client.host}:{client.port}/api/v1/hives" in page
    assert "evil.example" not in page


async def test_item8_a_forwarded_client_that_is_not_an_address_is_no_500(
    aiohttp_client, settings, user
):
    client = await app_client(aiohttp_client, settings, trusted_proxies=[ip_network("127.0.0.0/8")])
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        data={"email": user.email, "password": "wrong", "_csrf": token},
        headers={"X-Forwarded-For": "not-an-address, 127.0.0.1"},
    )
    assert response.status == 422


async def test_item8_a_host_header_that_names_no_host_is_a_400(logged_in):
    response = await logged_in.get("/api", headers={"Host": "evil.example/<x>"})
    assert response.status == 400
    assert "Host" in await response.text()


def test_item8_valid_hosts_are_parsed_not_guessed():
    assert valid_host("Hives.Example.org") == "hives.example.org"
    assert valid_host("hives.example.org:443") == "hives.example.org:443"
    assert valid_host("[2001:DB8::1]:8080") == "[2001:db8::1]:8080"
    assert valid_host("127.0.0.1:8080") == "127.0.0.1:8080"
    for bad in ("", "a b", "a/b", "a@b", "a:0", "a:x", "[::1", "[::1]x", "-a.org", "a..org"):
        assert valid_host(bad) is None, bad


# --- Item 14a: a public answer never sets a cookie -------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(auth, "clock", moved)
    return moved


async def test_item14_density_geojson_for_a_signed_in_user_is_public_without_a_cookie(
    clock, logged_in
):
    """A minute on, a signed-in request would refresh the session cookie; the public density
    map must neither carry it nor become private."""
    clock.now += 3600
    response = await logged_in.get("/city/density.geojson")
    assert response.status == 200
    assert response.headers["Cache-Control"].startswith("public")
    assert "Set-Cookie" not in response.headers
    # The session is not lost for it: the next page still knows the user and refreshes it.
    profile = await logged_in.get("/profile", allow_redirects=False)
    assert profile.status == 200
    assert "Set-Cookie" in profile.headers


def plain_get_paths(app: web.Application) -> list[str]:
    """Every GET route without a parameter, and one static file."""
    paths = []
    for resource in app.router.resources():
        info = resource.get_info()
        if "path" in info and any(route.method == "GET" for route in resource):
            paths.append(info["path"])
    return [*sorted(set(paths)), "/static/css/app.css", "/static/icons/icon-192.png"]


async def test_item14_no_answer_marked_public_sets_a_cookie(clock, aiohttp_client, settings, user):
    app = create_app(settings)
    signed_in = await aiohttp_client(app)
    await log_in(signed_in, user.email)
    anonymous = await aiohttp_client(create_app(settings))
    public_seen = []
    for path in plain_get_paths(app):
        for client in (anonymous, signed_in):
            clock.now += 120  # every signed-in request would refresh the session cookie
            response = await client.get(path, allow_redirects=False)
            if "public" in response.headers.get("Cache-Control", ""):
                public_seen.append(path)
                assert "Set-Cookie" not in response.headers, path
            if "Set-Cookie" in response.headers:
                assert "private" in response.headers["Cache-Control"] or (
                    "no-store" in response.headers["Cache-Control"]
                ), path
    assert "/city/density.geojson" in public_seen


async def test_item14_a_cookie_set_on_a_shared_response_makes_it_private(aiohttp_client, settings):
    """Whatever a future view does: a cookie is kept, and the answer is private then."""

    async def careless(request: web.Request) -> web.Response:
        response = web.Response(text="hello", headers={"Cache-Control": "public, max-age=600"})
        response.set_cookie("flavour", "acacia")
        return response

    app = create_app(settings)
    app.router.add_get("/test-careless-cookie", careless)
    client = await aiohttp_client(app)
    response = await client.get("/test-careless-cookie")
    assert "flavour=acacia" in response.headers["Set-Cookie"]
    assert response.headers["Cache-Control"] == "private, max-age=600"


# --- Item 14b: no secret in a log line --------------------------------------------------------


async def test_item14_secrets_never_appear_in_request_log_lines(aiohttp_client, settings, user):
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        client = await aiohttp_client(create_app(settings))
        await log_in(client, user.email)
        token = await csrf_token(client, "/calendar")
        page = await (await client.post("/calendar", data={"_csrf": token})).text()
        calendar_path = urlsplit(CALENDAR_URL.search(page).group(1)).path
        secret = calendar_path.removeprefix("/calendar/").removesuffix(".ics")
        status_path = await reported(client)
        status_token = status_path.rsplit("/", 1)[1]
        stream.truncate(0)
        stream.seek(0)
        assert (await client.get(calendar_path + "?key=query-secret-1")).status == 200
        assert (await client.get(status_path + "?key=query-secret-2")).status == 200
        assert (await client.get(calendar_path.replace(".ics", ".ical"))).status == 404
        assert (await client.get(f"/calendar/{secret[:-1]}!.ics")).status == 404
        output = stream.getvalue()
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "request"]
    assert [line["path"] for line in requests] == [
        "/calendar/{secret}.ics",
        "/swarms/status/{token}",
        "(unmatched)",
        "(unmatched)",
    ]
    for leaked in (secret, secret[:-1], status_token, "query-secret-1", "query-secret-2"):
        assert leaked not in output


async def test_item14_a_path_passed_to_any_log_call_in_a_request_is_its_template(
    aiohttp_client, settings
):
    """Not only the request line: a view or middleware that logs `path=request.path` (an error,
    the database away) writes the template too."""

    async def logs_its_path(request: web.Request) -> web.Response:
        structlog.get_logger("test").warning("something", path=request.path)
        return web.Response(text="ok")

    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        app = create_app(settings)
        app.router.add_get("/test-feeds/{secret}", logs_its_path)
        client = await aiohttp_client(app)
        await client.get("/test-feeds/very-secret-link?key=also-secret")
        output = stream.getvalue()
    finally:
        structlog.reset_defaults()
    [line] = [json.loads(x) for x in output.splitlines() if '"something"' in x]
    assert line["path"] == "/test-feeds/{secret}"
    assert "very-secret-link" not in output
    assert "also-secret" not in output

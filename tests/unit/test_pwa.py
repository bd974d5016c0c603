"""The installable, offline app on the server's side: the manifest meets the browsers'
installability criteria, the service worker precaches exactly the shell the pages use and gets a
new version whenever that shell changes, the offline page, and gzip for the shell's files."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import struct
from html import unescape
from pathlib import Path

import pytest

from app.assets import StaticAssets
from app.main import STATIC, create_app
from app.pwa.compression import StaticFiles
from app.pwa.manifest import THEME_COLOUR
from app.pwa.service_worker import precached_urls, service_worker, tile_pattern

CONFIG = re.compile(r"self\.CITYHIVE_SW = (\{.*?\});\n", re.S)
LINKED = re.compile(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"')


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's signature and IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def worker_settings(script: str) -> dict:
    match = CONFIG.search(script)
    assert match, script[:300]
    return json.loads(match.group(1))


# --- the manifest -----------------------------------------------------------------------------


async def test_the_manifest_meets_the_installability_criteria(client):
    response = await client.get("/manifest.webmanifest")
    assert response.status == 200
    assert response.content_type == "application/manifest+json"
    manifest = json.loads(await response.text())

    assert manifest["name"]
    assert manifest["short_name"] == "CityHive"
    assert len(manifest["short_name"]) <= 12  # what a launcher shows under the icon
    assert manifest["description"]
    assert manifest["display"] == "standalone"
    assert manifest["scope"] == "/"
    assert manifest["start_url"].startswith(manifest["scope"])
    assert manifest["id"] == "/"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])

    sizes = {}
    for icon in manifest["icons"]:
        image = await client.get(icon["src"])
        assert image.status == 200, icon["src"]
        assert image.content_type == icon["type"] == "image/png"
        width, height = png_size(await image.read())
        assert icon["sizes"] == f"{width}x{height}"
        sizes.setdefault(icon["purpose"], set()).add(width)
    assert {192, 512} <= sizes["any"]
    assert 512 in sizes["maskable"]


async def test_the_manifest_offers_shortcuts_to_record_and_to_the_map(client):
    manifest = json.loads(await (await client.get("/manifest.webmanifest")).text())
    shortcuts = {shortcut["url"]: shortcut["name"] for shortcut in manifest["shortcuts"]}
    assert shortcuts["/map"] == "Map of my hives"
    assert "Record an inspection" in shortcuts.values()
    for url in shortcuts:
        assert url.startswith(manifest["scope"])
        assert (await client.get(url, allow_redirects=False)).status in (200, 303)


async def test_every_page_links_the_manifest_theme_colour_icon_and_offline_scripts(logged_in):
    for path in ("/", "/hives", "/map", "/offline", "/login"):
        page = await (await logged_in.get(path)).text()
        assert '<link rel="manifest" href="/manifest.webmanifest">' in page, path
        assert f'<meta name="theme-color" content="{THEME_COLOUR}">' in page, path
        touch = re.search(r'<link rel="apple-touch-icon" href="([^"]+)">', page)
        assert touch, path
        assert png_size(await (await logged_in.get(touch.group(1))).read()) == (180, 180)
        assert '<script src="/static/js/outbox.js?v=' in page
        assert '<script src="/static/js/pwa.js?v=' in page
        assert "data-outbox-badge" in page


# --- the service worker -----------------------------------------------------------------------


async def test_the_worker_is_served_from_the_root_never_from_a_cache(client):
    response = await client.get("/sw.js")
    assert response.status == 200
    assert response.content_type == "text/javascript"
    assert "no-cache" in response.headers["Cache-Control"].split(", ")
    assert response.headers["Service-Worker-Allowed"] == "/"
    script = await response.text()
    assert script.index("self.CITYHIVE_SW") < script.index("importScripts(CONFIG.outbox)")
    assert worker_settings(script)["version"] == response.headers["CityHive-Version"]


async def test_the_worker_may_fetch_map_tiles_and_nothing_else_new(client):
    response = await client.get("/sw.js")
    policy = response.headers["Content-Security-Policy"]
    assert "connect-src 'self' https://tile.openstreetmap.org;" in policy
    page_policy = (await client.get("/")).headers["Content-Security-Policy"]
    assert policy == page_policy.replace(
        "connect-src 'self';", "connect-src 'self' https://tile.openstreetmap.org;"
    )
    pattern = worker_settings(await response.text())["tiles"]
    assert re.fullmatch(pattern, "https://tile.openstreetmap.org/12/2200/1343.png")
    assert not re.fullmatch(pattern, "https://tile.openstreetmap.org.evil.example/1/2/3.png")
    assert not re.fullmatch(pattern, "https://tile.openstreetmap.org/12/abc/1343.png")


async def test_with_tiles_of_our_own_the_worker_policy_is_the_pages(aiohttp_client, settings):
    own = settings.model_copy(update={"tile_url": "/tiles/{z}/{x}/{y}.png"})
    client = await aiohttp_client(create_app(own))
    worker = await client.get("/sw.js")
    page = await client.get("/")
    assert worker.headers["Content-Security-Policy"] == page.headers["Content-Security-Policy"]
    assert worker_settings(await worker.text())["tiles"] == ""


def test_tile_patterns_cover_subdomains_and_retina_tiles():
    pattern = tile_pattern("https://{s}.tile.example.org/{z}/{x}/{y}{r}.png?key=a+b")
    assert re.fullmatch(pattern, "https://a.tile.example.org/3/4/5.png?key=a+b")
    assert re.fullmatch(pattern, "https://b.tile.example.org/3/4/5@2x.png?key=a+b")
    assert not re.fullmatch(pattern, "https://a.tile.example.org/3/4/5.png?key=aab")
    assert not re.fullmatch(pattern, "https://a.b.tile.example.org/3/4/5.png?key=a+b")


async def test_the_worker_precaches_every_file_the_pages_load_and_the_offline_page(logged_in):
    worker = worker_settings(await (await logged_in.get("/sw.js")).text())
    precache = set(worker["precache"])
    assert worker["offline"] == "/offline"
    assert "/offline" in precache
    assert worker["outbox"] in precache
    for path in ("/", "/map", "/offline"):
        page = await (await logged_in.get(path)).text()
        for url in LINKED.findall(page):
            assert url in precache, f"{path} loads {url}, which works offline only if precached"
    manifest = json.loads(await (await logged_in.get("/manifest.webmanifest")).text())
    assert {icon["src"] for icon in manifest["icons"]} <= precache
    assert not any(url.startswith("/static/js/sw.js") for url in precache)
    assert not any("LICENSE" in url or url.endswith(".md") for url in precache)
    for url in precache:  # the install fails if any one of them does
        assert (await logged_in.get(url)).status == 200, url


def copy_of_static(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    shutil.copytree(STATIC, root)
    return root


def test_the_version_changes_with_anything_precached_and_only_then(tmp_path):
    root = copy_of_static(tmp_path)
    tiles = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    first = service_worker(StaticAssets(root), tiles)
    again = service_worker(StaticAssets(root), tiles)
    assert again.version == first.version
    assert again.script == first.script

    (root / "css" / "app.css").write_text((root / "css" / "app.css").read_text() + "\n.x{}\n")
    restyled = service_worker(StaticAssets(root), tiles)
    assert restyled.version != first.version
    assert restyled.precache != first.precache

    (root / "js" / "sw.js").write_text((root / "js" / "sw.js").read_text() + "\n// changed\n")
    assert service_worker(StaticAssets(root), tiles).version != restyled.version
    assert service_worker(StaticAssets(root), "/tiles/{z}/{x}/{y}.png").version != (
        service_worker(StaticAssets(root), tiles).version
    )


def test_a_file_added_after_start_up_is_not_precached_until_a_restart(tmp_path):
    root = copy_of_static(tmp_path)
    assets = StaticAssets(root)
    (root / "js" / "later.js").write_text("// added while running\n")
    assert not any("later.js" in url for url in precached_urls(assets))
    assert any("later.js" in url for url in precached_urls(StaticAssets(root)))


# --- the offline page -------------------------------------------------------------------------


async def test_the_offline_page_says_so_and_lists_what_waits(client):
    response = await client.get("/offline")
    assert response.status == 200
    # The two shapes of the page, its compression, and the language the browser's header chose
    # (none: English).
    assert response.headers["Vary"] == "HX-Request, Accept-Encoding, Accept-Language"
    page = await response.text()
    assert '<h1 id="offline-title">You are offline</h1>' in page
    assert "data-outbox-list" in page
    assert '<a class="button" href="/hives">' not in page  # a visitor has no hives

    fragment = await (await client.get("/offline", headers={"HX-Request": "true"})).text()
    assert fragment.lstrip().startswith('<section class="offline-page"')
    assert "<html" not in fragment
    boosted = await client.get("/offline", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in await boosted.text()


async def test_a_beekeeper_offline_is_pointed_to_their_hives(logged_in):
    page = await (await logged_in.get("/offline")).text()
    assert '<a class="button" href="/hives">Your hives</a>' in page
    assert '"X-CSRF-Token": "' in page  # the outbox reads a fresh token from this page


# --- gzip -------------------------------------------------------------------------------------


async def test_styles_and_scripts_are_sent_gzipped_to_browsers_that_accept_it(client):
    page = await (await client.get("/city")).text()  # its map names Leaflet's files
    url = re.search(r'"(/static/vendor/leaflet-1\.9\.4/leaflet\.js\?v=\w+)', page).group(1)
    plain = (STATIC / "vendor/leaflet-1.9.4/leaflet.js").read_bytes()

    zipped = await client.get(url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert zipped.status == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert zipped.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert zipped.content_type == "text/javascript"
    body = await zipped.read()
    assert gzip.decompress(body) == plain
    assert len(body) < len(plain) / 3

    again = await client.get(
        url,
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
        auto_decompress=False,
    )
    assert again.status == 304
    assert await again.read() == b""


@pytest.mark.parametrize(
    "headers",
    [{"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip", "Range": "bytes=0-99"}],
)
async def test_without_gzip_or_for_a_range_the_plain_file_is_sent(client, headers):
    plain = (STATIC / "css/app.css").read_bytes()
    response = await client.get("/static/css/app.css", headers=headers, auto_decompress=False)
    assert "Content-Encoding" not in response.headers
    body = await response.read()
    assert body == (plain[:100] if "Range" in headers else plain)


async def test_small_files_images_and_paths_outside_static_are_not_gzipped(client):
    for path in ("/static/icons/favicon.svg", "/static/icons/icon-192.png"):
        response = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status == 200
        assert "Content-Encoding" not in response.headers, path
    outside = await client.get("/static/%2E%2E/app/main.py", headers={"Accept-Encoding": "gzip"})
    assert outside.status in (403, 404)
    files = StaticFiles(STATIC)
    assert files.compressed("../app/main.py") is None
    assert files.compressed("css/missing.css") is None
    assert files.compressed("css/app.css") is files.compressed("css/app.css")  # made once


def test_a_changed_file_is_compressed_again(tmp_path):
    (tmp_path / "a.css").write_text("body { color: red; }\n" * 100)
    files = StaticFiles(tmp_path)
    first = files.compressed("a.css")
    (tmp_path / "a.css").write_text("body { color: blue; }\n" * 100)
    second = files.compressed("a.css")
    assert first is not None
    assert second is not None
    assert gzip.decompress(second.body).startswith(b"body { color: blue; }")
    assert second.etag != first.etag


async def test_the_manifest_and_worker_are_gzipped_too(client):
    for path in ("/manifest.webmanifest", "/sw.js"):
        zipped = await client.get(path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert zipped.headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in zipped.headers["Vary"]
        plain = await client.get(path, headers={"Accept-Encoding": "identity"})
        assert gzip.decompress(await zipped.read()) == await plain.read()


def test_the_committed_icons_are_the_sizes_the_manifest_names():
    icons = STATIC / "icons"
    assert png_size((icons / "icon-192.png").read_bytes()) == (192, 192)
    assert png_size((icons / "icon-512.png").read_bytes()) == (512, 512)
    assert png_size((icons / "icon-maskable-512.png").read_bytes()) == (512, 512)
    assert png_size((icons / "apple-touch-icon.png").read_bytes()) == (180, 180)


async def test_static_files_are_served_without_a_session(client):
    page = await client.get("/")
    assert "Set-Cookie" not in page.headers  # nor does a visitor's page (app/web/csrf.py)
    for path, encoding in (("/static/css/app.css", "gzip"), ("/static/icons/icon-192.png", None)):
        response = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status == 200
        assert response.headers.get("Content-Encoding") == encoding
        assert "Set-Cookie" not in response.headers, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-cache"  # unversioned: revalidate
    head = await client.head("/static/icons/icon-192.png")
    assert head.status == 200
    assert (await client.get("/static/js/missing.js")).status == 404
    assert (await client.post("/static/css/app.css")).status in (403, 405)


# --- item 4: whose pages and records these are ------------------------------------------------


def page_user(html: str) -> str:
    match = re.search(r'<div class="shell" data-user="([^"]*)"', html)
    assert match, html[:500]
    return match.group(1)


async def test_item4_every_page_says_whose_it_is_and_nobody_is_empty(client, user, settings):
    from app.pwa.owner import HEADER, user_tag
    from tests.unit.conftest import log_in

    anonymous = await client.get("/")
    assert anonymous.headers[HEADER] == ""
    assert page_user(await anonymous.text()) == ""
    assert "cityhive_user" not in anonymous.cookies  # nobody: no tag cookie

    await log_in(client, user.email)
    signed_in = await client.get("/hives")
    tag = user_tag(settings, user.id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", tag)
    assert str(user.id) not in tag
    assert signed_in.headers[HEADER] == tag
    assert page_user(await signed_in.text()) == tag
    offline = await client.get("/offline")
    assert offline.headers[HEADER] == tag
    assert page_user(await offline.text()) == tag


async def test_item4_tags_are_per_user_stable_and_keyed_by_the_secret(settings):
    from app.pwa.owner import user_tag

    assert user_tag(settings, 1) == user_tag(settings, 1)
    assert user_tag(settings, 1) != user_tag(settings, 2)
    assert user_tag(settings, None) == ""
    other = settings.model_copy(update={"secret_key": type(settings.secret_key)("x" * 40)})
    assert user_tag(other, 1) != user_tag(settings, 1)  # not computable without SECRET_KEY


async def test_item4_the_tag_cookie_comes_and_goes_with_the_session(client, user, settings, db):
    """The worker reads the tag cookie offline: it must exist exactly while a user's session
    does, end when the server would end the session, and follow a log-in as another user."""
    from app.pwa.owner import user_tag
    from tests.unit.conftest import csrf_token, log_in, make_user

    await log_in(client, user.email)
    jar = {cookie.key: cookie for cookie in client.session.cookie_jar}
    assert jar["cityhive_user"].value == user_tag(settings, user.id)
    assert jar["cityhive_user"]["httponly"] == ""  # the worker and the page read it
    assert int(jar["cityhive_user"]["max-age"]) == min(
        settings.session_max_age, settings.session_idle_seconds, settings.session_absolute_seconds
    )

    other = await make_user(db, name="Bo", email="bo@example.org")
    await log_in(client, other.email)  # another person, same phone, no log-out
    jar = {cookie.key: cookie for cookie in client.session.cookie_jar}
    assert jar["cityhive_user"].value == user_tag(settings, other.id)

    token = await csrf_token(client, "/hives")
    response = await client.post("/logout", data={"_csrf": token}, allow_redirects=False)
    assert response.status == 303
    assert "cityhive_user" not in {cookie.key for cookie in client.session.cookie_jar}


async def test_item4_a_tag_cookie_left_behind_is_mended(client, user, settings):
    """A tag cookie that outlived its session (or was planted) is removed by the next answer."""
    from app.pwa.owner import user_tag

    client.session.cookie_jar.update_cookies({"cityhive_user": user_tag(settings, user.id)})
    response = await client.get("/login")
    assert response.headers["CityHive-User"] == ""
    removed = response.cookies["cityhive_user"]
    assert removed.value == ""
    assert removed["max-age"] == "0"


async def test_item4_another_accounts_record_is_never_stored_under_this_session(
    client, user, settings, db
):
    """The outbox says whose record it sends; the server stores it only as that user's."""
    from sqlalchemy import func, select

    from app.models import Inspection
    from app.pwa.owner import user_tag
    from tests.unit.conftest import csrf_token, log_in, make_user
    from tests.unit.test_hives import new_hive_id
    from tests.unit.test_inspections import checklist

    other = await make_user(db, name="Bo", email="bo@example.org")
    await log_in(client, other.email)
    hive_id = await new_hive_id(client)
    token = await csrf_token(client, f"/hives/{hive_id}/inspections/new")

    async def replay(written_by: str | None, key: str):
        headers = {"CityHive-Sync": "outbox", "X-CSRF-Token": token, "Idempotency-Key": key}
        if written_by is not None:
            headers["CityHive-User"] = written_by
        data = {**checklist(), "idempotency_key": key}
        return await client.post(
            f"/hives/{hive_id}/inspections", data=data, headers=headers, allow_redirects=False
        )

    async def stored() -> int:
        count = select(func.count()).select_from(Inspection).where(Inspection.done_at.is_not(None))
        return int(await db.scalar(count))

    ada = user_tag(settings, user.id)
    attempts = (
        (ada, "0b7e1c4e-1d6a-4c1e-9c1a-1f0a5b3c2d01"),  # Ada's record, Bo's session
        (None, "0b7e1c4e-1d6a-4c1e-9c1a-1f0a5b3c2d02"),  # an outbox that does not say whose
        ("forged", "0b7e1c4e-1d6a-4c1e-9c1a-1f0a5b3c2d03"),
    )
    for written_by, key in attempts:
        refused = await replay(written_by, key)
        assert refused.status == 409
        assert "saved on this phone by another account" in await refused.text()
    assert await stored() == 0

    own = await replay(user_tag(settings, other.id), "0b7e1c4e-1d6a-4c1e-9c1a-1f0a5b3c2d04")
    assert own.status == 303
    assert await stored() == 1


async def test_item4_a_record_sent_with_nobody_signed_in_asks_for_a_log_in(client, user, settings):
    from app.pwa.owner import user_tag
    from tests.unit.conftest import csrf_token

    token = await csrf_token(client)
    response = await client.post(
        "/hives/1/inspections",
        data={"frames_of_bees": "3"},
        headers={
            "CityHive-Sync": "outbox",
            "CityHive-User": user_tag(settings, user.id),
            "X-CSRF-Token": token,
        },
        allow_redirects=False,
    )
    assert response.status == 401
    assert "Log in to send the records saved on this phone." in await response.text()


# --- the reader's language --------------------------------------------------------------------

TEXTS = re.compile(r'<template id="texts" lang="([a-z]+)">(.*?)</template>', re.S)
SCRIPTS = ("app.js", "map.js", "charts.js", "outbox.js", "pwa.js", "push.js")


def script_texts(html: str) -> tuple[str, dict]:
    """The language and the words of a page's texts block (templates/partials/pwa/texts.html)."""
    match = TEXTS.search(html)
    assert match, "no texts block in the page"
    return match.group(1), json.loads(match.group(2))


async def test_the_manifest_speaks_the_readers_language(client):
    client.session.cookie_jar.update_cookies({"cityhive_lang": "de"})
    response = await client.get("/manifest.webmanifest")
    assert response.headers["Content-Language"] == "de"
    manifest = json.loads(await response.text())
    assert manifest["lang"] == "de"
    assert manifest["dir"] == "ltr"
    assert manifest["name"] == "CityHive: Imkern in der Stadt"
    assert manifest["short_name"] == "CityHive"
    assert "Völker auf einer Karte" in manifest["description"]
    shortcuts = {shortcut["url"]: shortcut for shortcut in manifest["shortcuts"]}
    assert shortcuts["/map"]["name"] == "Karte meiner Völker"
    assert shortcuts["/hives"]["short_name"] == "Durchsicht"
    assert all(len(shortcut["short_name"]) <= 12 for shortcut in manifest["shortcuts"])


async def test_a_manifest_chosen_by_the_browsers_header_varies_by_it(client):
    response = await client.get(
        "/manifest.webmanifest", headers={"Accept-Language": "fr-CH, en;q=0.5"}
    )
    assert response.headers["Content-Language"] == "fr"
    assert "Accept-Language" in response.headers["Vary"]
    manifest = json.loads(await response.text())
    assert (manifest["lang"], manifest["name"]) == ("fr", "CityHive : apiculture urbaine")
    english = json.loads(await (await client.get("/manifest.webmanifest")).text())
    assert (english["lang"], english["name"]) == ("en", "CityHive: urban beekeeping")


async def test_every_page_gives_its_scripts_their_words_in_its_language(logged_in):
    language, english = script_texts(await (await logged_in.get("/")).text())
    assert language == "en"
    assert english["pwa.sent"] == [
        "%(num)s record saved on this phone was sent.",
        "%(num)s records saved on this phone were sent.",
    ]

    logged_in.session.cookie_jar.update_cookies({"cityhive_lang": "de"})
    page = await (await logged_in.get("/hives")).text()
    language, german = script_texts(page)
    assert language == "de"
    assert german.keys() == english.keys()
    assert german["pwa.sent"] == [
        "%(num)s auf diesem Telefon gespeicherter Eintrag wurde gesendet.",
        "%(num)s auf diesem Telefon gespeicherte Einträge wurden gesendet.",
    ]
    assert german["pwa.queued"] == (
        "Auf diesem Telefon gespeichert: %(label)s. "
        "Der Eintrag wird gesendet, sobald Sie wieder online sind."
    )
    assert german["map.locateMe"] == "Mein Standort"
    assert german["chart.mean"] == "Mittelwert"
    assert "noch nicht gesendet" in page  # the outbox badge, drawn by the server
    assert "App installieren" in page

    logged_in.session.cookie_jar.update_cookies({"cityhive_lang": "fr"})
    language, french = script_texts(await (await logged_in.get("/map")).text())
    assert language == "fr"
    assert french["app.unreachable"] == (
        "Impossible de joindre CityHive. Vérifiez votre connexion et réessayez."
    )
    assert french["map.swarmAway"] == "Essaim, à %(distance)s"
    assert french["pwa.discardedOthers"] == [
        "%(num)s enregistrement d'un autre compte a été supprimé.",
        "%(num)s enregistrements d'un autre compte ont été supprimés.",
    ]
    assert french["sw.offline"] == "Vous êtes hors ligne"

    # Each language's block is rendered once per app and kept: back in English, English again.
    logged_in.session.cookie_jar.update_cookies({"cityhive_lang": "en"})
    assert script_texts(await (await logged_in.get("/hives")).text()) == ("en", english)


async def test_the_scripts_keep_the_same_english_as_the_texts_block(client):
    """Each script's own English (its fallback) is the block's English, key by key: a text
    changed in one place only would read differently with and without the block."""
    _language, english = script_texts(await (await client.get("/")).text())
    sources = "\n".join((STATIC / "js" / name).read_text() for name in SCRIPTS)
    fallback = re.compile(r'^\s*"([a-zA-Z]+\.[a-zA-Z]+)": ("(?:[^"\\]|\\.)*"|\[[^\]]*\])', re.M)
    found = {key: json.loads(value) for key, value in fallback.findall(sources)}
    assert found == english


async def test_the_offline_page_in_french(client):
    client.session.cookie_jar.update_cookies({"cityhive_lang": "fr"})
    response = await client.get("/offline")
    assert response.headers["Content-Language"] == "fr"
    page = unescape(await response.text())
    assert '<html lang="fr">' in page
    assert "<title>Hors ligne · CityHive</title>" in page
    assert '<h1 id="offline-title">Vous êtes hors ligne</h1>' in page
    assert "Cette page n'est pas enregistrée sur ce téléphone" in page
    assert "data-empty=\"Rien n'est en attente" in page  # for the outbox list
    assert '<a class="button button--primary" href="/">Accueil</a>' in page
    assert script_texts(page)[0] == "fr"


async def test_the_worker_is_one_script_for_every_language(client):
    english = await (await client.get("/sw.js")).read()
    client.session.cookie_jar.update_cookies({"cityhive_lang": "de"})
    assert await (await client.get("/sw.js")).read() == english

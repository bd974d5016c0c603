"""CityHive as an installed app, in Chromium: installable, controlled by its service worker,
usable offline for the pages already seen, map tiles kept, and a new version offered cleanly.

The offline field log (the outbox) has its own file, test_offline.py, which uses the helpers
here. Going offline is `context.set_offline(True)`; the browser then logs each request it could
not send as a console error ("net::ERR_INTERNET_DISCONNECTED"), and htmx logs a request that
failed ("htmx:sendError"): these tests expect both.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import free_port, throwaway_database, wait_until_ready
from tests.e2e.conftest import (
    CHROMIUM_ARGS,
    PHONE,
    REPO_ROOT,
    TILE_HOST,
    PageProblems,
    origin_of,
    random_secret,
    server_output,
    stop,
)
from tests.e2e.journeys import nav, sign_up_from_home, unique_email

pytestmark = pytest.mark.e2e

# Offline, Chromium logs each request it could not send, and htmx logs the failed request.
OFFLINE_ERRORS = re.compile(r"net::ERR_INTERNET_DISCONNECTED|^htmx:(sendError|afterRequest)\b")
PAGES_CACHE = "cityhive-pages-v2"
TILES_CACHE = "cityhive-tiles-v1"


class AppProblems(PageProblems):
    """The conftest's checks, except for console errors that the test expects (a request the
    browser could not send while offline; a failure the test made the server answer)."""

    def __init__(self, origin: str, allowed: re.Pattern[str]) -> None:
        super().__init__(origin)
        self.allowed = allowed

    def on_console(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.type == "error" and self.allowed.search(message.text):
            return
        super().on_console(message)


def watched_context(
    browser: Browser, base_url: str, allowed: re.Pattern[str] = OFFLINE_ERRORS
) -> tuple[BrowserContext, AppProblems]:
    context = browser.new_context(base_url=base_url, viewport=PHONE, locale="en-GB")
    problems = AppProblems(origin_of(base_url), allowed)
    context.route("**/*", problems.route)
    context.on("console", problems.on_console)
    context.on("weberror", lambda web_error: problems.on_page_error(web_error.error))
    return context, problems


@pytest.fixture
def app_page(browser: Browser, server: str) -> Iterator[Callable[..., Page]]:
    """Open a phone-sized page that may go offline: app_page(allowed=OFFLINE_ERRORS).

    As the conftest's open_page, the test fails at teardown if a page logged a console error
    other than the allowed ones, threw an uncaught error or tried to reach another origin.
    """
    opened: list[tuple[BrowserContext, AppProblems]] = []

    def open_(allowed: re.Pattern[str] = OFFLINE_ERRORS) -> Page:
        context, problems = watched_context(browser, server, allowed)
        opened.append((context, problems))
        return context.new_page()

    yield open_
    reports = []
    for context, problems in opened:
        context.close()
        if report := problems.report():
            reports.append(report)
    if reports:
        pytest.fail("the browser reported problems:\n" + "\n".join(reports), pytrace=False)


# --- steps ------------------------------------------------------------------------------------


def wait_for_the_worker(page: Page) -> None:
    """Until the service worker controls the page: it has installed, precached the shell and
    taken over."""
    try:
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    except Exception:
        state = page.evaluate(
            """navigator.serviceWorker.getRegistration().then(r => r && [r.installing, r.waiting,
               r.active].map(worker => worker && worker.state))"""
        )
        raise AssertionError(f"no worker in control: {state}") from None


def saved_pages(page: Page) -> list[str]:
    return page.evaluate(
        """name => caches.open(name).then(cache => cache.keys())
             .then(keys => keys.map(request => { const url = new URL(request.url);
                                                 return url.pathname + url.search; }))""",
        PAGES_CACHE,
    )


def wait_until(page: Page, script: str, arg: object, timeout_ms: float = 20_000) -> None:
    """Until `script` (a function of `arg`, which may return a promise) gives a true value.
    (wait_for_function takes a promise itself for true: the Cache API is all promises.)"""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(script, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms / 1000:.0f} s: {script}")
        page.wait_for_timeout(200)


def wait_until_saved(page: Page, paths: list[str]) -> None:
    """Until the worker has saved these pages for offline use."""
    wait_until(
        page,
        """([name, paths]) => caches.open(name)
             .then(cache => Promise.all(paths.map(path => cache.match(path))))
             .then(found => found.every(Boolean))""",
        [PAGES_CACHE, paths],
    )


def add_hive(page: Page, name: str, latitude: str = "52.5163", longitude: str = "13.3777") -> int:
    """Add a hive through the form's POST (with the page's session and CSRF token) and open its
    page. The hive form's own journey is test_hives.py's; here it is only the set-up."""
    page.goto("/hives/new")
    token = page.locator("input[name='_csrf']").first.input_value()
    fields = {"name": name, "latitude": latitude, "longitude": longitude}
    fields |= {"frame_type": "langstroth", "status": "active", "_csrf": token}
    response = page.request.post("/hives", form=fields, max_redirects=0)
    assert response.status == 303, response.text()
    match = re.fullmatch(r"/hives/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    page.goto(match.group(0))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    return int(match.group(1))


def heading(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


# --- installable, controlled ------------------------------------------------------------------


def test_chromium_finds_the_app_installable(browser: Browser, server: str, tmp_path: Path) -> None:
    """Page.getInstallabilityErrors runs Chromium's own checks (manifest fields, icon sizes,
    display, start URL in scope, a service worker). A profile on disk, because Chromium never
    offers to install from an incognito window, which every new_context() is."""
    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profile",
        executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=server,
        viewport=PHONE,
    )
    try:
        page = context.new_page()
        page.goto("/")
        wait_for_the_worker(page)
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getInstallabilityErrors") == {"installabilityErrors": []}
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == f"{server}/manifest.webmanifest"
        assert manifest["errors"] == []
    finally:
        context.close()


def test_the_worker_controls_the_page_after_reload(app_page: Callable[..., Page]) -> None:
    page = app_page()
    page.goto("/")
    expect(heading(page)).to_have_text("Beekeeping for the city")
    wait_for_the_worker(page)
    page.reload()
    script = page.evaluate("navigator.serviceWorker.controller.scriptURL")
    assert script.endswith("/sw.js")
    assert page.evaluate("navigator.serviceWorker.controller.state") == "activated"
    shell = page.evaluate("caches.keys()")
    assert [name for name in shell if name.startswith("cityhive-shell-")], shell
    # The whole shell is in the cache: every script and stylesheet of this page.
    missing = page.evaluate(
        """() => Promise.all(
             [...document.querySelectorAll('script[src], link[rel=stylesheet]')]
               .map(el => el.src || el.href)
               .map(url => caches.match(url).then(hit => hit ? null : url)))
           .then(urls => urls.filter(Boolean))"""
    )
    assert missing == []


def test_the_install_button_appears_when_the_browser_offers_it(
    app_page: Callable[..., Page],
) -> None:
    page = app_page()
    page.goto("/")
    install = page.get_by_role("button", name="Install app")
    expect(install).to_be_hidden()
    # Chromium offers installation (beforeinstallprompt) only after user engagement, which a
    # headless test cannot earn: the event is made here, with the browser's prompt() recorded.
    page.evaluate(
        """() => {
             const offer = new Event('beforeinstallprompt', { cancelable: true });
             offer.prompt = () => { window.installPrompted = true; return Promise.resolve(); };
             offer.userChoice = Promise.resolve({ outcome: 'accepted' });
             window.dispatchEvent(offer);
             window.offerCancelled = offer.defaultPrevented;
           }"""
    )
    expect(install).to_be_visible()
    assert page.evaluate("window.offerCancelled") is True  # our button instead of the mini bar
    nav(page).get_by_role("link", name="Log in").click()  # it stays across boosted pages
    expect(heading(page)).to_have_text("Log in")
    expect(install).to_be_visible()
    install.click()
    assert page.evaluate("window.installPrompted") is True
    expect(install).to_be_hidden()
    page.evaluate("() => window.dispatchEvent(new Event('appinstalled'))")
    expect(install).to_be_hidden()


# --- offline pages ----------------------------------------------------------------------------


def test_pages_seen_before_open_offline_and_others_show_the_offline_page(
    app_page: Callable[..., Page],
) -> None:
    page = app_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    wait_for_the_worker(page)
    hive_id = add_hive(page, "Rooftop One")
    nav(page).get_by_role("link", name="Hives").click()
    expect(heading(page)).to_have_text("Your hives")
    wait_until_saved(page, ["/hives", f"/hives/{hive_id}"])

    page.context.set_offline(True)
    page.reload()  # a navigation, from the saved copy
    expect(heading(page)).to_have_text("Your hives")
    page.get_by_role("link", name="Rooftop One").first.click()  # boosted, from the saved copy
    expect(heading(page)).to_have_text("Rooftop One")
    expect(page.locator("[data-offline-notice]")).to_be_visible()

    nav(page).get_by_role("link", name="Profile").click()  # never opened: the offline page
    expect(heading(page)).to_have_text("You are offline")
    expect(page).to_have_url(re.compile(r"/profile$"))
    expect(page.get_by_text("Nothing is waiting")).to_be_visible()
    page.goto("/map")
    expect(heading(page)).to_have_text("You are offline")

    page.context.set_offline(False)
    nav(page).get_by_role("link", name="Profile").click()
    expect(heading(page)).not_to_have_text("You are offline")
    expect(page.locator("[data-offline-notice]")).to_be_hidden()


def test_a_form_that_needs_the_server_says_so_offline(app_page: Callable[..., Page]) -> None:
    page = app_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    wait_for_the_worker(page)
    hive_id = add_hive(page, "Rooftop One")
    page.goto(f"/hives/{hive_id}/edit")
    page.context.set_offline(True)
    page.get_by_label("Name").fill("Rooftop Two")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#alerts")).to_contain_text("Could not reach CityHive")
    expect(page.get_by_label("Name")).to_have_value("Rooftop Two")  # nothing lost


def test_logging_out_forgets_the_saved_pages(app_page: Callable[..., Page]) -> None:
    page = app_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    wait_for_the_worker(page)
    hive_id = add_hive(page, "Private Hive")
    wait_until_saved(page, [f"/hives/{hive_id}"])
    nav(page).get_by_role("button", name="Log out").click()
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()
    wait_until(
        page,
        """([name, path]) => caches.open(name).then(cache => cache.match(path))
             .then(found => !found)""",
        [PAGES_CACHE, f"/hives/{hive_id}"],
    )
    page.context.set_offline(True)
    page.goto(f"/hives/{hive_id}")
    expect(heading(page)).to_have_text("You are offline")
    expect(page.get_by_text("Private Hive")).to_have_count(0)


def saved_language(page: Page, path: str) -> str | None:
    """The Content-Language of the worker's saved copy of `path`, or None if there is none."""
    return page.evaluate(
        """([name, path]) => caches.open(name).then(cache => cache.match(path))
             .then(found => found ? found.headers.get("Content-Language") : null)""",
        [PAGES_CACHE, path],
    )


def test_pages_saved_in_one_language_are_not_shown_in_another(
    app_page: Callable[..., Page],
) -> None:
    """Ada reads in English, then chooses German: what was saved in English goes, the pages
    saved from then on are German, and so are the offline page and the scripts' words."""
    page = app_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    wait_for_the_worker(page)
    hive_id = add_hive(page, "Rooftop One")
    page.goto("/hives")
    wait_until_saved(page, ["/hives", f"/hives/{hive_id}"])
    assert saved_language(page, f"/hives/{hive_id}") == "en"

    footer = page.locator(".site-footer")
    footer.get_by_label("Language").select_option("de")
    footer.get_by_role("button", name="Change").click()
    expect(heading(page)).to_have_text("Ihre Völker")
    wait_until(  # the pages saved in English went with the choice
        page,
        """([name, path]) => caches.open(name).then(cache => cache.match(path))
             .then(found => !found)""",
        [PAGES_CACHE, f"/hives/{hive_id}"],
    )
    expect(page.locator("template#texts")).to_have_attribute("lang", "de")

    page.goto("/map")  # the map's own control, drawn by map.js in the page's words
    locate = page.get_by_role("button", name="Mein Standort: Karte auf meine Position zentrieren")
    expect(locate).to_have_text("Mein Standort")
    # Dates and numbers in the scripts follow the language too, on the 24-hour clock.
    moment = "new Date(Date.UTC(2026, 10, 26, 14, 5))"
    day = "{ day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }"
    clock = "{ hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }"
    assert page.evaluate(f"CityHiveText.dateTime({moment}, {day})") == "26. November 2026"
    assert page.evaluate(f"CityHiveText.dateTime({moment}, {clock})") == "14:05"
    assert page.evaluate("CityHiveText.number(1204.5)") == "1.204,5"
    wait_until(  # the worker heard German in the server's answer: its offline page is German
        page,
        """([name, path]) => caches.open(name).then(cache => cache.match(path))
             .then(found => Boolean(found) && found.headers.get("Content-Language") === "de")""",
        [PAGES_CACHE, "/offline"],
    )
    page.goto("/hives")
    wait_until_saved(page, ["/hives"])
    assert saved_language(page, "/hives") == "de"

    page.context.set_offline(True)
    page.goto(f"/hives/{hive_id}")  # saved in English only: not shown
    expect(heading(page)).to_have_text("Sie sind offline")
    expect(page.get_by_text("Rooftop One")).to_have_count(0)
    page.goto("/hives")
    expect(heading(page)).to_have_text("Ihre Völker")
    expect(page.locator("[data-offline-notice]")).to_have_text(
        "Offline: Was Sie erfassen, bleibt auf diesem Telefon gespeichert."
    )


# --- map tiles --------------------------------------------------------------------------------


def tile_urls(page: Page) -> list[str]:
    return page.evaluate(
        "name => caches.open(name).then(c => c.keys()).then(keys => keys.map(r => r.url))",
        TILES_CACHE,
    )


def test_map_tiles_are_kept_for_offline_and_the_least_recently_used_go_first(
    app_page: Callable[..., Page],
) -> None:
    page = app_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    wait_for_the_worker(page)
    hive_id = add_hive(page, "Rooftop One")
    page.reload()  # the hive's small map, its tiles fetched through the worker
    page.locator(".map--small").scroll_into_view_if_needed()  # it starts near the view
    expect(page.locator(".map--small .leaflet-tile-loaded").first).to_be_visible()
    wait_until(
        page, "name => caches.open(name).then(c => c.keys()).then(keys => keys.length)", TILES_CACHE
    )
    kept = tile_urls(page)
    assert all(TILE_HOST in url for url in kept)

    page.context.set_offline(True)
    page.goto(f"/hives/{hive_id}")
    expect(heading(page)).to_have_text("Rooftop One")
    page.locator(".map--small").scroll_into_view_if_needed()  # Leaflet from the shell's cache
    expect(page.locator(".map--small .leaflet-tile-loaded").first).to_be_visible()

    # The order of the cache is the order of use: a tile used again moves to the end, and
    # trimming to a bound removes from the front.
    page.context.set_offline(False)
    first, *rest = kept
    page.evaluate(  # shown again, through the worker: a hit
        """url => new Promise(done => {
             const image = new Image(); image.onload = image.onerror = done; image.src = url; })""",
        first,
    )
    wait_until(
        page,
        """([name, url]) => caches.open(name).then(c => c.keys())
             .then(keys => keys.length && keys[keys.length - 1].url === url)""",
        [TILES_CACHE, first],
    )
    worker = page.context.service_workers[0]
    worker.evaluate(
        "async limit => self.cityhive.trim(await caches.open(self.cityhive.caches.tiles), limit)",
        1,
    )
    assert tile_urls(page) == [first]
    assert rest == [] or rest[0] not in tile_urls(page)


# --- a new version ----------------------------------------------------------------------------


def serve(port: int, database_url: str, secret: str, work_dir: Path, tile_url: str):  # type: ignore[no-untyped-def]
    env = os.environ | {
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SECRET_KEY": secret,
        "DEMO_DATA": "false",
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(work_dir / "data"),
        "TILE_URL": tile_url,
        "PYTHONUNBUFFERED": "1",
        "WORKERS": "1",
    }
    stdout = (work_dir / "server.stdout").open("ab")
    stderr = (work_dir / "server.stderr").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
    )
    stdout.close()
    stderr.close()
    base_url = f"http://127.0.0.1:{port}"
    wait_until_ready(process, base_url, lambda: server_output(work_dir))
    return process


@contextlib.contextmanager
def database_beside_playwright(server_url: str, prefix: str) -> Iterator[str]:
    """A throwaway database, made and dropped in another thread: Playwright's event loop runs in
    this one, and the migrations use asyncio.run()."""
    manager = throwaway_database(server_url, prefix)
    with ThreadPoolExecutor(1) as thread:
        url = thread.submit(manager.__enter__).result()
        try:
            yield url
        finally:
            thread.submit(manager.__exit__, None, None, None).result()


def test_a_new_version_is_offered_and_takes_over_on_reload(
    browser: Browser, database_server_url: str, tmp_path: Path
) -> None:
    """A release while the page is open: the same site, restarted with a different shell (here
    the tile setting, which is part of the worker's version). The open page keeps working with
    the old worker until the user accepts the reload."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    secret = random_secret()
    first_tiles = f"https://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png"
    with database_beside_playwright(database_server_url, "cityhive_e2e_update") as database_url:
        process = serve(port, database_url, secret, tmp_path, first_tiles)
        context, problems = watched_context(browser, base_url)
        try:
            page = context.new_page()
            page.goto("/")
            wait_for_the_worker(page)
            old_version = page.context.service_workers[0].evaluate("self.cityhive.version")
            stop(process)

            process = serve(port, database_url, secret, tmp_path, first_tiles + "?release=2")
            page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
            prompt = page.locator("[data-update-prompt]")
            expect(prompt).to_be_visible(timeout=20_000)
            expect(prompt).to_contain_text("A new version of CityHive is ready.")

            nav(page).get_by_role("link", name="Log in").click()  # the open page still works
            expect(heading(page)).to_have_text("Log in")
            expect(prompt).to_be_visible()
            page.evaluate("window.notReloaded = true")

            page.get_by_role("button", name="Reload").click()
            page.wait_for_function("() => window.notReloaded === undefined", timeout=20_000)
            expect(heading(page)).to_have_text("Log in")
            expect(prompt).to_be_hidden()
            new_version = page.evaluate(
                "fetch('/sw.js').then(r => r.headers.get('CityHive-Version'))"
            )
            assert new_version != old_version
            assert page.evaluate("caches.keys()").count(f"cityhive-shell-{new_version}") == 1
            assert f"cityhive-shell-{old_version}" not in page.evaluate("caches.keys()")
        finally:
            context.close()
            stop(process)
    if report := problems.report():
        pytest.fail("the browser reported problems:\n" + report, pytrace=False)


def test_a_form_saved_earlier_shows_the_time_it_is_filled_in(
    app_page: Callable[..., Page],
) -> None:
    """A field marked data-now gets the time the page is shown, unless it was chosen: a copy of
    the inspection form saved at 9:00 and filled in offline at noon must not say 9:00."""
    page = app_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    hive_id = add_hive(page, "Rooftop One")
    page.goto(f"/hives/{hive_id}/inspections/new")
    saved_at = "2026-01-01T09:00"
    page.evaluate(
        """savedAt => {
             const when = document.querySelector("input[name=done_at]");
             when.setAttribute("data-now", "");
             when.defaultValue = when.value = savedAt;  // as rendered when the copy was saved
             document.body.dispatchEvent(new CustomEvent("htmx:afterSettle",
               { bubbles: true, detail: { elt: document.querySelector("#inspection-form") } }));
           }""",
        saved_at,
    )
    when = page.get_by_label("When")
    expect(when).not_to_have_value(saved_at)
    today = page.evaluate(  # the phone's own clock and time zone
        """() => { const d = new Date(), two = n => String(n).padStart(2, "0");
                   return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`; }"""
    )
    assert when.input_value().startswith(today + "T")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", when.input_value())

    when.fill("2026-01-02T08:30")  # the user's choice stays
    page.evaluate(
        """() => document.body.dispatchEvent(new CustomEvent("htmx:afterSettle",
             { bubbles: true, detail: { elt: document.querySelector("#inspection-form") } }))"""
    )
    expect(when).to_have_value("2026-01-02T08:30")


# --- item 4: a phone that changes hands --------------------------------------------------------


def test_item4_a_previous_users_saved_pages_are_never_shown_to_the_next(
    app_page: Callable[..., Page],
) -> None:
    """Ada's session ends without Log-out (the cookie goes, as when it expires); whoever uses the
    phone next, signed out or as Bo, offline or online, never sees Ada's saved hive page."""
    page = app_page(allowed=re.compile(OFFLINE_ERRORS.pattern + r"|status of 40[134]\b"))
    sign_up_from_home(page, name="Ada", email=unique_email())
    wait_for_the_worker(page)
    hive_id = add_hive(page, "Private Hive")
    wait_until_saved(page, [f"/hives/{hive_id}", "/offline"])

    page.context.clear_cookies()  # the session ended without the Log-out button
    page.context.set_offline(True)
    page.goto(f"/hives/{hive_id}")
    expect(heading(page)).to_have_text("You are offline")
    expect(page.get_by_text("Private Hive")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()  # nobody's offline page

    page.context.set_offline(False)
    page.goto(f"/hives/{hive_id}")  # online: the server's answer to nobody (log in, or not found)
    expect(heading(page)).to_have_text(re.compile(r"^(Log in|Page not found)$"))
    expect(page.get_by_text("Private Hive")).to_have_count(0)

    sign_up_from_home(page, name="Bo", email=unique_email("bo"))
    wait_until(  # Bo's first pages took Ada's saved pages away
        page,
        """([name, path]) => caches.open(name).then(cache => cache.match(path))
             .then(found => !found)""",
        [PAGES_CACHE, f"/hives/{hive_id}"],
    )
    page.context.set_offline(True)
    page.goto(f"/hives/{hive_id}")
    expect(heading(page)).to_have_text("You are offline")
    expect(page.get_by_text("Private Hive")).to_have_count(0)

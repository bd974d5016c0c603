"""End-to-end tests: the real server in its own process, driven by a real Chromium.

`server` runs `python -m app serve` on a throwaway database (`database_url`) and a free port,
one per pytest process (each pytest-xdist worker has its own). Each test gets a
fresh browser context (its own cookies) from `page` (a phone), `desktop_page` or `no_js_page`.
Any request to another origin is aborted, so no test depends on the internet, and any console
error or uncaught page error (a Content-Security-Policy violation is one) fails the test.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import string
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    sync_playwright,
)

from scripts.icons import plain_png
from tests.conftest import free_port, throwaway_database, wait_until_ready

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_SECONDS = 10.0

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Map tiles come from the internet, which tests must not need: a local stub answers for the
# default tile server with one plain 256 x 256 PNG.
TILE_HOST = "tile.openstreetmap.org"


TILE_PNG = plain_png()

# The app answers a form with mistakes with 422 and a throttled log-in with 429, on purpose, and
# Chromium logs every 4xx response as a console error. Those two are the page working; any other
# console error (a script error, a CSP violation, a 500, a blocked request) fails the test.
EXPECTED_CONSOLE_ERRORS = re.compile(
    r"^Failed to load resource: the server responded with a status of (422|429)\b"
)


def random_secret(length: int = 48) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def server_output(log_dir: Path) -> str:
    out = (log_dir / "server.stdout").read_text(errors="replace")
    err = (log_dir / "server.stderr").read_text(errors="replace")
    return f"--- stdout ---\n{out}\n--- stderr ---\n{err}"


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def database_url(database_server_url: str) -> Iterator[str]:
    """The e2e server's throwaway database, for tests that check what it stored."""
    with throwaway_database(database_server_url, "cityhive_e2e") as url:
        yield url


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app serving a throwaway database on a free port; yields its base URL."""
    work_dir = tmp_path_factory.mktemp("e2e_server")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SECRET_KEY": random_secret(),
        "DEMO_DATA": "false",
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(work_dir / "data"),
        "PYTHONUNBUFFERED": "1",
        "PUSH_CHECK_SECONDS": "1",  # notifications queued within a second (tests/e2e/test_push.py)
        "WORKERS": "1",  # one process per test worker; tests/unit/test_server.py tries several
    }
    with (
        (work_dir / "server.stdout").open("wb") as stdout,
        (work_dir / "server.stderr").open("wb") as stderr,
    ):
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            wait_until_ready(process, base_url, lambda: server_output(work_dir))
            yield base_url
            if process.poll() is not None:
                pytest.fail(
                    f"the server exited with code {process.returncode} during the tests\n"
                    + server_output(work_dir),
                    pytrace=False,
                )
        finally:
            stop(process)


@pytest.fixture(scope="package")
def browser(server: str) -> Iterator[Browser]:
    """Headless Chromium: the system's headless shell (Debian's chromium-headless-shell: the same
    engine without the browser around it, which Playwright runs headless by default; it took half
    the CPU of chromium --headless for the same pages), else the system chromium, else
    Playwright's own build.

    While Playwright's sync API is started, its event loop counts as running in this thread, so
    asyncio.run() and async tests fail. Hence it depends on `server`, whose database set-up runs
    asyncio.run(), so that pytest sets that up first; and it lives for this package only:
    pytest stops it after the last e2e test it runs in a row, so unit tests run before, after or
    (under pytest-xdist, one file at a time) between e2e files get the thread's loop back.
    """
    playwright = sync_playwright().start()
    try:
        system_chromium = (
            shutil.which("chromium-headless-shell")
            or shutil.which("chromium")
            or shutil.which("chromium-browser")
        )
        options: dict[str, object] = {"headless": True, "args": CHROMIUM_ARGS}
        if system_chromium:
            options["executable_path"] = system_chromium
        chromium = playwright.chromium.launch(**options)  # type: ignore[arg-type]
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


class PageProblems:
    """What went wrong in a context's pages that the user might not see: console errors,
    uncaught exceptions, requests to other origins."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.blocked: list[str] = []
        self.tiles = 0

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not EXPECTED_CONSOLE_ERRORS.match(message.text):
            location = message.location
            where = f" ({location['url']}:{location['lineNumber']})" if location.get("url") else ""
            self.console_errors.append(message.text + where)

    def on_page_error(self, error: object) -> None:
        self.page_errors.append(str(error))

    def route(self, route: Route) -> None:
        url = route.request.url
        if origin_of(url) == self.origin:
            route.continue_()
        elif urlsplit(url).hostname == TILE_HOST:
            self.tiles += 1
            route.fulfill(status=200, content_type="image/png", body=TILE_PNG)
        else:
            self.blocked.append(url)
            route.abort()

    def report(self) -> str:
        lines = []
        lines += [f"console error: {text}" for text in self.console_errors]
        lines += [f"page error: {text}" for text in self.page_errors]
        lines += [f"request to another origin (aborted): {url}" for url in self.blocked]
        return "\n".join(lines)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture
def open_page(browser: Browser, server: str) -> Iterator[Callable[..., Page]]:
    """Open a page in a new browser context: open_page(viewport=PHONE, javascript=True).

    At teardown the contexts are closed, and the test fails if a page logged a console error,
    threw an uncaught error or tried to reach another origin.
    """
    opened: list[tuple[BrowserContext, PageProblems]] = []

    def open_(viewport: dict[str, int] = PHONE, *, javascript: bool = True) -> Page:
        context = browser.new_context(
            base_url=server,
            viewport=viewport,
            java_script_enabled=javascript,
            locale="en-GB",
        )
        problems = PageProblems(origin_of(server))
        opened.append((context, problems))
        context.route("**/*", problems.route)
        context.on("console", problems.on_console)
        context.on("weberror", lambda web_error: problems.on_page_error(web_error.error))
        return context.new_page()

    yield open_

    reports = []
    for context, problems in opened:
        context.close()
        if report := problems.report():
            reports.append(report)
    if reports:
        pytest.fail("the browser reported problems:\n" + "\n".join(reports), pytrace=False)


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """A phone-sized page with JavaScript on."""
    return open_page(PHONE)


@pytest.fixture
def desktop_page(open_page: Callable[..., Page]) -> Page:
    """A desktop-sized page with JavaScript on."""
    return open_page(DESKTOP)


@pytest.fixture
def no_js_page(open_page: Callable[..., Page]) -> Page:
    """A phone-sized page with JavaScript off: plain links, plain forms."""
    return open_page(PHONE, javascript=False)

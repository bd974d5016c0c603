"""The field log without a signal, in Chromium: a beekeeper opens the app online, loses the
connection, opens a hive seen before, records two inspections and a harvest, and sees the badge
count them; back online, everything arrives once: the badge reaches 0 and the database holds
exactly those records. The same when the server fails the first attempt, when the page is closed
before the connection comes back, when an answer is lost on the way (the record is sent again
and stored once), when the server refuses a record (the user fixes it), when the session expired
meanwhile (the user logs in, the records wait) and when the phone's storage is full.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.e2e import test_pwa
from tests.e2e.journeys import PASSWORD, fill_log_in, nav, sign_up_from_home, unique_email
from tests.e2e.test_pwa import (
    OFFLINE_ERRORS,
    add_hive,
    heading,
    wait_for_the_worker,
    wait_until_saved,
)

pytestmark = pytest.mark.e2e
app_page = test_pwa.app_page  # the same fixture: a page that may go offline

HIVE = "Rooftop One"
RECORD_POSTS = re.compile(r"/hives/\d+/inspections$|/harvests$")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SERVER_FAILED = re.compile(OFFLINE_ERRORS.pattern + r"|status of 500\b")
SYNC_TIMEOUT_MS = 20_000  # a retry waits 2 s, then 4 s, ...


def beside_playwright[T](work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in another thread: Playwright's event loop runs in this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


def stored_records(database_url: str, hive_id: int) -> dict[str, list[Any]]:
    """What the database holds for the hive: frames of bees of each recorded inspection, kg of
    each harvest share."""

    async def query() -> dict[str, list[Any]]:
        connection = await asyncpg.connect(database_url)
        try:
            inspections = await connection.fetch(
                "SELECT frames_of_bees FROM inspections"
                " WHERE hive_id = $1 AND done_at IS NOT NULL ORDER BY id",
                hive_id,
            )
            harvests = await connection.fetch(
                "SELECT kg FROM harvest_shares WHERE hive_id = $1 ORDER BY harvest_id", hive_id
            )
        finally:
            await connection.close()
        return {
            "inspections": [row["frames_of_bees"] for row in inspections],
            "harvests": [row["kg"] for row in harvests],
        }

    return beside_playwright(query())


# --- steps ------------------------------------------------------------------------------------


def badge_count(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("[data-outbox-badge] [data-outbox-count]")


def waiting_items(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#timeline .timeline-item--waiting")


def online_with_a_hive_seen(page: Page) -> int:
    """Signed up, the worker in control, a hive added and its page, its forms and the hive list
    saved for offline use; returns the hive's id."""
    sign_up_from_home(page, name="Ada", email=unique_email())
    wait_for_the_worker(page)
    hive_id = add_hive(page, HIVE)
    nav(page).get_by_role("link", name="Hives").click()
    expect(heading(page)).to_have_text("Your hives")
    wait_until_saved(
        page,
        [
            "/hives",
            f"/hives/{hive_id}",
            f"/hives/{hive_id}/inspections/new",
            f"/harvests/new?hive={hive_id}",
        ],
    )
    return hive_id


def record_inspection(page: Page, frames: str, count: int) -> None:
    page.get_by_role("link", name="Record inspection").click()
    expect(heading(page)).to_contain_text(HIVE)
    page.get_by_label("Frames covered with bees").fill(frames)
    page.get_by_role("button", name="Save inspection").click()
    expect(heading(page)).to_have_text(HIVE)  # back on the hive's page
    expect(badge_count(page)).to_have_text(str(count))


def record_harvest(page: Page, kg: str, count: int) -> None:
    page.get_by_role("link", name="Log harvest").click()
    page.get_by_label("Honey (kg)").fill(kg)
    page.get_by_role("button", name="Save harvest").click()
    expect(heading(page)).to_have_text(HIVE)
    expect(badge_count(page)).to_have_text(str(count))


def offline_two_inspections_and_a_harvest(page: Page, hive_id: int, database_url: str) -> None:
    page.context.set_offline(True)
    page.reload()  # the hive list, from the copy saved on the phone
    expect(heading(page)).to_have_text("Your hives")
    page.get_by_role("link", name=HIVE).first.click()
    expect(heading(page)).to_have_text(HIVE)
    expect(page.locator("[data-outbox-badge]")).to_be_hidden()

    record_inspection(page, "7", 1)
    expect(page.locator("#alerts")).to_contain_text("Saved on this phone: Inspection · Rooftop One")
    record_inspection(page, "8", 2)
    record_harvest(page, "12.5", 3)

    badge = page.locator("[data-outbox-badge]")
    expect(badge).to_be_visible()
    expect(badge).to_have_text(re.compile(r"^\s*3\s+waiting to sync\s*$"))
    expect(waiting_items(page)).to_have_count(3)
    expect(waiting_items(page).first).to_contain_text("Harvest · Rooftop One")
    expect(waiting_items(page).nth(1)).to_contain_text("Inspection · Rooftop One")
    expect(waiting_items(page).nth(2)).to_contain_text("waiting to sync")
    assert stored_records(database_url, hive_id) == {"inspections": [], "harvests": []}


def expect_all_arrived_once(page: Page, hive_id: int, database_url: str) -> None:
    expect(badge_count(page)).to_have_text("0", timeout=SYNC_TIMEOUT_MS)
    expect(page.locator("[data-outbox-badge]")).to_be_hidden()
    expect(waiting_items(page)).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("7 frames of bees")
    expect(page.locator("#timeline")).to_contain_text("8 frames of bees")
    expect(page.locator("#timeline")).to_contain_text("12.50 kg")
    assert stored_records(database_url, hive_id) == {
        "inspections": [7, 8],
        "harvests": [Decimal("12.50")],
    }


class SyncRequests:
    """Watches (and, if asked, spoils) the outbox's POSTs of records on their way to the server."""

    def __init__(self, spoil: Callable[[Route, int], bool] | None = None) -> None:
        self.spoil = spoil
        self.seen: list[dict[str, str]] = []  # the headers of each
        self.urls: list[str] = []

    def __call__(self, route: Route) -> None:
        request = route.request
        if request.method != "POST":
            route.fallback()
            return
        self.seen.append(request.headers)
        self.urls.append(request.url)
        if self.spoil is None or not self.spoil(route, len(self.seen)):
            route.fallback()

    def watch(self, context: BrowserContext) -> SyncRequests:
        context.route(RECORD_POSTS, self)
        return self


# --- the journeys ---------------------------------------------------------------------


def test_recorded_offline_then_everything_arrives_once_back_online(
    app_page: Callable[..., Page], database_url: str
) -> None:
    page = app_page()
    hive_id = online_with_a_hive_seen(page)
    offline_two_inspections_and_a_harvest(page, hive_id, database_url)
    sent = SyncRequests().watch(page.context)

    page.context.set_offline(False)
    expect_all_arrived_once(page, hive_id, database_url)
    expect(page.locator("#alerts")).to_contain_text("3 records saved on this phone were sent.")
    keys = [headers["idempotency-key"] for headers in sent.seen]
    assert len(keys) == len(set(keys)) == 3, keys  # each record its own key, made on the phone
    assert all(UUID.fullmatch(key) for key in keys)
    assert all(headers["cityhive-sync"] == "outbox" for headers in sent.seen)
    paths = [re.sub(r"\d+", "N", url.split("/", 3)[3]) for url in sent.urls]
    assert paths == ["hives/N/inspections", "hives/N/inspections", "harvests"]  # in order


def test_a_server_error_on_the_first_attempt_is_retried(
    app_page: Callable[..., Page], database_url: str
) -> None:
    page = app_page(allowed=SERVER_FAILED)
    hive_id = online_with_a_hive_seen(page)
    offline_two_inspections_and_a_harvest(page, hive_id, database_url)

    def fail_first(route: Route, number: int) -> bool:
        if number == 1:
            route.fulfill(
                status=500, content_type="text/html", body="<h1>Something went wrong</h1>"
            )
            return True
        return False

    sent = SyncRequests(fail_first).watch(page.context)
    with page.expect_response(lambda response: response.status == 500):
        page.context.set_offline(False)
    expect(badge_count(page)).to_have_text("3")  # nothing lost, nothing sent out of order
    page.locator("[data-outbox-badge]").click()
    expect(page.locator("[data-outbox-status]")).to_contain_text("The server answered 500")
    expect_all_arrived_once(page, hive_id, database_url)
    first_key = sent.seen[0]["idempotency-key"]
    assert sent.seen[1]["idempotency-key"] == first_key  # the same record again, first in line
    assert len(sent.seen) == 4


def test_records_wait_while_the_app_is_closed_and_go_when_it_opens(
    app_page: Callable[..., Page], database_url: str
) -> None:
    page = app_page()
    hive_id = online_with_a_hive_seen(page)
    offline_two_inspections_and_a_harvest(page, hive_id, database_url)
    context = page.context
    page.close()

    context.set_offline(False)
    reopened = context.new_page()
    reopened.goto(f"/hives/{hive_id}")
    expect(heading(reopened)).to_have_text(HIVE)
    expect_all_arrived_once(reopened, hive_id, database_url)


def test_background_sync_sends_the_records_with_no_page_open(
    app_page: Callable[..., Page], database_url: str, server: str
) -> None:
    """The browser fires Background Sync when the connection is back, even with the app closed:
    the service worker then sends the outbox itself, with a CSRF token it fetches. Chromium
    decides when to fire it; DevTools fires it now."""
    page = app_page()
    hive_id = offline_one_inspection(page, "6")
    page.goto("about:blank")  # no page of the app open
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    poll_until(page, lambda: bool(registrations))

    page.context.set_offline(False)
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": server,
            "registrationId": registrations[0]["registrationId"],
            "tag": "cityhive-outbox",
            "lastChance": False,
        },
    )
    poll_until(page, lambda: stored_records(database_url, hive_id)["inspections"] == [6])
    page.goto(f"/hives/{hive_id}")
    expect(page.locator("#timeline")).to_contain_text("6 frames of bees")
    expect(waiting_items(page)).to_have_count(0)
    expect(page.locator("[data-outbox-badge]")).to_be_hidden()


def poll_until(page: Page, check: Callable[[], bool], seconds: float = 20) -> None:
    """Until check() is true; the page's timer lets Playwright deliver its events meanwhile."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "still not true after {seconds} s"
        page.wait_for_timeout(200)


# --- faults -----------------------------------------------------------------------------------


def offline_one_inspection(page: Page, frames: str) -> int:
    hive_id = online_with_a_hive_seen(page)
    page.context.set_offline(True)
    page.get_by_role("link", name=HIVE).first.click()
    record_inspection(page, frames, 1)
    return hive_id


def test_a_record_whose_answer_was_lost_is_sent_again_and_stored_once(
    app_page: Callable[..., Page], database_url: str
) -> None:
    page = app_page(allowed=re.compile(OFFLINE_ERRORS.pattern + r"|net::ERR_CONNECTION_RESET"))
    hive_id = offline_one_inspection(page, "6")

    def lose_first_answer(route: Route, number: int) -> bool:
        if number == 1:
            route.fetch()  # the server stores it and answers ...
            route.abort("connectionreset")  # ... and the answer never arrives
            return True
        return False

    sent = SyncRequests(lose_first_answer).watch(page.context)
    page.context.set_offline(False)
    expect(badge_count(page)).to_have_text("0", timeout=SYNC_TIMEOUT_MS)
    assert len(sent.seen) == 2
    assert sent.seen[0]["idempotency-key"] == sent.seen[1]["idempotency-key"]
    assert stored_records(database_url, hive_id) == {"inspections": [6], "harvests": []}


def test_a_record_the_server_refuses_is_shown_to_fix_and_then_sent(
    app_page: Callable[..., Page], database_url: str
) -> None:
    page = app_page()  # a 422 is the page working (conftest's EXPECTED_CONSOLE_ERRORS)
    hive_id = offline_one_inspection(page, "lots")

    page.context.set_offline(False)
    expect(page.locator("#alerts")).to_contain_text("The server could not take 1 saved record")
    expect(badge_count(page)).to_have_text("1")  # kept, never silently dropped
    expect(waiting_items(page)).to_contain_text("needs fixing")
    panel = page.locator("#outbox-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".error").first).not_to_be_empty()

    panel.get_by_role("button", name="Fix it").click()
    frames = panel.get_by_label("Frames covered with bees")
    expect(frames).to_have_value("lots")
    frames.fill("9")
    panel.get_by_role("button", name="Save inspection").click()
    expect(badge_count(page)).to_have_text("0", timeout=SYNC_TIMEOUT_MS)
    assert stored_records(database_url, hive_id) == {"inspections": [9], "harvests": []}


def test_an_expired_session_asks_for_a_log_in_and_keeps_the_records(
    app_page: Callable[..., Page], database_url: str
) -> None:
    page = app_page(allowed=re.compile(OFFLINE_ERRORS.pattern + r"|status of 403\b"))
    email = unique_email()
    sign_up_from_home(page, name="Ada", email=email)
    wait_for_the_worker(page)
    hive_id = add_hive(page, HIVE)
    wait_until_saved(page, [f"/hives/{hive_id}/inspections/new"])
    page.context.set_offline(True)
    record_inspection(page, "5", 1)

    page.context.clear_cookies()  # the session ended while the phone was offline
    page.context.set_offline(False)
    alert = page.locator("#alerts")
    expect(alert).to_contain_text("Log in to send the 1 record saved on this phone.")
    expect(badge_count(page)).to_have_text("1")
    assert stored_records(database_url, hive_id) == {"inspections": [], "harvests": []}

    alert.get_by_role("link", name="Log in").click()
    expect(heading(page)).to_have_text("Log in")
    fill_log_in(page, email=email, password=PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(heading(page)).to_have_text(HIVE)  # back where the user was
    expect(alert).to_contain_text("1 record saved on this phone was sent.")
    expect(badge_count(page)).to_have_text("0")
    assert stored_records(database_url, hive_id) == {"inspections": [5], "harvests": []}


def test_a_full_phone_says_the_record_was_not_saved_and_keeps_the_form(
    app_page: Callable[..., Page],
) -> None:
    page = app_page()
    hive_id = online_with_a_hive_seen(page)
    # The phone's storage is full: IndexedDB refuses every new record, as browsers do then.
    page.add_init_script(
        """IDBObjectStore.prototype.add = function () {
             throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };"""
    )
    page.context.set_offline(True)
    page.goto(f"/hives/{hive_id}/inspections/new")
    page.get_by_label("Frames covered with bees").fill("4")
    page.get_by_role("button", name="Save inspection").click()
    expect(page.locator("#alerts")).to_contain_text(
        "This phone could not save the record (QuotaExceededError), so it was not recorded."
    )
    expect(page.get_by_label("Frames covered with bees")).to_have_value("4")
    expect(page.locator("[data-outbox-badge]")).to_be_hidden()


# --- item 4: records belong to the account that wrote them --------------------------------------

OTHERS = "[data-outbox-others]"


def ada_writes_offline_then_bo_takes_the_phone(page: Page) -> tuple[int, str]:
    """Ada records an inspection offline; her session ends without Log-out; Bo signs up on the
    same phone. Returns Ada's hive id and email."""
    ada = unique_email()
    sign_up_from_home(page, name="Ada", email=ada)
    wait_for_the_worker(page)
    hive_id = add_hive(page, HIVE)
    wait_until_saved(page, [f"/hives/{hive_id}/inspections/new"])
    page.context.set_offline(True)
    record_inspection(page, "5", 1)
    page.context.clear_cookies()  # Ada's session ended (expiry, cleared cookies), no Log-out
    page.context.set_offline(False)
    sign_up_from_home(page, name="Bo", email=unique_email("bo"))
    return hive_id, ada


def test_item4_a_record_is_held_for_its_writer_never_sent_as_another_user(
    app_page: Callable[..., Page], database_url: str
) -> None:
    page = app_page(allowed=re.compile(OFFLINE_ERRORS.pattern + r"|status of 40[13]\b"))
    posts = SyncRequests().watch(page.context)
    hive_id, ada = ada_writes_offline_then_bo_takes_the_phone(page)

    notice = page.locator(OTHERS)
    expect(notice).to_contain_text(
        "1 record written by another account is waiting on this phone. "
        "Log in as that account to send it, or discard it."
    )
    expect(page.locator("[data-outbox-badge]")).to_be_hidden()  # Bo's own: none
    expect(page.get_by_text("Inspection · Rooftop One")).to_have_count(0)  # never what it is
    page.reload()  # a new page, a new try at sending: still held
    expect(notice).to_be_visible()
    assert posts.urls == []
    assert stored_records(database_url, hive_id) == {"inspections": [], "harvests": []}

    page.context.clear_cookies()  # Bo's turn ends too; Ada logs in again
    page.goto("/login")
    expect(notice).to_contain_text("waiting for the account that wrote it")
    fill_log_in(page, email=ada, password=PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#alerts")).to_contain_text("1 record saved on this phone was sent.")
    expect(notice).to_be_hidden()
    assert len(posts.urls) == 1
    assert stored_records(database_url, hive_id) == {"inspections": [5], "harvests": []}


def test_item4_another_accounts_records_can_be_discarded_after_a_warning(
    app_page: Callable[..., Page], database_url: str
) -> None:
    page = app_page(allowed=re.compile(OFFLINE_ERRORS.pattern + r"|status of 40[13]\b"))
    hive_id, ada = ada_writes_offline_then_bo_takes_the_phone(page)

    notice = page.locator(OTHERS)
    discard = notice.get_by_role("button", name="Discard it")
    discard.click()
    expect(notice).to_be_visible()  # nothing gone yet: the button asks again
    notice.get_by_role("button", name="Press again to discard 1 record for good").click()
    expect(page.locator("#alerts")).to_contain_text("1 record of another account was discarded.")
    expect(notice).to_be_hidden()

    page.context.clear_cookies()
    page.goto("/login")
    fill_log_in(page, email=ada, password=PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(nav(page).get_by_role("link", name="Hives")).to_be_visible()
    expect(page.locator("[data-outbox-badge]")).to_be_hidden()
    assert stored_records(database_url, hive_id) == {"inspections": [], "harvests": []}

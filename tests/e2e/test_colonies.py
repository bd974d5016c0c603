"""Colonies on a phone: a colony in a new hive, split, the daughter requeened, both on the
family tree (with JavaScript and as plain forms); a claimed city swarm captured into a new hive,
the report closed and linked from the colony; the QR tag sheet printed, and a tag's URL opened
offline; an event recorded offline, stored once back online."""

from __future__ import annotations

import re
from collections.abc import Callable

import asyncpg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e import test_pwa
from tests.e2e.journeys import sign_up_from_home, submit, unique_email
from tests.e2e.test_field_log import today_in_berlin
from tests.e2e.test_hives import add_hive_by_typing
from tests.e2e.test_offline import badge_count, beside_playwright
from tests.e2e.test_swarms import ALEXANDERPLATZ, STATUS_PATH, become_collector, expect_stage

pytestmark = pytest.mark.e2e

app_page = test_pwa.app_page  # the same fixture: a page that may go offline


def split_and_requeen_the_daughter(page: Page, *, plain: bool) -> None:
    sign_up_from_home(page, name="Ada", email=unique_email(), plain_form=plain)
    hive_id = add_hive_by_typing(page, "Linden", "52.5301", "13.4012")
    expect(page.locator("#colony-panel-title + p")).to_have_text("No living colony in this hive.")
    page.get_by_role("link", name="New colony").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New colony · Linden")
    submit(page, page.get_by_role("button", name="Save"), plain_form=plain, lands_on=None)
    expect(page.get_by_role("heading", level=1)).to_have_text("Linden")
    expect(page).to_have_url(re.compile(r"/colonies/\d+$"))

    page.get_by_role("link", name="Split", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Split · Linden")
    form = page.locator("#colony-event-form")
    expect(form.get_by_label("Date")).to_have_value(today_in_berlin(page))
    form.get_by_label("Or a new hive named").fill("Linden II")
    form.get_by_label("Frames of brood taken").fill("3")
    submit(page, form.get_by_role("button", name="Save"), plain_form=plain, lands_on=None)
    descendants = page.get_by_role("list", name="Gave rise to")
    expect(descendants).to_contain_text("Linden II")
    expect(descendants).to_contain_text("Split")

    descendants.get_by_role("link", name="Linden II").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Linden II")
    page.get_by_role("link", name="Requeen", exact=True).click()
    form = page.locator("#colony-event-form")
    year = today_in_berlin(page)[:4]
    expect(form.get_by_label("Year of birth")).to_have_value(year)
    form.get_by_label("Marked").check()
    form.get_by_label("Race or line").fill("Carnica")
    submit(page, form.get_by_role("button", name="Save"), plain_form=plain, lands_on=None)
    expect(page.locator("#current-queen")).to_contain_text(f"Born {year}")
    expect(page.locator("#current-queen")).to_contain_text("marked · Carnica")
    ancestors = page.get_by_role("list", name="Came from")
    expect(ancestors.get_by_role("link", name="Linden", exact=True)).to_be_visible()

    # The apiary's lineages hold both, the daughter below her mother.
    page.goto("/colonies")
    lineages = page.get_by_role("list", name="Lineages")
    expect(lineages.locator("li li").get_by_role("link", name="Linden II")).to_be_visible()
    # And the mother's hive shows the split on its timeline.
    page.goto(f"/hives/{hive_id}")
    expect(page.locator("#timeline")).to_contain_text("Linden into Linden II")


def test_split_a_colony_and_requeen_the_daughter(page: Page) -> None:
    split_and_requeen_the_daughter(page, plain=False)


def test_split_a_colony_and_requeen_the_daughter_without_javascript(no_js_page: Page) -> None:
    split_and_requeen_the_daughter(no_js_page, plain=True)


def test_a_claimed_city_swarm_is_captured_into_a_new_hive_and_the_report_closed(
    open_page: Callable[..., Page],
) -> None:
    ada = open_page()
    sign_up_from_home(ada, name="Ada", email=unique_email("ada"))
    become_collector(ada, *ALEXANDERPLATZ)

    visitor = open_page()
    visitor.goto("/swarms/report")
    visitor.get_by_label("Latitude").fill("52.530000")
    visitor.get_by_label("Longitude").fill("13.410000")
    visitor.get_by_label("Describe it").fill("On the lime tree by the school.")
    visitor.get_by_label("Your phone or email").fill("+49 30 7654321")
    visitor.get_by_role("button", name="Send report").click()
    expect(visitor).to_have_url(STATUS_PATH)
    status_link = visitor.url

    ada.goto("/")
    ada.locator("#swarm-reports").get_by_role("button", name=re.compile("^Claim")).click()
    expect(ada.get_by_role("heading", level=1)).to_have_text("Swarm report")
    report_path = re.sub(r"^https?://[^/]+", "", ada.url)

    hive_id = add_hive_by_typing(ada, "Catch box", "52.5300", "13.4100")
    ada.goto(f"/hives/{hive_id}")
    ada.locator(".colony-panel").get_by_role("link", name="Swarm captured").click()
    expect(ada.get_by_role("heading", level=1)).to_have_text("Swarm captured · Catch box")
    reports = ada.get_by_label("City swarm report")
    expect(reports.locator("option").nth(1)).to_contain_text("On the lime tree by the school.")
    reports.select_option(index=1)
    ada.get_by_label("Colony name").fill("School swarm")
    ada.get_by_role("button", name="Save").click()
    expect(ada.get_by_role("heading", level=1)).to_have_text("School swarm")
    link = ada.get_by_role("link", name=re.compile("city swarm report #"))
    expect(link).to_have_attribute("href", report_path)

    link.click()
    expect(ada.locator("[data-stage]")).to_have_text("Collected")
    visitor.goto(status_link)
    expect_stage(visitor, "Collected")


def test_the_qr_sheet_prints_and_a_tags_url_opens_offline(app_page: Callable[..., Page]) -> None:
    page = app_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    test_pwa.wait_for_the_worker(page)
    north = add_hive_by_typing(page, "North", "52.5301", "13.4012")
    south = add_hive_by_typing(page, "South", "52.5302", "13.4013")
    page.goto("/colonies")
    page.get_by_role("link", name="QR tags for your hives").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("QR tags for your hives")
    labels = page.locator(".tag-label")
    expect(labels).to_have_count(2)
    expect(labels.locator("svg")).to_have_count(2)

    # Printed: only the labels, three to a row of an A4 page.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".tag-sheet .hint")).to_be_hidden()
    expect(labels.first).to_be_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")

    # The sheet saved each hive's inspection form for offline use: a scanned tag opens it.
    paths = [f"/hives/{hive}/inspections/new" for hive in (north, south)]
    test_pwa.wait_until_saved(page, paths)
    page.context.set_offline(True)
    page.goto(labels.nth(1).locator("a").get_attribute("href") or "")
    expect(page.get_by_role("heading", level=1)).to_contain_text("South")
    expect(page.locator("#inspection-form")).to_be_visible()
    page.context.set_offline(False)


def test_a_colony_event_recorded_offline_is_stored_once_back_online(
    app_page: Callable[..., Page], database_url: str
) -> None:
    """The colony's event forms are the outbox's: a requeening recorded at the hive without a
    signal waits on the phone, and arrives once when the connection comes back."""
    page = app_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    test_pwa.wait_for_the_worker(page)
    hive_id = test_pwa.add_hive(page, "Linden")
    page.get_by_role("link", name="New colony").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New colony · Linden")
    submit(page, page.get_by_role("button", name="Save"), plain_form=False, lands_on=None)
    expect(page).to_have_url(re.compile(r"/colonies/\d+$"))
    colony_id = int(page.url.rsplit("/", 1)[1])
    page.goto(f"/hives/{hive_id}")
    test_pwa.wait_until_saved(page, [f"/hives/{hive_id}", f"/colonies/{colony_id}/requeen"])

    page.context.set_offline(True)
    page.reload()
    page.get_by_role("link", name="Requeen", exact=True).click()
    form = page.locator("#colony-event-form")
    form.get_by_label("Race or line").fill("Carnica")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#alerts")).to_contain_text("Saved on this phone: Requeen · Linden")
    expect(badge_count(page)).to_have_text("1")

    page.context.set_offline(False)
    expect(badge_count(page)).to_have_text("0", timeout=20_000)
    stored = beside_playwright(
        fetch(
            database_url,
            "SELECT kind::text, queens.race FROM colony_events"
            " LEFT JOIN queens ON queens.colony_id = colony_events.colony_id"
            " WHERE colony_events.colony_id = $1 AND kind = 'requeen'",
            colony_id,
        )
    )
    assert [tuple(row) for row in stored] == [("requeen", "Carnica")]
    page.goto(f"/colonies/{colony_id}")
    expect(page.locator("#current-queen")).to_contain_text("Carnica")


async def fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()

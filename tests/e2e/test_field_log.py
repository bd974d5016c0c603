"""The field log as a beekeeper uses it on a phone: schedule, see it due, record, harvest.

Each journey runs with JavaScript (htmx swapping in place) and once more as plain forms.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import nav, sign_up_from_home, submit, unique_email
from tests.e2e.test_hives import add_hive_by_typing

pytestmark = pytest.mark.e2e


def today_in_berlin(page: Page) -> str:
    """The date the server calls today (the city's zone), as the date inputs show it."""
    value = page.evaluate(
        "() => new Intl.DateTimeFormat('en-CA', {timeZone: 'Europe/Berlin'}).format(new Date())"
    )
    assert isinstance(value, str)
    return value


def schedule_for_today(page: Page, hive_id: int, *, plain: bool) -> None:
    page.goto(f"/hives/{hive_id}")
    page.get_by_role("link", name="Schedule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Schedule an inspection"))
    page.get_by_label("Date").fill(today_in_berlin(page))
    page.get_by_label("Note").fill("Look for swarm cells")
    submit(page, page.get_by_role("button", name="Schedule"), plain_form=plain, lands_on=None)
    expect(page.locator("#timeline")).to_contain_text("Inspection planned: Look for swarm cells")


def record_checklist(page: Page, *, plain: bool) -> None:
    """The checklist with gloves on: taps on big choices, a few numbers."""
    form = page.locator("#inspection-form")
    form.get_by_label("Frames covered with bees").fill("9")
    form.get_by_role("group", name="Queen seen").get_by_label("Yes").check()
    form.get_by_role("group", name="Eggs seen").get_by_label("Yes").check()
    form.get_by_role("group", name="Temperament").get_by_label("Calm").check()
    form.get_by_role("group", name="Queen cells").get_by_label("Swarm cells").check()
    form.get_by_label("How many queen cells").fill("3")
    form.get_by_label("Mites counted").fill("12")
    form.get_by_label("Method").select_option(label="Sugar roll")
    form.get_by_label("Sample size").fill("300")
    form.get_by_label("Hive weight (kg)").fill("43,5")
    form.get_by_role("group", name="Actions").get_by_label("Super added").check()
    form.get_by_label("Next inspection").fill("")
    submit(
        page, form.get_by_role("button", name="Save inspection"), plain_form=plain, lands_on=None
    )


def field_log_journey(page: Page, *, plain: bool) -> None:
    sign_up_from_home(page, name="Ada", email=unique_email(), plain_form=plain)
    north = add_hive_by_typing(page, "North", "52.5301", "13.4012", site="Roof")
    south = add_hive_by_typing(page, "South", "52.5302", "13.4013", site="Roof")
    schedule_for_today(page, north, plain=plain)

    nav(page).get_by_role("link", name="Home").click()
    due = page.get_by_role("list", name="Inspections due today")
    expect(due).to_contain_text("North")
    due.get_by_role("link", name="Record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inspect North")
    expect(page.get_by_text("Look for swarm cells")).to_be_visible()
    record_checklist(page, plain=plain)

    expect(page.get_by_role("heading", level=1)).to_have_text("North")
    timeline = page.locator("#timeline")
    expect(timeline.locator(".timeline-item").first).to_contain_text("Inspected")
    expect(timeline).to_contain_text("9 frames of bees")
    expect(timeline).not_to_contain_text("Inspection planned")

    nav(page).get_by_role("link", name="Home").click()
    expect(page.get_by_text("Nothing due this week.")).to_be_visible()
    flags = page.locator(".flag-list")
    expect(flags).to_contain_text("North")
    expect(flags).to_contain_text("3 swarm queen cells")
    expect(flags).to_contain_text("Varroa 4 per 100 bees")

    # In place: schedule South for today, then mark it done from Today.
    schedule_for_today(page, south, plain=plain)
    nav(page).get_by_role("link", name="Home").click()
    due = page.get_by_role("list", name="Inspections due today")
    expect(due).to_contain_text("South")
    url_before = page.url
    submit(page, due.get_by_role("button", name="Mark done"), plain_form=plain, lands_on="/")
    expect(page.get_by_text("Nothing due this week.")).to_be_visible()
    assert page.url == url_before

    # A harvest over both hives, shared by weight.
    nav(page).get_by_role("link", name="Harvests").click()
    page.get_by_role("link", name="Log a harvest").first.click()
    form = page.locator("#harvest-form")
    form.get_by_role("checkbox", name="North").check()
    form.get_by_role("checkbox", name="South").check()
    form.get_by_role("group", name="How the honey is shared").get_by_label("By weight").check()
    form.get_by_label("kg from North").fill("12.5")
    form.get_by_label("kg from South").fill("8")
    form.get_by_label("Moisture (%)").fill("17.2")
    form.get_by_label("Honey kind or colour").fill("Lime")
    submit(page, form.get_by_role("button", name="Save harvest"), plain_form=plain, lands_on=None)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Harvest of"))
    expect(page.get_by_text("20.50 kg").first).to_be_visible()

    nav(page).get_by_role("link", name="Harvests").click()
    expect(page.get_by_text("20.50 kg this season")).to_be_visible()
    per_hive = page.get_by_role("table", name="Per hive")
    expect(per_hive.get_by_role("row", name="North")).to_contain_text("12.50 kg")
    expect(per_hive.get_by_role("row", name="South")).to_contain_text("8.00 kg")
    nav(page).get_by_role("link", name="Home").click()
    expect(page.get_by_text(re.compile(r"20\.50 kg\s*of honey from 1 harvest"))).to_be_visible()


def test_the_field_log_on_a_phone(page: Page) -> None:
    field_log_journey(page, plain=False)


def test_the_field_log_without_javascript(no_js_page: Page) -> None:
    field_log_journey(no_js_page, plain=True)


def test_a_checklist_mistake_is_shown_beside_the_field_and_kept(page: Page) -> None:
    sign_up_from_home(page, name="Ada", email=unique_email())
    hive = add_hive_by_typing(page, "North", "52.5301", "13.4012")
    page.goto(f"/hives/{hive}/inspections/new")
    form = page.locator("#inspection-form")
    form.get_by_label("Mites counted").fill("7")
    form.get_by_label("Notes").fill("Calm, good stores")
    form.get_by_role("button", name="Save inspection").click()
    expect(page.get_by_role("alert")).to_contain_text("Say how the mites were counted")
    expect(form.get_by_label("Notes")).to_have_value("Calm, good stores")
    form.get_by_label("Method").select_option(label="Alcohol wash")
    form.get_by_role("button", name="Save inspection").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("North")
    expect(page.locator("#timeline .timeline-item")).to_have_count(3)  # inspected, next, added

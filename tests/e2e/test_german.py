"""CityHive for a German beekeeper, in Chromium set to German (locale de-DE, Accept-Language de):
she signs up, adds a hive typing its coordinates with decimal commas, records an inspection on
the roof without a signal and sees the outbox badge count it, sees it sent once she is back
online, then gives the hive a scale whose readings raise a swarm alert. Every step is in German,
with German dates (7. Dezember 2026) and decimal commas (38,50 kg).

The German is read from the catalogue (translations/de/LC_MESSAGES/messages.po) by the English
message it translates, so the test follows the translators' words and fails where a page shows
the English instead. The steps and their checks are test_offline.py's and test_sensors.py's.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from babel.messages.catalog import Catalog
from playwright.sync_api import Browser, Locator, Page, expect

from app import catalogues
from app.settings import Settings
from app.web import i18n
from tests.e2e.conftest import PHONE, origin_of
from tests.e2e.journeys import PASSWORD, unique_email
from tests.e2e.test_offline import badge_count, waiting_items
from tests.e2e.test_pwa import (
    OFFLINE_ERRORS,
    AppProblems,
    heading,
    wait_for_the_worker,
    wait_until_saved,
)
from tests.e2e.test_sensors import post_weights

pytestmark = pytest.mark.e2e

HIVE = "Linde"
SYNC_TIMEOUT_MS = 20_000


@functools.cache
def german() -> Catalog:
    return catalogues.read(catalogues.catalogue_path("de"), "de")


def in_german(message: str) -> None:
    """Fails unless the catalogue translates `message` (a singular message, or a plural's
    singular), neither empty nor fuzzy."""
    found = german().get(message)
    assert found is not None, f"the catalogue has no {message!r}"
    strings = found.string if isinstance(found.string, tuple) else (found.string,)
    assert all(strings), f"the catalogue has no German for {message!r}"
    assert not found.fuzzy, f"the German for {message!r} is fuzzy"


def de(message: str, **variables: object) -> str:
    """The German a page shows for an English message, its placeholders filled as a template
    fills them."""
    in_german(message)
    i18n.use("de")
    return i18n.translate(message) % variables


def de_plural(singular: str, plural: str, n: int, **variables: object) -> str:
    """The German for `n` of a plural message, %(num)s being n."""
    in_german(singular)
    i18n.use("de")
    return i18n.plural(singular, plural, n) % {"num": n, **variables}


def de_pattern(singular: str, plural: str, n: int, **patterns: str) -> re.Pattern[str]:
    """The German for `n` of a plural message, as a pattern: each placeholder matches what
    `patterns` says (numbers the page computed), %(num)s is n."""
    in_german(singular)
    i18n.use("de")
    found = re.escape(i18n.plural(singular, plural, n)).replace(r"%\(num\)s", str(n))
    for name, pattern in patterns.items():
        found = found.replace(rf"%\({name}\)s", pattern)
    return re.compile(found)


def german_date(moment: datetime) -> str:
    """The day as the pages write it in German: 7. Dezember 2026."""
    zone = ZoneInfo(os.environ.get("TIME_ZONE", Settings.model_fields["time_zone"].default))
    return format_date(moment.astimezone(zone), "long", locale="de_DE")


@pytest.fixture
def german_page(browser: Browser, server: str) -> Iterator[Page]:
    """A phone whose browser speaks German, which may go offline (test_pwa.py's app_page, in
    German); the test fails at teardown on a console error it did not expect."""
    context = browser.new_context(
        base_url=server,
        viewport=PHONE,
        locale="de-DE",
        extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"},
    )
    problems = AppProblems(origin_of(server), OFFLINE_ERRORS)
    context.route("**/*", problems.route)
    context.on("console", problems.on_console)
    context.on("weberror", lambda web_error: problems.on_page_error(web_error.error))
    yield context.new_page()
    context.close()
    if report := problems.report():
        pytest.fail("the browser reported problems:\n" + report, pytrace=False)


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name=de("Main"))


def expect_german(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "de")


# --- the steps --------------------------------------------------------------------------------


def sign_up(page: Page) -> None:
    page.goto("/")
    expect_german(page)
    expect(heading(page)).to_have_text(de("Beekeeping for the city"))
    nav(page).get_by_role("link", name=de("Sign up")).click()
    expect(heading(page)).to_have_text(de("Create your CityHive account"))
    page.get_by_label(de("Your name")).fill("Ada")
    page.get_by_label(de("Email")).fill(unique_email())
    page.get_by_label(de("Password")).fill(PASSWORD)
    page.get_by_role("button", name=de("Create account")).click()
    expect(nav(page).get_by_role("link", name=de("Profile"))).to_be_visible()
    expect_german(page)


def add_hive(page: Page) -> int:
    """Through the hive form, typing the coordinates with decimal commas, as a German phone's
    keyboard offers them."""
    nav(page).get_by_role("link", name=de("Hives")).click()
    expect(heading(page)).to_have_text(de("Your hives"))
    page.get_by_role("link", name=de("Add a hive")).first.click()
    expect(heading(page)).to_have_text(de("Add a hive"))
    page.get_by_label(de("Name"), exact=True).fill(HIVE)
    page.get_by_label(de("Latitude")).fill("52,5163")
    page.get_by_label(de("Longitude")).fill("13,3777")
    page.get_by_role("button", name=de("Add hive")).click()
    expect(heading(page)).to_have_text(HIVE)
    match = re.search(r"/hives/(\d+)$", page.url)
    assert match, page.url
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text(german_date(datetime.now().astimezone()))  # added today
    return int(match.group(1))


def record_an_inspection_offline(page: Page, hive_id: int) -> None:
    wait_for_the_worker(page)
    wait_until_saved(page, [f"/hives/{hive_id}", f"/hives/{hive_id}/inspections/new"])
    page.context.set_offline(True)
    expect(page.locator("[data-offline-notice]")).to_have_text(
        de("Offline: what you record is kept on this phone.")
    )
    page.get_by_role("link", name=de("Record inspection")).click()
    expect(heading(page)).to_contain_text(HIVE)
    page.get_by_label(de("Frames covered with bees")).fill("7")
    page.get_by_label(de("Hive weight (kg)")).fill("38,5")
    page.get_by_role("button", name=de("Save inspection")).click()

    expect(heading(page)).to_have_text(HIVE)  # back on the hive's page, saved on the phone
    expect(badge_count(page)).to_have_text("1")
    expect(page.locator("[data-outbox-badge]")).to_have_text(
        re.compile(rf"^\s*1\s+{re.escape(de('waiting to sync'))}\s*$")
    )
    label = de("Inspection · %(hive)s", hive=HIVE)
    expect(page.locator("#alerts")).to_contain_text(
        de("Saved on this phone: %(label)s. It will be sent when you are back online.", label=label)
    )
    expect(waiting_items(page)).to_have_count(1)
    expect(waiting_items(page)).to_contain_text(de("waiting to sync"))


def back_online(page: Page) -> None:
    page.context.set_offline(False)
    expect(badge_count(page)).to_have_text("0", timeout=SYNC_TIMEOUT_MS)
    expect(page.locator("[data-outbox-badge]")).to_be_hidden()
    expect(page.locator("#alerts")).to_contain_text(
        de_plural(
            "%(num)s record saved on this phone was sent.",
            "%(num)s records saved on this phone were sent.",
            1,
        )
    )
    timeline = page.locator("#timeline")
    expect(waiting_items(page)).to_have_count(0)
    recorded = timeline.locator(".timeline-item").filter(has_text="38,50 kg")
    expect(recorded).to_have_count(1)
    expect(recorded).to_contain_text(de("Inspected"))
    expect(recorded).to_contain_text(
        de_plural("%(num)s frame of bees", "%(num)s frames of bees", 7)
    )
    expect(recorded).to_contain_text(german_date(datetime.now().astimezone()))
    expect(recorded).to_contain_text(re.compile(r"\d{2}:\d{2}"))  # the 24-hour clock


def create_a_key(page: Page) -> str:
    nav(page).get_by_role("link", name=de("Profile")).click()
    page.get_by_label(de("Key name")).fill("Stockwaage")
    page.get_by_role("button", name=de("Create a key")).click()
    return page.get_by_label(de("Your new API key")).input_value()


def add_a_scale(page: Page, hive_id: int) -> int:
    page.goto(f"/hives/{hive_id}")
    page.get_by_role("link", name=de("Manage sensors")).click()
    expect(heading(page)).to_contain_text(HIVE)
    page.get_by_label(de("Name"), exact=True).fill("Waage")
    page.get_by_label(de("Measures")).select_option(label=de("Weight"))
    page.get_by_role("button", name=de("Add sensor")).click()
    row = page.get_by_role("row").filter(has_text="Waage")
    expect(row).to_contain_text(de("Weight"))
    return int(row.locator("code").inner_text())


def see_the_swarm_alert(page: Page, hive_id: int) -> None:
    page.goto(f"/hives/{hive_id}")
    expect_german(page)
    alert = page.locator(".sensors-panel .alert-item")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text(de("Swarm"))
    number = r"\d+,\d"  # one decimal, after a comma
    expect(alert).to_contain_text(
        de_pattern(
            "Weight fell %(drop)s kg within %(num)s minute (from %(peak)s to %(value)s kg): "
            "a swarm?",
            "Weight fell %(drop)s kg within %(num)s minutes (from %(peak)s to %(value)s kg): "
            "a swarm?",
            30,
            drop=number,
            peak=number,
            value=number,
        )
    )
    expect(alert).to_contain_text(german_date(datetime.now().astimezone()))
    expect(page.locator(".sensor-card__value")).to_have_text("40,00 kg")
    alert.get_by_role("button", name=re.compile(rf"^{re.escape(de('Acknowledge'))}")).click()
    expect(alert).to_contain_text(de("Acknowledged"))


# --- the journey ------------------------------------------------------------------------------


def test_a_german_beekeeper_records_offline_and_gets_an_alert(german_page: Page) -> None:
    page = german_page
    sign_up(page)
    hive_id = add_hive(page)
    record_an_inspection_offline(page, hive_id)
    back_online(page)

    key = create_a_key(page)
    sensor_id = add_a_scale(page, hive_id)
    post_weights(page, key, sensor_id, drop_at=60)
    see_the_swarm_alert(page, hive_id)

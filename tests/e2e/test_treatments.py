"""The medicines records on a phone (390x844), in English and in German: a beekeeper buys oxalic
acid, treats two hives at once from Today, tries to harvest from one of them and is refused
with the first day honey is allowed, then opens the register and prints it. And a treatment
recorded without a signal waits in the outbox and is stored once back online.

The words are read from the catalogue by their English message, as test_german.py does, so the
German run fails where a page shows English instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from app.web import formatting, i18n
from tests.e2e import test_german, test_pwa
from tests.e2e.journeys import sign_up_from_home, unique_email
from tests.e2e.test_field_log import today_in_berlin
from tests.e2e.test_german import german_page, in_german  # noqa: F401 - a fixture, used below
from tests.e2e.test_offline import badge_count
from tests.e2e.test_pwa import add_hive as add_pwa_hive
from tests.e2e.test_pwa import wait_for_the_worker, wait_until_saved

pytestmark = pytest.mark.e2e

Words = Callable[..., str]
app_page = test_pwa.app_page  # a page that may go offline


def words_of(language: str) -> Words:
    """What a page shows for an English message in `language`, its placeholders filled."""

    def say(message: str, **variables: object) -> str:
        if language == "de":
            in_german(message)
        i18n.use(language)
        text = i18n.translate(message)
        return text % variables if variables else text

    return say


def shown_date(language: str, day: date) -> str:
    i18n.use(language)
    return formatting.date(day, ZoneInfo("UTC"))


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def add_hive(page: Page, t: Words, name: str, latitude: str, longitude: str) -> None:
    page.goto("/hives/new")
    page.get_by_label(t("Name"), exact=True).fill(name)
    page.get_by_label(t("Latitude")).fill(latitude)
    page.get_by_label(t("Longitude")).fill(longitude)
    page.get_by_role("button", name=t("Add hive")).click()
    expect(heading(page)).to_have_text(name)


# A shop's receipt as a PDF (the least a reader opens).
RECEIPT = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def buy_oxalic_acid(page: Page, t: Words, today: date, *, from_today: bool = True) -> None:
    if from_today:
        page.goto("/")
        today_links = page.get_by_role("navigation", name=t("More"), exact=True)
        today_links.get_by_role("link", name=t("Medicines"), exact=True).click()
    else:
        page.goto("/medicines")
    expect(heading(page)).to_have_text(t("Medicines"))
    page.get_by_role("link", name=t("Record a purchase")).click()
    form = page.locator("#purchase-form")
    form.get_by_label(t("Product")).fill("Oxybee")
    form.get_by_label(t("Batch number")).fill("OX-114")
    form.get_by_label(t("Expiry date")).fill((today + timedelta(days=500)).isoformat())
    form.get_by_label(t("Quantity"), exact=True).fill("100")
    form.get_by_label(t("Unit")).select_option("ml")
    form.get_by_label(t("Supplier"), exact=True).fill("Imkereibedarf Schmidt")
    form.get_by_label(t("Supplier's address")).fill("Lindenstraße 4, 10969 Berlin")
    form.get_by_label(t("Invoice or receipt number")).fill("R-2026-0815")
    form.get_by_role("button", name=t("Save purchase")).click()
    expect(heading(page)).to_have_text("Oxybee · OX-114")
    expect(page.locator("#stock")).to_have_text(
        t("In stock: %(amount)s %(unit)s", amount="100", unit=t("ml"))
    )
    # The shop's receipt, kept with the batch as the proof of purchase.
    proof = page.locator("#proof-form")
    proof.get_by_label(t("A photo or PDF of the invoice")).set_input_files(
        files=[{"name": "R-2026-0815.pdf", "mimeType": "application/pdf", "buffer": RECEIPT}]
    )
    proof.get_by_role("button", name=t("Upload")).click()
    kept = page.locator("#proof").get_by_role("link", name="R-2026-0815.pdf")
    expect(kept).to_be_visible()
    assert page.request.get(kept.get_attribute("href") or "").body() == RECEIPT


def treat_both_from_today(page: Page, t: Words, language: str, today: date) -> None:
    page.goto("/")
    page.get_by_role("link", name=t("Record a treatment")).first.click()
    expect(heading(page)).to_have_text(t("Record a treatment"))
    form = page.locator("#treatment-form")
    form.get_by_role("checkbox", name="North").check()
    form.get_by_role("checkbox", name="South").check()
    form.get_by_label(t("Medicine and batch")).select_option(index=1)
    form.get_by_label(t("Dose"), exact=True).fill("5 ml")
    form.get_by_label(t("Quantity used")).fill("30")
    form.get_by_role("group", name=t("Method")).get_by_label(t("Trickling")).check()
    form.get_by_label(t("Duration (days)")).fill("1")
    form.get_by_label(t("Withdrawal period (days)")).fill("14")
    form.get_by_role("button", name=t("Save treatment")).click()
    expect(heading(page)).to_have_text(t("Treatment of %(day)s", day=shown_date(language, today)))
    expect(page.locator("#honey-allowed")).to_have_text(
        t(
            "Honey may be taken from these hives again from %(date)s.",
            date=shown_date(language, today + timedelta(days=15)),
        )
    )


def harvest_is_refused_with_the_date(page: Page, t: Words, language: str, today: date) -> None:
    page.goto("/harvests/new")
    form = page.locator("#harvest-form")
    form.get_by_role("checkbox", name="North").check()
    form.get_by_label(t("Honey (kg)")).fill("5")
    form.get_by_role("button", name=t("Save harvest")).click()
    refusal = t(
        "%(hive)s is inside the withdrawal period of %(product)s: "
        "honey may be taken from it from %(date)s.",
        hive="North",
        product="Oxybee",
        date=shown_date(language, today + timedelta(days=15)),
    )
    expect(page.locator("#harvested_on-error")).to_have_text(refusal)
    expect(page.locator("#harvest-form")).to_be_visible()  # still the form: nothing saved


def print_the_register(page: Page, t: Words, language: str, today: date) -> None:
    page.goto("/")
    page.get_by_role("link", name=t("Medicines register")).first.click()
    expect(heading(page)).to_have_text(t("Medicines register"))
    row = page.locator("#register tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(shown_date(language, today))
    expect(row).to_contain_text("North, South")
    expect(row).to_contain_text("OX-114")
    expect(row).to_contain_text("Imkereibedarf Schmidt")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("link", name=t("Record a treatment"))).to_be_hidden()
    expect(page.locator("#register")).to_be_visible()
    pdf = page.pdf(format="A4", landscape=True)
    assert pdf.startswith(b"%PDF")


def journey(page: Page, language: str) -> None:
    t = words_of(language)
    today = date.fromisoformat(today_in_berlin(page))
    add_hive(page, t, "North", "52.5301", "13.4012")
    add_hive(page, t, "South", "52.5302", "13.4013")
    buy_oxalic_acid(page, t, today)
    treat_both_from_today(page, t, language, today)
    harvest_is_refused_with_the_date(page, t, language, today)
    print_the_register(page, t, language, today)


def test_buy_treat_and_be_refused_a_harvest_on_a_phone(page: Page) -> None:
    sign_up_from_home(page, name="Ada", email=unique_email())
    journey(page, "en")


def test_the_same_in_german(german_page: Page) -> None:  # noqa: F811 - the fixture
    test_german.sign_up(german_page)
    journey(german_page, "de")


def test_a_treatment_recorded_offline_is_sent_once_back_online(
    app_page: Callable[..., Page],
) -> None:
    """The treatment form is one of the outbox's: saved on the phone without a signal, counted
    in the badge, and stored once when the connection comes back."""
    page = app_page()
    t = words_of("en")
    sign_up_from_home(page, name="Ada", email=unique_email())
    wait_for_the_worker(page)
    buy_oxalic_acid(page, t, date.fromisoformat(today_in_berlin(page)), from_today=False)
    hive_id = add_pwa_hive(page, "North")
    wait_until_saved(page, [f"/hives/{hive_id}", f"/treatments/new?hive={hive_id}"])

    page.context.set_offline(True)
    page.reload()
    page.get_by_role("link", name="Record a treatment").click()
    form = page.locator("#treatment-form")
    expect(form.get_by_role("checkbox", name="North")).to_be_checked()
    form.get_by_label("Medicine and batch").select_option(index=1)
    form.get_by_label("Dose", exact=True).fill("5 ml")
    form.get_by_label("Quantity used").fill("5")
    form.get_by_role("group", name="Method").get_by_label("Trickling").check()
    form.get_by_label("Duration (days)").fill("1")
    form.get_by_label("Withdrawal period (days)").fill("0")
    form.get_by_role("button", name="Save treatment").click()
    expect(heading(page)).to_have_text("North")
    expect(badge_count(page)).to_have_text("1")
    expect(page.locator("#alerts")).to_contain_text("Saved on this phone: Treatment · North")

    page.context.set_offline(False)
    expect(badge_count(page)).to_have_text("0", timeout=20_000)
    page.goto(f"/hives/{hive_id}")
    expect(page.locator(".treatment-list li")).to_have_count(1)
    expect(page.locator(".treatment-list")).to_contain_text("Oxybee, 5 ml")

"""Swarms as the city uses them: a passer-by reports one from a phone, with no account; a
collector 3 km away sees it on Today and claims it; a second collector is refused; the
reporter's status link follows it to "collected". And once with JavaScript off.

Map tiles are answered by the local stub in conftest.py; everything else is the real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import SHOTS, nav, sign_up_from_home, submit, unique_email

pytestmark = pytest.mark.e2e

ALEXANDERPLATZ = ("52.521900", "13.413200")
THREE_KM_NORTH = {"latitude": 52.5489, "longitude": 13.4132}  # 0.027° of latitude ≈ 3.0 km
STATUS_PATH = re.compile(r"/swarms/status/[A-Za-z0-9_-]{32}$")


def add_a_hive(page: Page, latitude: str, longitude: str) -> None:
    page.goto("/hives/new")
    page.get_by_label("Name").fill("Home hive")
    page.get_by_label("Latitude").fill(latitude)
    page.get_by_label("Longitude").fill(longitude)
    page.get_by_role("button", name="Add hive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Home hive")


def become_collector(page: Page, latitude: str, longitude: str) -> None:
    """A beekeeper (with a hive, as collectors have) opts in to collect swarms from here."""
    add_a_hive(page, latitude, longitude)
    page.goto("/swarms")
    expect(page.get_by_role("heading", name="Become a swarm collector")).to_be_visible()
    page.get_by_label("Latitude").fill(latitude)
    page.get_by_label("Longitude").fill(longitude)
    expect(page.get_by_label("Collection radius (km)")).to_have_value("5")
    page.get_by_role("button", name="Start collecting").click()
    expect(page.get_by_text("Your collecting settings are saved.")).to_be_visible()


def expect_stage(page: Page, stage: str) -> None:
    expect(page.get_by_text(re.compile(r"^Status:"))).to_have_text(f"Status: {stage}")


def test_a_reported_swarm_is_claimed_by_a_collector_3_km_away_and_collected(
    open_page: Callable[..., Page],
) -> None:
    ada, bob = open_page(), open_page()  # two collectors, on their phones
    sign_up_from_home(ada, name="Ada", email=unique_email("ada"))
    become_collector(ada, *ALEXANDERPLATZ)
    sign_up_from_home(bob, name="Bob", email=unique_email("bob"))
    become_collector(bob, "52.530000", "13.400000")

    # A passer-by with no account, one minute and a phone that knows where it is.
    visitor = open_page()
    visitor.context.grant_permissions(["geolocation"])
    visitor.context.set_geolocation(THREE_KM_NORTH)
    visitor.goto("/")
    nav(visitor).get_by_role("link", name="Report a swarm").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Report a swarm")
    visitor.get_by_role("button", name="Use my position").click()
    expect(visitor.get_by_label("Latitude")).to_have_value("52.548900")
    expect(visitor.get_by_label("Longitude")).to_have_value("13.413200")
    expect(visitor.locator(".map--picker .leaflet-marker-icon")).to_have_count(1)
    visitor.get_by_label("When did you see it?").select_option(label="About half an hour ago")
    height = visitor.get_by_label("How high is it?")
    height.select_option(label="A ladder would reach it (2 to 4 m)")
    visitor.get_by_label("How big is it?").select_option(label="About a football")
    visitor.get_by_label("What is it hanging on?").fill("lamp post")
    visitor.get_by_label("Describe it").fill("Outside the bakery on Schönhauser Allee.")
    visitor.get_by_label("Your phone or email").fill("+49 30 1234567")
    visitor.get_by_role("button", name="Send report").click()
    expect(visitor).to_have_url(STATUS_PATH)
    expect_stage(visitor, "Reported")
    status_link = visitor.url
    expect(visitor.get_by_label("Your status link")).to_have_value(status_link)
    SHOTS.mkdir(parents=True, exist_ok=True)
    visitor.screenshot(path=SHOTS / "swarm-status-phone.png", full_page=True)

    # Both collectors see it on Today, 3 km from Ada.
    for collector in (ada, bob):
        collector.goto("/")
        expect(collector.locator("#swarm-reports")).to_contain_text("lamp post")
    near = ada.locator("#swarm-reports .swarm-card")
    expect(near).to_have_count(1)
    expect(near).to_contain_text("3.0 km away")
    expect(near).not_to_contain_text("+49 30 1234567")

    # And on the map of Ada's collecting, within her radius.
    ada.goto("/swarms")
    marker = ada.locator("#swarm-map path.swarm-marker")
    expect(marker).to_have_count(1)
    marker.click()
    expect(ada.locator("#swarm-map .swarm-popup")).to_contain_text("3.0 km away")
    expect(ada.locator("#swarm-map .swarm-popup a")).to_have_text("Open the report")
    ada.goto("/")

    # Ada claims it first; Bob's claim, a moment later from a stale Today, is refused.
    near.get_by_role("button", name=re.compile("^Claim")).click()
    expect(ada.get_by_role("heading", level=1)).to_have_text("Swarm report")
    expect(ada.locator(".swarm-contact")).to_have_text("+49 30 1234567")
    bob.locator("#swarm-reports").get_by_role("button", name=re.compile("^Claim")).click()
    expect(bob.locator("#alerts")).to_contain_text(
        "Already claimed: Another beekeeper claimed this swarm first. Nothing was changed."
    )
    expect(bob.locator("#swarm-reports")).to_contain_text("No open swarm reports near you")
    expect(bob).to_have_url(re.compile(r"/$"))
    bob.goto(ada.url)
    expect(bob.get_by_text("Another beekeeper has claimed this swarm.")).to_be_visible()
    expect(bob.get_by_text("+49 30 1234567")).to_have_count(0)

    visitor.goto(status_link)
    expect_stage(visitor, "Claimed")

    ada.get_by_label("What happened?").select_option(label="Collected")
    ada.get_by_role("button", name="Close the report").click()
    expect(ada.locator("[data-stage]")).to_have_text("Collected")
    visitor.reload()
    expect_stage(visitor, "Collected")
    # The reporter sees when their report was taken on and closed, never by whom.
    history = visitor.locator(".swarm-history li")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_have_text(re.compile(r"^Claimed by a beekeeper at \d\d:\d\d$"))
    expect(history.nth(1)).to_have_text(re.compile(r"^Collected at \d\d:\d\d$"))
    expect(visitor.get_by_text(re.compile(r"\bAda\b"))).to_have_count(0)


def test_a_swarm_is_reported_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    page.goto("/")
    nav(page).get_by_role("link", name="Report a swarm").click()
    expect(page.get_by_role("button", name="Use my position")).to_be_hidden()
    page.get_by_label("Latitude").fill("52,5301")  # a phone's decimal comma
    page.get_by_label("Longitude").fill("13.4050")
    page.get_by_label("Your phone or email").fill("not a number")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#description-error")).to_have_text("This field is required.")
    expect(page.locator("#contact-error")).to_contain_text("phone number")
    expect(page.get_by_label("Latitude")).to_have_value("52,5301")

    page.get_by_label("Describe it").fill("In the hedge by the playground, at knee height.")
    page.get_by_label("Your phone or email").fill("finder@example.org")
    page.get_by_label("How high is it?").select_option(label="Within reach from the ground")
    submit(page, page.get_by_role("button", name="Send report"), plain_form=True, lands_on=None)
    expect(page).to_have_url(STATUS_PATH)
    expect_stage(page, "Reported")
    expect(page.get_by_text("52.53010, 13.40500")).to_be_visible()
    expect(page.get_by_text("finder@example.org")).to_have_count(0)


def test_a_guessed_status_link_finds_nothing(page: Page) -> None:
    response = page.request.get("/swarms/status/" + "A" * 32)
    assert response.status == 404
    assert "No swarm report has this link" in response.text()

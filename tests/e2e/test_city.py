"""The city layer as people meet it: a beekeeper placing hives sees how crowded the forage is;
the public map shows colonies per hexagon without a single hive on it; city statistics work
without JavaScript.

Other suites share this server and add hives of their own, so counts are checked in a corner of
the city that no other suite uses, or as a difference.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import SHOTS, nav, sign_up_from_home, unique_email

pytestmark = pytest.mark.e2e

MUGGELSEE = ("52.441000", "13.641000")  # on the lake's north shore, far from other suites' hives


def add_hive_at(page: Page, name: str, latitude: str, longitude: str) -> None:
    page.goto("/hives/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Latitude").fill(latitude)
    page.get_by_label("Longitude").fill(longitude)
    page.get_by_label("Longitude").press("Tab")  # "change": the forage note asks again
    page.get_by_role("button", name="Add hive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def holds(feature: dict, latitude: float, longitude: float) -> bool:
    """Whether the point lies within the bounding box of the feature's hexagon."""
    [ring] = feature["geometry"]["coordinates"]
    lons, lats = [lon for lon, _ in ring], [lat for _, lat in ring]
    return min(lons) <= longitude <= max(lons) and min(lats) <= latitude <= max(lats)


def test_placing_hives_shows_forage_pressure_and_the_city_map_shows_them(
    open_page: Callable[..., Page],
) -> None:
    page = open_page()
    sign_up_from_home(page, name="Ada", email=unique_email())
    page.goto("/hives/new")
    forage = page.locator("#forage-pressure")
    expect(forage).to_contain_text("Place the hive to see how many colonies")
    page.get_by_label("Latitude").fill(MUGGELSEE[0])
    page.get_by_label("Longitude").fill(MUGGELSEE[1])
    page.get_by_label("Longitude").press("Tab")
    expect(forage.locator("[data-colonies]")).to_have_text("0 colonies")

    for name in ("Ufer 1", "Ufer 2", "Ufer 3"):
        add_hive_at(page, name, *MUGGELSEE)

    # Three colonies of one beekeeper: the map shows only that there are a few (issue 13: it
    # used to count them, "3", which let anyone count one beekeeper's colonies).
    page.goto("/hives/new")
    page.get_by_label("Latitude").fill(MUGGELSEE[0])
    page.get_by_label("Longitude").fill(MUGGELSEE[1])
    page.get_by_label("Longitude").press("Tab")
    expect(forage.locator("[data-few-hexagons]")).to_contain_text(
        "Not counted: the colonies in 1 hexagon nearby where fewer than 4 beekeepers keep bees."
    )
    expect(forage.locator("[data-colonies]")).to_have_text("0 colonies")
    expect(forage.locator(".forage-warning")).to_have_count(0)

    # The public map, for a visitor without an account.
    visitor = open_page()
    visitor.goto("/")
    with visitor.expect_response(lambda r: r.url.endswith("/city/density.geojson")) as answer:
        nav(visitor).get_by_role("link", name="City").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Bees in the city")
    collection = answer.value.json()
    features = collection["features"]
    [ada] = [f for f in features if holds(f, float(MUGGELSEE[0]), float(MUGGELSEE[1]))]
    assert ada["properties"] == {"count": None, "band": "few"}
    assert all(f["properties"]["count"] is None or f["properties"]["count"] >= 4 for f in features)
    cells = visitor.locator("#density-map path.density-cell")
    expect(cells).to_have_count(len(features))
    expect(visitor.locator("#density-map path.density--few").first).to_be_visible()
    expect(visitor.locator("#density-map .leaflet-marker-icon")).to_have_count(0)
    legend = visitor.get_by_role("list", name="Colonies per hexagon")
    expect(legend).to_contain_text("more than 20")
    SHOTS.mkdir(parents=True, exist_ok=True)
    visitor.screenshot(path=SHOTS / "city-map-phone.png", full_page=True)


def test_city_statistics_and_the_map_page_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    page.goto("/city")
    # (Playwright's text and role queries skip <noscript>: hence plain selectors here.)
    notice = page.locator("noscript .notice")
    expect(notice).to_contain_text("The map needs JavaScript.")
    notice.locator("a", has_text="city statistics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^City statistics \d{4}$")
    )
    for label in (
        "Colonies",
        "Hexagons with a few colonies, not counted",
        "Active beekeepers",
        "Swarms reported this season",
    ):
        expect(page.get_by_text(label, exact=True)).to_be_visible()
    expect(page.locator("figure.chart svg rect.chart__bar--reported")).to_have_count(12)
    expect(page.get_by_role("row", name=re.compile("^Collected"))).to_be_visible()

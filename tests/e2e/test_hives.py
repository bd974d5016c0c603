"""Hives as a beekeeper uses them: add one at the apiary, find it on the map, manage the list.

Map tiles are answered by the local stub in conftest.py; everything else is the real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import SHOTS, nav, sign_up_from_home, submit, unique_email

pytestmark = pytest.mark.e2e

NUMBER = re.compile(r"^-?\d+\.\d{6}$")


def add_hive_by_typing(
    page: Page, name: str, latitude: str, longitude: str, *, site: str = "", plain: bool = False
) -> int:
    """Add a hive through the form with typed coordinates; returns its id from the URL."""
    page.goto("/hives/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Latitude").fill(latitude)
    page.get_by_label("Longitude").fill(longitude)
    if site:
        page.get_by_label("Apiary", exact=True).fill(site)
    page.get_by_role("button", name="Add hive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    match = re.search(r"/hives/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))


def test_add_a_hive_at_the_apiary_by_tapping_the_map(page: Page) -> None:
    sign_up_from_home(page, name="Ada", email=unique_email())
    nav(page).get_by_role("link", name="Hives").click()
    expect(page.get_by_text("You have no hives yet.")).to_be_visible()
    page.get_by_role("link", name="Add a hive").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a hive")

    page.get_by_label("Name").fill("Rooftop One")
    picker = page.locator(".map--picker")
    expect(picker.locator(".leaflet-tile-loaded").first).to_be_attached()
    picker.click(position={"x": 120, "y": 90})
    expect(page.get_by_label("Latitude")).to_have_value(NUMBER)
    expect(page.get_by_label("Longitude")).to_have_value(NUMBER)
    expect(picker.locator(".leaflet-marker-icon")).to_have_count(1)
    latitude = float(page.get_by_label("Latitude").input_value())
    assert 52.3 < latitude < 52.7  # around the map's centre, Berlin by default
    page.get_by_label("Frame type").select_option(label="Warré")
    page.get_by_role("button", name="Add hive").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Rooftop One")
    expect(page.get_by_text("Warré")).to_be_visible()
    # The small map starts (and Leaflet loads) as it comes near the view, below Record.
    page.locator(".map--small").scroll_into_view_if_needed()
    expect(page.locator(".map--small .leaflet-marker-icon")).to_have_count(1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "hive-page-phone.png", full_page=True)


def test_add_a_hive_by_typing_coordinates_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_up_from_home(page, name="Ada", email=unique_email(), plain_form=True)
    page.goto("/hives/new")
    expect(page.get_by_role("button", name="Use my location")).to_be_hidden()
    page.get_by_label("Name").fill("Allotment A")
    page.get_by_label("Latitude").fill("91")
    page.get_by_label("Longitude").fill("-0.0937")
    page.get_by_role("button", name="Add hive").click()
    expect(page.locator("#latitude-error")).to_contain_text("Enter 90 or less.")
    expect(page.get_by_label("Name")).to_have_value("Allotment A")

    page.get_by_label("Latitude").fill("51,5202")
    submit(page, page.get_by_role("button", name="Add hive"), plain_form=True, lands_on=None)
    expect(page.get_by_role("heading", level=1)).to_have_text("Allotment A")
    expect(page.get_by_text("51.52020, -0.09370")).to_be_visible()


def test_the_map_shows_my_hives_and_opens_their_cards(desktop_page: Page) -> None:
    page = desktop_page
    sign_up_from_home(page, name="Ada", email=unique_email())
    london = add_hive_by_typing(page, "Barbican", "51.5202", "-0.0937")
    add_hive_by_typing(page, "Montmartre", "48.8867", "2.3431")

    # The first answer has every hive, to fit the map to; after that, the visible box's.
    with page.expect_response(lambda r: "/hives.geojson?bbox=" in r.url) as answer:
        nav(page).get_by_role("link", name="Map").click()
    west, south, east, north = map(
        float, parse_qs(urlsplit(answer.value.url).query)["bbox"][0].split(",")
    )
    assert west < -0.0937 < 2.3431 < east
    assert south < 48.8867 < 51.5202 < north
    hive_map = page.locator("#hive-map")
    markers = hive_map.locator(".leaflet-marker-icon:not(.marker-cluster)")
    expect(markers).to_have_count(2)

    markers.first.click()
    popup = hive_map.locator(".leaflet-popup-content")
    expect(popup.get_by_role("link", name="Open")).to_be_visible()
    name = popup.locator(".hive-popup__name").inner_text()
    assert name in ("Barbican", "Montmartre")
    popup.get_by_role("link", name="Open").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    if name == "Barbican":
        assert page.url.endswith(f"/hives/{london}")


def zoom_out(page: Page, levels: int) -> None:
    """Zoom out one level at a time, each done (the map fetched its new box) before the next:
    Leaflet ignores a zoom asked for while the last one is still animating."""
    for _ in range(levels):
        with page.expect_response(lambda response: "/hives.geojson?bbox=" in response.url):
            page.locator(".leaflet-control-zoom-out").click()


def test_the_map_clusters_hives_that_stand_together(desktop_page: Page) -> None:
    page = desktop_page
    sign_up_from_home(page, name="Ada", email=unique_email())
    for n in range(3):
        add_hive_by_typing(page, f"Stack {n}", f"51.52{n}", "-0.0937")
    page.goto("/map")
    expect(page.locator("#hive-map .leaflet-marker-icon").first).to_be_visible()
    zoom_out(page, 3)
    expect(page.locator("#hive-map .marker-cluster").filter(has_text="3")).to_be_visible()
    # A box larger than the server accepts (a continent's, here made tiny for the test) is not
    # asked for: the map says to zoom in instead.
    page.locator("#hive-map").evaluate("element => { element.dataset.maxBboxArea = '0.000001' }")
    page.locator(".leaflet-control-zoom-out").click()
    expect(page.locator("[data-map-notice]")).to_have_text(
        "Zoom in to see your hives in this area."
    )


def test_searching_the_list_as_you_type(desktop_page: Page) -> None:
    page = desktop_page
    sign_up_from_home(page, name="Ada", email=unique_email())
    add_hive_by_typing(page, "Queen Mab", "51.52", "-0.09", site="Roof")
    add_hive_by_typing(page, "Sunny", "51.53", "-0.08", site="Allotment")
    nav(page).get_by_role("link", name="Hives").click()
    results = page.locator("#hive-results")
    expect(results.get_by_role("link")).to_have_count(2)
    page.evaluate("window.__marker = 1")

    page.get_by_label("Search").press_sequentially("queen", delay=30)
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results.get_by_role("link", name="Queen Mab")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/hives\?q=queen$"))
    assert page.evaluate("window.__marker") == 1, "the page reloaded instead of the list"

    page.get_by_label("Search").fill("")
    page.get_by_label("Site").select_option("Allotment")
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results.get_by_role("link", name="Sunny")).to_be_visible()
    page.reload()  # the URL alone brings the same list back
    expect(page.get_by_label("Site")).to_have_value("Allotment")
    expect(results.get_by_role("link", name="Sunny")).to_be_visible()


def test_retiring_and_deleting_a_hive(page: Page) -> None:
    sign_up_from_home(page, name="Ada", email=unique_email())
    hive_id = add_hive_by_typing(page, "Old Warré", "51.54", "-0.02")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Status").select_option(label="Dead-out")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Old Warré")
    expect(page.locator(".badge").first).to_have_text("Dead-out")

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete Old Warré?")
    page.get_by_role("link", name="Keep it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Old Warré")
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete Old Warré").click()
    expect(page).to_have_url(re.compile(r"/hives$"))
    expect(page.get_by_text("You have no hives yet.")).to_be_visible()
    assert page.request.get(f"/hives/{hive_id}").status == 404


def test_another_beekeeper_cannot_open_my_hive(open_page: Callable[..., Page]) -> None:
    mine = open_page()
    sign_up_from_home(mine, name="Ada", email=unique_email())
    hive_id = add_hive_by_typing(mine, "Private Hive", "51.5", "-0.1")

    theirs = open_page()
    sign_up_from_home(theirs, name="Mallory", email=unique_email("mallory"))
    for path in ("", "/card", "/edit"):  # with Mallory's session cookie
        response = theirs.request.get(f"/hives/{hive_id}{path}")
        assert response.status == 404
        assert "Page not found" in response.text()
        assert "Private Hive" not in response.text()
    theirs.goto("/map")
    expect(theirs.locator("#hive-map .leaflet-marker-icon")).to_have_count(0)

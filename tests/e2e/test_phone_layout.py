"""Every main page on a phone: at 320, 360 and 390 px wide nothing is wider than the screen,
every visible tappable thing is at least 44 x 44 px, and axe-core finds no serious or critical
problem (target size included) at 320 px. Signed in (Today, hives, map, a hive page with a
sensor and its chart, the inspection and harvest forms, harvests, profile) and signed out
(welcome, log-in, swarm report, city map).

axe-core is a vendored, pinned copy used only here (tests/e2e/vendor/); it is injected as an
init script, which the pages' Content-Security-Policy does not apply to.

What the size check leaves out, as WCAG 2.5.8 does: links inside a sentence (their line height is
the text's), and the map's own attribution notice and markers (the hive list and the hive
page reach the same things with big targets). A checkbox or radio counts by its label.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PHONE
from tests.e2e.test_field_log import schedule_for_today
from tests.e2e.test_sensors import hive_with_a_scale, post_weights

pytestmark = pytest.mark.e2e

WIDTHS = (320, 360, 390)
AXE = Path(__file__).parent / "vendor" / "axe-core-4.10.2" / "axe.min.js"
MIN_TARGET_PX = 44

# Each visible tappable element smaller than 44 x 44 px, as "tag.class 'text' WxH".
SMALL_TARGETS_JS = """(minimum) => {
  const tappable = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, '
    + '[role="button"]';
  const notTargets = '.leaflet-control-attribution, .leaflet-marker-pane, .leaflet-overlay-pane, '
    + '.honeypot, .visually-hidden';
  const inSentence = (element) => {
    if (element.tagName !== 'A' || getComputedStyle(element).display !== 'inline') return false;
    const parentText = (element.parentElement.textContent || '').trim();
    return parentText.length > (element.textContent || '').trim().length + 3;
  };
  const problems = [];
  for (const element of document.querySelectorAll(tappable)) {
    if (!element.checkVisibility({visibilityProperty: true})) continue;
    if (element.closest(notTargets) || inSentence(element)) continue;
    const choice = element.matches('input[type="checkbox"], input[type="radio"]')
      && element.closest('label');
    const box = (choice || element).getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.bottom <= 0) continue;
    if (box.width + 0.5 < minimum || box.height + 0.5 < minimum) {
      const name = (element.textContent || element.getAttribute('aria-label') || element.name || '')
        .trim().slice(0, 30);
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      problems.push(`${element.tagName.toLowerCase()}.${element.className} '${name}' ${size}`);
    }
  }
  return problems;
}"""

# The elements whose right edge is past the screen's, innermost first (what scrolls inside a
# box of its own, a table or the header's links, does not widen the page).
WIDER_THAN_SCREEN_JS = """() => {
  const screen = document.documentElement.clientWidth + 0.5;
  const past = (element) => element.getBoundingClientRect().right > screen;
  return [...document.querySelectorAll('body *')]
    .filter((element) => !element.parentElement.closest('.table-scroll, .site-header nav'))
    .filter((element) => past(element) && ![...element.children].some(past))
    .slice(0, 3)
    .map((element) => `${element.tagName.toLowerCase()}.${element.className}`);
}"""

# A bar that stays on screen (the bottom navigation, a form's sticky Save) covers whatever
# scrolls under it, which a person scrolls on; axe would count that as a covered target.
AXE_JS = """async () => {
  for (const element of document.querySelectorAll('body *')) {
    const position = getComputedStyle(element).position;
    if (position === 'fixed' || position === 'sticky') element.style.position = 'static';
  }
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): `
      + violation.nodes.slice(0, 3).map((node) => node.target.join(' ')).join(', '));
}"""


def problems_on(page: Page, path: str) -> list[str]:
    """What is wrong with `path` at each width, as lines saying where.

    The stylesheet's one breakpoint is at 40rem, so the three widths get the same rules and the
    same elements: what the width changes (the page's width, each target's size) is measured at
    each; axe (names, roles, contrast, target spacing) once, at 320 px, where things crowd
    most."""
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": PHONE["height"]})
        page.goto(path)
        page.wait_for_load_state("load")
        expect(page.locator("main")).to_be_visible()
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            wide = ", ".join(page.evaluate(WIDER_THAN_SCREEN_JS))
            found.append(f"{path} at {width} px: the page is {scroll_width} px wide ({wide})")
        for small in page.evaluate(SMALL_TARGETS_JS, MIN_TARGET_PX):
            found.append(f"{path} at {width} px: a tappable element is too small: {small}")
        if width == min(WIDTHS):
            for violation in page.evaluate(AXE_JS):
                found.append(f"{path} at {width} px: axe: {violation}")
    return found


def with_axe(page: Page) -> Page:
    page.context.add_init_script(path=AXE)
    return page


def test_signed_in_pages_fit_a_phone(page: Page) -> None:
    hive_id, sensor_id, key = hive_with_a_scale(page)
    post_weights(page, key, sensor_id, drop_at=60)  # a swarm alert on Today and the hive page
    schedule_for_today(page, hive_id, plain=False)  # Today's Record, Mark done, Move and date
    with_axe(page)
    paths = [
        "/",
        "/hives",
        "/hives/new",
        "/map",
        f"/hives/{hive_id}",
        f"/hives/{hive_id}/inspections/new",
        "/harvests/new",
        "/harvests",
        "/swarms/report",
        "/city",
        "/profile",
        "/push/devices",
        "/medicines",
        "/medicines/new",
        "/treatments",
        "/treatments/new",
        f"/hives/{hive_id}/sensors",
        f"/hives/{hive_id}/alert-rules",
    ]
    found = [problem for path in paths for problem in problems_on(page, path)]
    assert found == [], "\n".join(found)


def test_public_pages_fit_a_phone(open_page: Callable[..., Page]) -> None:
    page = with_axe(open_page(PHONE))
    found = [
        problem
        for path in ("/", "/login", "/signup", "/swarms/report", "/city")
        for problem in problems_on(page, path)
    ]
    assert found == [], "\n".join(found)


def test_a_phone_has_a_one_row_top_bar_a_bottom_navigation_and_the_action_first(
    page: Page, desktop_page: Page
) -> None:
    hive_id, sensor_id, key = hive_with_a_scale(page)
    post_weights(page, key, sensor_id, drop_at=60)

    page.goto(f"/hives/{hive_id}")
    header = page.locator(".site-header").bounding_box()
    assert header is not None
    assert header["height"] <= 64  # one row, not three
    places = page.get_by_role("navigation", name="Places", exact=True)
    expect(places.get_by_role("link")).to_have_text(["Today", "Hives", "Map", "Record", "More"])
    bar = places.bounding_box()
    assert bar is not None
    assert bar["y"] + bar["height"] == PHONE["height"]  # at the bottom, under the thumb
    # Record inspection on the first screen, above the bottom navigation; the map further down.
    record = page.get_by_role("link", name="Record inspection").bounding_box()
    assert record is not None
    assert record["y"] + record["height"] <= bar["y"]
    map_box = page.locator(".map").bounding_box()
    assert map_box is not None
    assert map_box["y"] > record["y"]
    # The chart's legend shows the latest point without a hover, on the 24-hour clock.
    legend = page.locator(".sensor-card .u-legend")
    expect(legend).to_contain_text(re.compile(r"\d+\.\d\d kg"))
    in_berlin = datetime.now(ZoneInfo("Europe/Berlin"))  # the city's time, not the device's
    hours = {f"{moment:%H}" for moment in (in_berlin, in_berlin - timedelta(minutes=10))}
    expect(legend).to_contain_text(re.compile(rf"({'|'.join(hours)}):\d\d"))
    expect(legend).not_to_contain_text(re.compile(r"\b(AM|PM|am|pm)\b"))

    # Today: the swarm alert comes before the inspections and the rest of the day.
    places.get_by_role("link", name="Today").click()
    expect(places.get_by_role("link", name="Today")).to_have_attribute("aria-current", "page")
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings.index("Alerts") < headings.index("Inspections") < headings.index("Your hives")

    # Record leads to each hive's Record button; More to every other place.
    places.get_by_role("link", name="Record").click()
    page.get_by_role("link", name="Record an inspection of Rooftop One").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inspect Rooftop One")
    places.get_by_role("link", name="More").click()
    expect(page.get_by_role("navigation", name="More places").get_by_role("link")).to_have_count(10)

    # A desktop keeps its header and has no bottom navigation.
    desktop_page.goto("/login")
    expect(desktop_page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(desktop_page.get_by_role("navigation", name="Places", exact=True)).to_have_count(0)


def test_without_javascript_the_hive_form_has_no_empty_map_box(no_js_page: Page) -> None:
    page = no_js_page
    hive_with_a_scale(page, plain=True)
    page.get_by_role("navigation", name="Places", exact=True).get_by_role(
        "link", name="Hives"
    ).click()
    page.goto("/hives/new")
    expect(page.get_by_label("Latitude")).to_be_visible()
    expect(page.locator(".map")).to_be_hidden()
    expect(page.get_by_text("Tap the map")).to_be_hidden()


def test_offline_the_alert_poll_waits(page: Page) -> None:
    """The poll behind the toasts (every minute) sends nothing while the phone is offline, and
    goes again once it is back."""
    hive_with_a_scale(page)
    page.goto("/")
    polls: list[str] = []
    page.on(
        "request",
        lambda request: polls.append(request.url) if "/alerts/poll" in request.url else None,
    )
    poll = "htmx.ajax('GET', '/alerts/poll', {source: '#toasts', swap: 'none'})"

    page.context.set_offline(True)
    page.evaluate(poll)
    assert polls == []

    page.context.set_offline(False)
    with page.expect_request("**/alerts/poll"):
        page.evaluate(poll)


def test_the_inspection_forms_when_is_the_citys_time_on_a_phone_set_elsewhere(
    browser: Browser, server: str, page: Page
) -> None:
    hive_id, _, _ = hive_with_a_scale(page)
    travelling = browser.new_context(
        base_url=server, viewport=PHONE, locale="en-GB", timezone_id="America/New_York"
    )
    try:
        travelling.add_cookies(page.context.cookies())
        form = travelling.new_page()
        form.goto(f"/hives/{hive_id}/inspections/new")
        expect(form.get_by_role("heading", level=1)).to_have_text("Inspect Rooftop One")
        shown = datetime.fromisoformat(form.get_by_label("When").input_value())
    finally:
        travelling.close()
    in_berlin = datetime.now(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    assert abs(shown - in_berlin) < timedelta(minutes=2)

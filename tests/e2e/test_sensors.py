"""Sensors as a beekeeper meets them: add a scale to a hive, let a device post readings through
the API, see the chart and the latest value on the hive page, switch the range, and acknowledge
the swarm alert the readings raised, with JavaScript and without."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import SHOTS, nav, sign_up_from_home, submit, unique_email

pytestmark = pytest.mark.e2e


def hive_with_a_scale(page: Page, *, plain: bool = False) -> tuple[int, int, str]:
    """Sign up, make an API key, add a hive through the API and give it a scale on its
    sensors page: (hive id, sensor id, key)."""
    sign_up_from_home(page, name="Ada", email=unique_email(), plain_form=plain)
    nav(page).get_by_role("link", name="Profile").click()
    page.get_by_label("Key name").fill("roof scale")
    page.get_by_role("button", name="Create a key").click()
    key = page.get_by_label("Your new API key").input_value()
    created = page.context.request.post(
        "/api/v1/hives",
        headers={"Authorization": f"Bearer {key}"},
        data={"name": "Rooftop One", "latitude": 52.52, "longitude": 13.4, "frame_type": "dadant"},
    )
    assert created.status == 201, created.text()
    hive_id = created.json()["id"]

    page.goto(f"/hives/{hive_id}")
    expect(page.get_by_text("No sensors on this hive yet.")).to_be_visible()
    page.get_by_role("link", name="Manage sensors").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sensors of Rooftop One")
    page.get_by_label("Name", exact=True).fill("Scale")
    page.get_by_label("Measures").select_option(label="Weight")
    submit(
        page,
        page.get_by_role("button", name="Add sensor"),
        plain_form=plain,
        lands_on=f"/hives/{hive_id}/sensors",
    )
    row = page.get_by_role("row").filter(has_text="Scale")
    expect(row).to_contain_text("Weight (kg)")
    sensor_id = int(row.locator("code").inner_text())
    return hive_id, sensor_id, key


def post_weights(page: Page, key: str, sensor_id: int, drop_at: int | None = None) -> dict:
    """Three hours of 5-minute weights ending now, as the scale's device would post them."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    readings = []
    for ago in range(180, -1, -5):
        value = 42.0 + (ago % 15) / 100
        if drop_at is not None and ago <= drop_at:
            value -= 2.0 * min(1.0, (drop_at - ago + 5) / 10)
        readings.append(
            {
                "sensor_id": sensor_id,
                "recorded_at": (now - timedelta(minutes=ago)).isoformat(),
                "value": round(value, 3),
            }
        )
    answer = page.context.request.post(
        "/api/v1/readings",
        headers={"Authorization": f"Bearer {key}"},
        data={"readings": readings},
    )
    assert answer.status == 200, answer.text()
    return answer.json()


def test_readings_from_the_api_show_as_a_chart_and_a_latest_value(page: Page) -> None:
    hive_id, sensor_id, key = hive_with_a_scale(page)
    assert post_weights(page, key, sensor_id) == {
        "batch": "stored",
        "stored": 37,
        "duplicates": 0,
        "refused": 0,
    }

    page.goto(f"/hives/{hive_id}")
    card = page.locator(".sensor-card").filter(has_text="Scale")
    expect(card.locator(".sensor-card__value")).to_have_text("42.00 kg")
    expect(card.locator(".sensor-card__age")).to_have_text(re.compile(r"just now|\d minutes ago"))
    chart = card.get_by_role("img", name=re.compile(r"^Weight chart, last 24 hours"))
    expect(chart.locator("canvas")).to_be_visible()
    expect(card).to_contain_text("Last 24 hours: lowest 42.00 kg, mean 42.05 kg, highest 42.10 kg")
    box = chart.locator("canvas").bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 100
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "hive-sensors-phone.png", full_page=True)

    # Another range: the panel is swapped in place and the address bar says which range.
    page.get_by_role("navigation", name="Chart range").get_by_role("link", name="7 days").click()
    expect(page).to_have_url(re.compile(rf"/hives/{hive_id}\?range=7d$"))
    expect(page.get_by_role("link", name="7 days")).to_have_attribute("aria-current", "true")
    expect(card.locator("canvas")).to_be_visible()
    expect(card).to_contain_text("Last 7 days:")
    page.reload()  # the pushed address is a page of its own
    expect(page.get_by_role("link", name="7 days")).to_have_attribute("aria-current", "true")
    expect(page.locator(".sensor-card canvas")).to_be_visible()


def test_acknowledge_the_swarm_alert_on_the_hive_page(page: Page) -> None:
    hive_id, sensor_id, key = hive_with_a_scale(page)
    post_weights(page, key, sensor_id, drop_at=60)

    page.goto(f"/hives/{hive_id}")
    alert = page.locator(".sensors-panel .alert-item")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Swarm")
    expect(alert).to_contain_text(re.compile(r"Weight fell 2\.\d kg within 30 minutes"))
    expect(page.locator(".sensor-card__value")).to_have_text("40.00 kg")
    alert.get_by_role("button", name=re.compile(r"^Acknowledge")).click()
    expect(alert).to_contain_text("Acknowledged")
    expect(alert.get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Alert acknowledged.")).to_be_visible()
    page.goto("/alerts")
    expect(page.get_by_text("None: your sensors are quiet.")).to_be_visible()
    expect(page.get_by_role("heading", name="Acknowledged lately")).to_be_visible()


def test_acknowledge_an_alert_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    hive_id, sensor_id, key = hive_with_a_scale(page, plain=True)
    post_weights(page, key, sensor_id, drop_at=60)

    page.goto(f"/hives/{hive_id}?range=30d")
    expect(page.get_by_role("link", name="30 days")).to_have_attribute("aria-current", "true")
    expect(page.locator(".sensor-card")).to_contain_text("Last 30 days: lowest 40.00 kg")
    submit(
        page,
        page.get_by_role("button", name=re.compile(r"^Acknowledge")),
        plain_form=True,
        lands_on=f"/hives/{hive_id}",
    )
    expect(page.locator(".alert-item")).to_have_count(0)
    page.goto("/alerts")
    expect(page.locator(".alert-item")).to_contain_text("Acknowledged")

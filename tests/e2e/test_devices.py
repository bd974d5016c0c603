"""A device as a beekeeper meets it on a phone without JavaScript: added on the hive's sensors
page, its configuration shown, its raw weight posted as BEEP posts it, and its scale calibrated
in two steps (empty, then a known weight) with plain forms; then a weight read by hand at the
hive, from the hive page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import sign_up_from_home, submit, unique_email
from tests.e2e.test_hives import add_hive_by_typing

pytestmark = pytest.mark.e2e


def post_raw_weight(page: Page, key: str, raw: int) -> None:
    """What a BEEP base sends: its key and its raw load cell value, as a form."""
    answer = page.context.request.post("/api/sensors", form={"key": key, "w_v": str(raw)})
    assert answer.status == 201, answer.text()


def test_a_scale_is_added_and_calibrated_on_a_phone_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_up_from_home(page, name="Ada", email=unique_email(), plain_form=True)
    hive_path = f"/hives/{add_hive_by_typing(page, 'Rooftop One', '52.52', '13.4')}"

    page.goto(f"{hive_path}/sensors")
    page.get_by_label("Device name").fill("Base under the hive")
    page.get_by_label("Kind of device").select_option(
        label="BEEP base, or a device posting as BEEP"
    )
    page.get_by_label("Its key or DevEUI").fill("0004A30B001C0530")
    submit(page, page.get_by_role("button", name="Add device"), plain_form=True, lands_on=None)
    expect(page.get_by_role("heading", level=1)).to_have_text("Base under the hive")
    expect(page.locator("pre").first).to_contain_text("/api/sensors")
    device_path = re.sub(r"^https?://[^/]+", "", page.url)

    post_raw_weight(page, "0004a30b001c0530", 8000)
    page.get_by_role("link", name="Calibrate the scale").click()
    expect(page.get_by_text("Step 1 of 2")).to_be_visible()
    expect(page.get_by_label("Raw value with the scale empty")).to_have_value("8000")
    submit(page, page.get_by_role("button", name="Next"), plain_form=True, lands_on=None)
    expect(page.get_by_text("Step 2 of 2")).to_be_visible()

    post_raw_weight(page, "0004a30b001c0530", 28000)  # a 10 kg bucket on the scale
    page.get_by_role("link", name="Read again").click()
    expect(page.get_by_label("Raw value with the known weight on")).to_have_value("28000")
    page.get_by_label("The known weight (kg)").fill("10")
    submit(
        page,
        page.get_by_role("button", name="Save calibration"),
        plain_form=True,
        lands_on=device_path,
    )
    expect(page.get_by_text("calibrated", exact=False).first).to_be_visible()

    post_raw_weight(page, "0004a30b001c0530", 88000)
    page.reload()
    expect(page.locator(".device-sensors")).to_contain_text("weight_kg: Weight, 40.00 kg")

    page.goto(hive_path)
    page.get_by_label("Weight (kg)").fill("41,5")
    submit(
        page,
        page.get_by_role("button", name="Save weight"),
        plain_form=True,
        lands_on=hive_path,
    )
    expect(page.locator("#sensors")).to_contain_text("41.50 kg")

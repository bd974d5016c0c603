"""A rule of one's own, on a phone: add it on the hive's alert rules page (a mistake first, shown
at its field), see it listed in words, and see the alert it raises on the hive page beside the
default swarm alert; with JavaScript and without."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel.dates import get_month_names
from playwright.sync_api import Page, expect

from tests.e2e.journeys import submit
from tests.e2e.test_sensors import hive_with_a_scale, post_weights

pytestmark = pytest.mark.e2e
ASLEEP = (datetime.now(UTC).month + 5) % 12 + 1  # the rule sleeps half a year from now


def add_a_drop_rule(page: Page, hive_id: int, *, plain: bool) -> None:
    page.goto(f"/hives/{hive_id}/sensors")
    page.get_by_role("link", name="Change alert rules").click()
    form = page.locator(f'form[action="/hives/{hive_id}/alert-rules/own"]')
    expect(page.get_by_text("No rules of your own yet.")).to_be_visible()
    form.get_by_label("Measurement", exact=True).select_option(label="Weight")
    form.get_by_label("When it").select_option(label="drops by")
    form.get_by_label("Threshold, in the measurement's unit").fill("1")
    form.get_by_role("button", name="Add the rule").click()
    window = form.get_by_label("Within (minutes)")
    expect(form.locator("#window_minutes-error")).to_have_text(
        "A drop or a rise needs its time window."
    )
    expect(window).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Threshold, in the measurement's unit")).to_have_value("1")
    window.fill("20")
    form.get_by_label(get_month_names("wide", locale="en")[ASLEEP]).check()
    submit(
        page,
        form.get_by_role("button", name="Add the rule"),
        plain_form=plain,
        lands_on=f"/hives/{hive_id}/alert-rules",
    )
    rules = page.locator("#own-rules")
    expect(rules).to_contain_text("Weight drops by 1 kg within 20 minutes")
    expect(rules).to_contain_text(
        f"Sleeps in {get_month_names('abbreviated', locale='en')[ASLEEP]}"
    )


@pytest.mark.parametrize("plain", [False, True], ids=["javascript", "plain"])
def test_a_rule_of_ones_own_raises_its_alert(request: pytest.FixtureRequest, plain: bool) -> None:
    page: Page = request.getfixturevalue("no_js_page" if plain else "page")
    hive_id, sensor_id, key = hive_with_a_scale(page, plain=plain)
    add_a_drop_rule(page, hive_id, plain=plain)
    post_weights(page, key, sensor_id, drop_at=60)
    page.goto(f"/hives/{hive_id}")
    alerts = page.locator(".sensors-panel .alert-item")
    expect(alerts.filter(has_text="Swarm")).to_have_count(1)
    ours = alerts.filter(has_text="Your rule")
    expect(ours).to_have_count(1)
    expect(ours).to_contain_text("Weight on Scale fell by")

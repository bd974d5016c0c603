"""An API key as a beekeeper makes one: on the profile page, shown once, working, then revoked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import nav, sign_up_from_home, unique_email

pytestmark = pytest.mark.e2e


def test_create_use_and_revoke_an_api_key(page: Page) -> None:
    sign_up_from_home(page, name="Ada", email=unique_email())
    nav(page).get_by_role("link", name="Profile").click()
    page.get_by_label("Key name").fill("scale on the roof")
    page.get_by_role("button", name="Create a key").click()
    key = page.get_by_label("Your new API key")
    expect(key).to_have_value(re.compile(r"^ch_[A-Za-z0-9_-]{40,}$"))
    secret = key.input_value()

    api = page.context.request
    headers = {"Authorization": f"Bearer {secret}"}
    created = api.post(
        "/api/v1/hives",
        headers=headers,
        data={"name": "Rooftop", "latitude": 52.52, "longitude": 13.405, "frame_type": "dadant"},
    )
    assert created.status == 201, created.text()
    assert created.json()["name"] == "Rooftop"

    page.reload()  # the key is never shown again, only its prefix
    expect(page.get_by_label("Your new API key")).to_have_count(0)
    expect(page.locator("#api-keys")).to_contain_text(secret[:8])
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke the key scale on the roof").click()
    expect(page.locator("#api-keys")).to_contain_text("Revoked")
    assert api.get("/api/v1/hives", headers=headers).status == 401

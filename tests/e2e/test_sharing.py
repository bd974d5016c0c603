"""An apiary shared by its keepers, in Chromium at phone size: the owner invites a keeper by
link; the keeper records an inspection offline and it syncs under the keeper's name; a viewer
sees it and cannot change it; the owner removes the keeper, whose next request is 404 and whose
phone no longer holds the apiary's pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import asyncpg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e import test_pwa
from tests.e2e.journeys import sign_up_from_home, unique_email
from tests.e2e.test_offline import SYNC_TIMEOUT_MS, badge_count, beside_playwright
from tests.e2e.test_pwa import (
    OFFLINE_ERRORS,
    add_hive,
    heading,
    saved_pages,
    wait_for_the_worker,
    wait_until,
    wait_until_saved,
)

pytestmark = pytest.mark.e2e
app_page = test_pwa.app_page  # a phone-sized page that may go offline

HIVE = "Shared Linde"
# The keeper, once removed, and the viewer, trying to edit, are told "not found".
NOT_FOUND = re.compile(OFFLINE_ERRORS.pattern + r"|status of 404\b")


def apiary_of_hive(page: Page, hive_id: int) -> int:
    page.goto(f"/hives/{hive_id}")
    link = page.get_by_role("link", name="My apiary")
    href = link.get_attribute("href") or ""
    found = re.fullmatch(r"/apiaries/(\d+)", href)
    assert found, href
    return int(found.group(1))


def invitation_link(owner: Page, apiary: int, role: str) -> str:
    owner.goto(f"/apiaries/{apiary}")
    owner.get_by_label("Role", exact=True).select_option(label=role)
    owner.get_by_role("button", name="Invite").click()
    link = owner.get_by_label("Invitation link")
    expect(link).to_be_visible()
    return link.input_value()


def accept(page: Page, link: str, name: str) -> None:
    sign_up_from_home(page, name=name, email=unique_email(name.lower()))
    page.goto(link)
    expect(heading(page)).to_have_text("Join My apiary")
    page.get_by_role("button", name="Accept").click()
    expect(heading(page)).to_have_text("My apiary")


def recorded_by(database_url: str, hive_id: int) -> list[tuple[int, str]]:
    """Each recorded inspection of the hive: frames of bees and the name of who recorded it."""

    async def query() -> list[tuple[int, str]]:
        connection = await asyncpg.connect(database_url)
        try:
            rows = await connection.fetch(
                "SELECT i.frames_of_bees, u.name FROM inspections i"
                " JOIN users u ON u.id = i.recorded_by"
                " WHERE i.hive_id = $1 AND i.done_at IS NOT NULL ORDER BY i.id",
                hive_id,
            )
        finally:
            await connection.close()
        return [(row[0], row[1]) for row in rows]

    return beside_playwright(query())


def test_a_shared_apiary_from_invitation_to_removal(
    app_page: Callable[..., Page], database_url: str
) -> None:
    owner = app_page()
    sign_up_from_home(owner, name="Olga", email=unique_email("olga"))
    hive_id = add_hive(owner, HIVE)
    apiary = apiary_of_hive(owner, hive_id)

    # the keeper joins by link, opens the hive online, then records at the hive offline
    keeper = app_page(NOT_FOUND)
    accept(keeper, invitation_link(owner, apiary, "Keeper"), "Kurt")
    wait_for_the_worker(keeper)
    keeper.goto(f"/apiaries/{apiary}")  # the worker saves what it serves from here on
    keeper.get_by_role("link", name=HIVE).click()
    expect(heading(keeper)).to_have_text(HIVE)
    wait_until_saved(
        keeper, [f"/apiaries/{apiary}", f"/hives/{hive_id}", f"/hives/{hive_id}/inspections/new"]
    )
    keeper.context.set_offline(True)
    keeper.get_by_role("link", name="Record inspection").click()
    keeper.get_by_label("Frames covered with bees").fill("9")
    keeper.get_by_role("button", name="Save inspection").click()
    expect(heading(keeper)).to_have_text(HIVE)
    expect(badge_count(keeper)).to_have_text("1")
    keeper.context.set_offline(False)
    expect(badge_count(keeper)).to_have_text("0", timeout=SYNC_TIMEOUT_MS)
    assert recorded_by(database_url, hive_id) == [(9, "Kurt")]

    # a viewer reads it, with who recorded it, and can change nothing
    viewer = app_page(NOT_FOUND)
    accept(viewer, invitation_link(owner, apiary, "Viewer"), "Vera")
    viewer.goto(f"/hives/{hive_id}")
    expect(viewer.locator("#timeline")).to_contain_text("9 frames of bees")
    expect(viewer.locator("#timeline")).to_contain_text("Kurt")
    expect(viewer.get_by_role("link", name="Record inspection")).to_have_count(0)
    assert viewer.goto(f"/hives/{hive_id}/edit").status == 404  # type: ignore[union-attr]

    # the owner removes the keeper: the keeper's next request is 404, and the phone forgets
    # the apiary's pages it had saved
    owner.goto(f"/apiaries/{apiary}")
    owner.get_by_role("listitem").filter(has_text="Kurt").get_by_role(
        "button", name="Remove"
    ).click()
    expect(owner.locator(".members")).not_to_contain_text("Kurt")
    answer = keeper.goto(f"/hives/{hive_id}")
    assert answer is not None
    assert answer.status == 404
    expect(heading(keeper)).to_have_text("Page not found")
    wait_until(
        keeper,
        """([name, paths]) => caches.open(name).then(cache => cache.keys())
             .then(keys => keys.map(k => new URL(k.url).pathname))
             .then(saved => paths.every(path => !saved.includes(path)))""",
        [test_pwa.PAGES_CACHE, [f"/apiaries/{apiary}", f"/hives/{hive_id}/inspections/new"]],
    )
    assert not [path for path in saved_pages(keeper) if str(hive_id) in path]

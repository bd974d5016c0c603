"""Web Push in Chromium: a collector turns on notifications, a swarm is reported near them, the
service worker shows the notification, and a click lands on the report.

Chromium delivers the push message through the DevTools protocol
(ServiceWorker.deliverPushMessage), as its push service would after decrypting it: the payload
is the one the server queued for this collector's device. What the worker showed is read with
registration.getNotifications(). A click on a notification cannot be made from outside the
browser, so the test dispatches the worker's notificationclick event itself, on the shown
notification, and watches the page go to the report.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import CHROMIUM_ARGS, PHONE, origin_of
from tests.e2e.journeys import sign_up_from_home, unique_email
from tests.e2e.test_pwa import (
    OFFLINE_ERRORS,
    AppProblems,
    add_hive,
    wait_for_the_worker,
    wait_until,
)

pytestmark = pytest.mark.e2e

# In Spandau, far from the other e2e files' collectors and reports (they may share this server).
PLACE = {"latitude": "52.52", "longitude": "13.20"}
# What static/js/push.js posts, for a push service that does not exist (deliveries fail, and are
# tried again later; the test delivers the queued message itself).
DEVICE = {
    "endpoint": "https://push.invalid/send/e2e-phone",
    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1Xbjh"
    "azAkj7I99e8QcYP7DkM",
    "auth": "tBHItJI5svbpez7KI4CCXg",
}
REPORT = {"latitude": "52.5245", "longitude": "13.20", "seen": "now", "height": "ladder"}
REPORT |= {"size": "large", "description": "On the lime tree", "contact": "+49 30 999"}


def in_thread[T](work: Any) -> T:
    """asyncio.run beside Playwright's own loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


def queued_payload(database_url: str, email: str, subject: str) -> dict[str, Any] | None:
    """The payload queued for the user's device about `subject` (a LIKE pattern), if any."""

    async def read() -> dict[str, Any] | None:
        connection = await asyncpg.connect(database_url)
        try:
            payload = await connection.fetchval(
                "SELECT n.payload FROM push_notifications AS n"
                " JOIN push_subscriptions AS s ON s.id = n.subscription_id"
                " JOIN users AS u ON u.id = s.user_id"
                " WHERE u.email = $1 AND n.subject LIKE $2",
                email,
                subject,
            )
        finally:
            await connection.close()
        return None if payload is None else json.loads(payload)

    return in_thread(read())


def wait_for_payload(page: Page, database_url: str, email: str, subject: str) -> dict[str, Any]:
    """Within a push round (a second in these tests) the server has queued it."""
    deadline = time.monotonic() + 20
    while (payload := queued_payload(database_url, email, subject)) is None:
        assert time.monotonic() < deadline, f"nothing about {subject} was queued for {email}"
        page.wait_for_timeout(250)
    return payload


def post_form(page: Page, path: str, fields: dict[str, str]) -> str:
    """A form post with the page's session and CSRF token; the 303's Location."""
    token = page.locator("input[name='_csrf']").first.input_value()
    response = page.request.post(path, form={**fields, "_csrf": token}, max_redirects=0)
    assert response.status == 303, response.text()
    return response.headers["location"]


def shown_notifications(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(
        """navigator.serviceWorker.ready.then(r => r.getNotifications()).then(list => list.map(
             n => ({title: n.title, body: n.body, icon: n.icon, tag: n.tag, url: n.data.url,
                    actions: n.actions.map(a => a.title)})))"""
    )


@pytest.fixture
def phone(browser: Browser, server: str, tmp_path: Path) -> Iterator[BrowserContext]:
    """A phone-sized Chromium with a profile on disk: every new_context() is incognito, where
    Chromium has no Push API. Notifications allowed, as after the user said yes."""
    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profile",
        executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=server,
        viewport=PHONE,
        locale="en-GB",
    )
    problems = AppProblems(origin_of(server), OFFLINE_ERRORS)
    context.route("**/*", problems.route)
    context.on("console", problems.on_console)
    context.on("weberror", lambda web_error: problems.on_page_error(web_error.error))
    context.grant_permissions(["notifications"], origin=server)
    try:
        yield context
    finally:
        context.close()
    if report := problems.report():
        pytest.fail("the browser reported problems:\n" + report, pytrace=False)


def test_a_collector_is_notified_of_a_swarm_and_a_click_opens_the_report(
    phone: BrowserContext, browser: Browser, server: str, database_url: str
) -> None:
    page = phone.pages[0] if phone.pages else phone.new_page()
    email = unique_email("nia")
    page.goto("/")
    sign_up_from_home(page, name="Nia Collector", email=email)
    wait_for_the_worker(page)
    page.goto("/swarms")
    post_form(page, "/swarms/collector", {**PLACE, "radius_km": "5"})

    # The profile loads the devices section, which offers "Notify me on this phone" where the
    # browser has the Push API. Headless Chromium has no push service to subscribe with (its
    # subscribe() never settles here), so the subscription is posted as the button's script
    # posts it, with an endpoint of a push service that does not exist.
    page.goto("/profile")
    button = page.get_by_role("button", name="Notify me on this phone")
    expect(button).to_be_visible()
    expect(button).to_be_enabled()
    post_form(page, "/push/devices", DEVICE)
    page.goto("/profile")
    expect(page.locator("#push-devices li")).to_contain_text("Chrome on Linux")

    # Someone without an account reports a swarm 500 m from the collector's base.
    visitor = browser.new_context(base_url=server)
    try:
        reporting = visitor.new_page()
        reporting.goto("/swarms/report")
        post_form(reporting, "/swarms/report", REPORT)
    finally:
        visitor.close()

    payload = wait_for_payload(page, database_url, email, "swarm:%")
    report_path = payload["url"]
    assert re.fullmatch(r"/swarms/\d+", report_path)
    assert "999" not in json.dumps(payload)

    deliver(page, server, payload)
    wait_until(
        page,
        "() => navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(list => list.length === 1)",
        None,
    )
    [shown] = shown_notifications(page)
    assert shown["title"] == "500 m away · bigger than a football"
    assert shown["body"].startswith("Swarm reported: A ladder would reach it")
    assert shown["actions"] == ["Claim"]
    assert "/static/icons/icon-192.png" in shown["icon"]
    assert shown["url"] == server + report_path

    page.goto("/")
    click_the_notification(phone)
    page.wait_for_url(f"**{report_path}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Swarm")

    # Offline, the click opens the copy of the report the worker saved.
    page.goto("/")
    phone.set_offline(True)
    deliver(page, server, payload)
    wait_until(
        page,
        "() => navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(list => list.length === 1)",
        None,
    )
    click_the_notification(phone)
    page.wait_for_url(f"**{report_path}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Swarm")
    phone.set_offline(False)


def test_the_daily_reminder_lists_what_today_lists(
    phone: BrowserContext, server: str, database_url: str
) -> None:
    page = phone.pages[0] if phone.pages else phone.new_page()
    email = unique_email("ida")
    page.goto("/")
    sign_up_from_home(page, name="Ida Keeper", email=email)
    wait_for_the_worker(page)
    zone = ZoneInfo("Europe/Berlin")  # the server's TIME_ZONE
    today = datetime.now(zone).date()
    for name, due in (("Acacia", -2), ("Bramble", 0), ("Clover", 3)):
        hive_id = add_hive(page, name)
        day = (today + timedelta(days=due)).isoformat()
        post_form(page, f"/hives/{hive_id}/inspections/schedule", {"scheduled_for": day})
    page.goto("/profile")
    post_form(page, "/push/devices", {**DEVICE, "endpoint": DEVICE["endpoint"] + "-ida"})
    remind_a_minute_ago(database_url, email, zone)

    payload = wait_for_payload(page, database_url, email, "today:%")
    page.goto("/")
    listed = page.locator(".due--overdue .due__what a, .due--today .due__what a").all_inner_texts()
    assert listed == ["Acacia", "Bramble"]
    deliver(page, server, payload)
    wait_until(
        page,
        "() => navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(list => list.length === 1)",
        None,
    )
    [shown] = shown_notifications(page)
    assert shown["title"] == "2 inspections to do today"
    assert shown["body"] == ", ".join(listed)

    page.goto("/profile")
    click_the_notification(phone)
    page.wait_for_url(f"{server}/")
    expect(page.locator(".due--today")).to_contain_text("Bramble")


def remind_a_minute_ago(database_url: str, email: str, zone: ZoneInfo) -> None:
    """The device's reminder time a minute ago (the first minute of the day: midnight), and the
    device subscribed yesterday, so today's reminder is due now."""
    local = datetime.now(zone)
    at = max(local - timedelta(minutes=1), local.replace(hour=0, minute=0, second=0))

    async def change() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(
                "UPDATE push_subscriptions SET reminder_at = $2,"
                " created_at = now() - interval '1 day'"
                " WHERE user_id = (SELECT id FROM users WHERE email = $1)",
                email,
                at.time().replace(second=0, microsecond=0),
            )
        finally:
            await connection.close()

    in_thread(change())


def deliver(page: Page, server: str, payload: dict[str, Any]) -> None:
    """Chromium's push service's part: the message, decrypted, to the page's worker."""
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    # The same registration may be reported more than once (each update of it): one id.
    [registration_id] = {
        r["registrationId"]
        for r in registrations
        if r["scopeURL"] == server + "/" and not r["isDeleted"]
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": server,
            "registrationId": registration_id,
            "data": json.dumps(payload),
        },
    )


def click_the_notification(context: BrowserContext) -> None:
    """What the browser does when the user taps the notification: notificationclick, in the
    worker, with the notification shown."""
    [worker] = context.service_workers
    worker.evaluate(
        """() => self.registration.getNotifications().then(([notification]) =>
             self.dispatchEvent(new NotificationEvent("notificationclick", {notification})))"""
    )

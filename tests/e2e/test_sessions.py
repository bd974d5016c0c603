"""Sessions, as a person meets them: a password changed on the phone logs the laptop out, and
the phone stays logged in; log-out ends the session for a copy of its cookie too; "Log out
everywhere" ends the laptop's session from the phone. With JavaScript the form is swapped in
place by htmx; without it, it is a plain form and a 303. The browser enforces the
Content-Security-Policy throughout (a violation would be a console error, which fails the test).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP
from tests.e2e.journeys import (
    PASSWORD,
    WRONG_CREDENTIALS,
    expect_signed_in,
    log_in,
    log_out,
    nav,
    sign_up_from_home,
    submit,
    unique_email,
)

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a new passphrase for the hives"


def fill_password_form(page: Page, *, current: str, new: str) -> None:
    page.goto("/profile")
    expect(page.get_by_role("heading", name="Password")).to_be_visible()
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password").fill(new)


def test_a_password_change_ends_the_other_session_and_keeps_this_one(page: Page, open_page) -> None:
    name = "Ada Lovelace"
    email = unique_email()
    sign_up_from_home(page, name=name, email=email)
    laptop = open_page(DESKTOP)
    laptop.goto("/login")
    log_in(laptop, email=email)
    expect_signed_in(laptop, name)

    fill_password_form(page, current="not my password", new=NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#current_password-error")).to_have_text(
        "That is not your current password."
    )

    fill_password_form(page, current=PASSWORD, new=NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").filter(has_text="Your password was changed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/profile\?password=changed"))
    page.goto("/hives")  # the phone is still signed in
    expect(page).to_have_url(re.compile(r"/hives$"))
    expect(nav(page).get_by_role("button", name="Log out")).to_be_visible()

    laptop.goto("/hives")  # the laptop's session has ended: it is sent to log in
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Log in")
    log_in(laptop, email=email)  # with the old password: refused
    expect(laptop.get_by_text(WRONG_CREDENTIALS)).to_be_visible()
    laptop.get_by_label("Password").fill(NEW_PASSWORD)
    laptop.get_by_role("button", name="Log in").click()
    expect(nav(laptop).get_by_role("button", name="Log out")).to_be_visible()


def test_changing_the_password_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    email = unique_email()
    sign_up_from_home(page, name="Ada Lovelace", email=email, plain_form=True)
    fill_password_form(page, current=PASSWORD, new="short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#new_password-error")).to_contain_text("at least 12 characters")

    fill_password_form(page, current=PASSWORD, new=NEW_PASSWORD)
    submit(
        page,
        page.get_by_role("button", name="Change password"),
        plain_form=True,
        lands_on="/profile",
    )
    expect(page.get_by_role("status").filter(has_text="Your password was changed.")).to_be_visible()
    expect(nav(page).get_by_role("button", name="Log out")).to_be_visible()


def expect_sent_to_log_in(page: Page) -> None:
    page.goto("/hives")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(nav(page).get_by_role("button", name="Log out")).to_have_count(0)


def test_item9_a_copied_cookie_is_dead_after_log_out(page: Page, open_page) -> None:
    sign_up_from_home(page, name="Ada Lovelace", email=unique_email())
    thief = open_page(DESKTOP)
    thief.context.add_cookies(page.context.cookies())  # everything the phone's browser holds
    thief.goto("/hives")
    expect(thief).to_have_url(re.compile(r"/hives$"))  # the copy works while the session lives

    log_out(page)
    expect_sent_to_log_in(thief)


def test_item9_log_out_everywhere_from_the_phone_ends_the_laptops_session(
    page: Page, open_page
) -> None:
    email = unique_email()
    sign_up_from_home(page, name="Ada Lovelace", email=email)
    laptop = open_page(DESKTOP)
    laptop.goto("/login")
    log_in(laptop, email=email)
    expect_signed_in(laptop, "Ada Lovelace")

    page.goto("/profile")
    sessions = page.get_by_role("region", name="Your sessions").get_by_role("row")
    expect(sessions).to_have_count(3)  # the heading row and two sessions
    expect(page.get_by_text("(this browser)")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Log out everywhere").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    ended = page.get_by_role("status").filter(has_text="You were logged out on every device.")
    expect(ended).to_be_visible()
    expect_sent_to_log_in(laptop)
    expect_sent_to_log_in(page)


def test_item9_log_out_everywhere_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_up_from_home(page, name="Ada Lovelace", email=unique_email(), plain_form=True)
    page.goto("/profile")
    submit(
        page,
        page.get_by_role("button", name="Log out everywhere"),
        plain_form=True,
        lands_on="/login",
    )
    ended = page.get_by_role("status").filter(has_text="You were logged out on every device.")
    expect(ended).to_be_visible()
    expect_sent_to_log_in(page)

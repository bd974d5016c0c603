"""The accounts, as a person uses them: sign up, log in, log out, the profile.

Each test signs up users of its own (unique emails), so none depends on another or on order.
With JavaScript on, htmx boosts links and swaps forms in place; with it off, the same journeys
run as plain links, forms and 303 redirects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import (
    EMAIL_PROBLEM,
    PASSWORD,
    PASSWORD_TOO_SHORT,
    SHOTS,
    WRONG_CREDENTIALS,
    expect_signed_in,
    expect_signed_out,
    fill_log_in,
    fill_sign_up,
    log_in,
    log_out,
    nav,
    path_of,
    sign_up_from_home,
    submit,
    unique_email,
)

pytestmark = pytest.mark.e2e


def sign_up_log_out_log_in(page: Page, *, plain_forms: bool) -> None:
    name = "Ada Lovelace"
    email = unique_email()
    sign_up_from_home(page, name=name, email=email, plain_form=plain_forms)

    log_out(page, plain_form=plain_forms)
    expect(page).to_have_url(re.compile(r"/$"))

    nav(page).get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    fill_log_in(page, email=email)
    submit(page, page.get_by_role("button", name="Log in"), plain_form=plain_forms)
    expect_signed_in(page, name)


def test_sign_up_log_out_and_log_in_on_a_phone(page: Page) -> None:
    sign_up_log_out_log_in(page, plain_forms=False)


def test_sign_up_log_out_and_log_in_without_javascript(no_js_page: Page) -> None:
    sign_up_log_out_log_in(no_js_page, plain_forms=True)


def test_signed_in_home_page_on_a_phone(page: Page) -> None:
    """The page a beekeeper lands on; the screenshot is for a person to look at the layout."""
    sign_up_from_home(page, name="Grace Hopper", email=unique_email("grace"))
    log_out_button = nav(page).get_by_role("button", name="Log out")
    box = log_out_button.bounding_box()
    assert box is not None
    assert box["height"] >= 44, f"the Log out button is {box['height']} px tall: too small to tap"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "home-signed-in-phone.png", full_page=True)


def expect_sign_up_mistakes_shown(page: Page, *, name: str, email: str) -> None:
    """Each field with a mistake says so beside it, tied to it for screen readers."""
    form = page.locator("#signup-form")
    expect(form.get_by_role("alert")).to_contain_text("Please correct these fields")

    email_field = page.get_by_label("Email")
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_have_text(EMAIL_PROBLEM)
    expect(email_field).to_have_accessible_description(EMAIL_PROBLEM)

    password_field = page.get_by_label("Password")
    expect(password_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password-error")).to_have_text(PASSWORD_TOO_SHORT)
    expect(password_field).to_have_accessible_description(PASSWORD_TOO_SHORT)

    name_field = page.get_by_label("Your name")
    expect(name_field).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator(".error")).to_have_count(2)

    # What was typed is kept, except the password, which is never sent back.
    expect(name_field).to_have_value(name)
    expect(email_field).to_have_value(email)
    expect(password_field).to_have_value("")


def test_sign_up_mistakes_are_shown_in_place_with_javascript(page: Page) -> None:
    name = "Mary Somerville"
    page.goto("/signup")
    # Marks that a reload would lose: one on the window, one on the page's heading, outside the
    # form (swapping the whole body, as a boosted form would, loses that one too).
    page.evaluate("window.__marker = 1")
    page.get_by_role("heading", level=1).evaluate("heading => { heading.dataset.marker = 'kept' }")
    fill_sign_up(page, name=name, email="not-an-email", password="abc")
    with page.expect_response(
        lambda response: response.request.method == "POST" and path_of(response.url) == "/signup"
    ) as sent:
        page.get_by_role("button", name="Create account").click()
    assert sent.value.status == 422

    expect_sign_up_mistakes_shown(page, name=name, email="not-an-email")
    assert page.evaluate("window.__marker") == 1, (
        "the page was reloaded instead of the form swapped"
    )
    expect(page.get_by_role("heading", level=1)).to_have_attribute("data-marker", "kept")
    expect(page).to_have_url(re.compile(r"/signup$"))
    # The swap replaced the button that had focus: focus goes to the list of mistakes, so a
    # keyboard or screen-reader user hears them and does not start again from the top.
    expect(page.locator("#signup-form .form-summary")).to_be_focused()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "signup-errors-phone.png", full_page=True)

    page.get_by_label("Email").fill(unique_email("mary"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect_signed_in(page, name)


def test_sign_up_mistakes_are_shown_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    name = "Mary Somerville"
    page.goto("/signup")
    fill_sign_up(page, name=name, email="not-an-email", password="abc")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Create account").click()
    response = navigation.value
    assert response is not None
    assert response.status == 422
    assert response.request.method == "POST"

    expect(page.get_by_role("heading", level=1)).to_have_text("Create your CityHive account")
    expect_sign_up_mistakes_shown(page, name=name, email="not-an-email")

    page.get_by_label("Email").fill(unique_email("mary"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect_signed_in(page, name)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_wrong_password_does_not_log_in(open_page: Callable[..., Page], javascript: bool) -> None:
    page = open_page(javascript=javascript)
    email = unique_email("emmy")
    sign_up_from_home(page, name="Emmy Noether", email=email)
    log_out(page)

    page.goto("/login")
    fill_log_in(page, email=email, password="not the password at all")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(WRONG_CREDENTIALS)
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(nav(page).get_by_role("button", name="Log out")).to_have_count(0)

    page.goto("/")
    expect_signed_out(page)
    page.goto("/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")


def test_profile_asks_for_a_log_in_comes_back_and_saves(desktop_page: Page) -> None:
    page = desktop_page
    email = unique_email("ada")
    sign_up_from_home(page, name="Ada", email=email)
    log_out(page)

    page.goto("/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    login_url = urlsplit(page.url)
    assert login_url.path == "/login"
    assert parse_qs(login_url.query).get("next") == ["/profile"]

    log_in(page, email=email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    assert path_of(page.url) == "/profile"
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_label("Name", exact=True)).to_have_value("Ada")
    expect(nav(page).get_by_role("link", name="Profile")).to_have_attribute("aria-current", "page")

    page.get_by_label("Name", exact=True).fill("Ada King")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_have_text(
        "Your profile was saved."
    )
    expect(page.get_by_label("Name", exact=True)).to_have_value("Ada King")

    nav(page).get_by_role("link", name="Home").click()
    expect_signed_in(page, "Ada King")


def test_the_skip_link_comes_first_and_moves_to_the_content(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    expect(focused).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/#main$"))


def test_back_after_log_out_shows_no_private_page(page: Page) -> None:
    """On a shared phone, the next person must not page back into the last one's account."""
    email = unique_email("rosalind")
    sign_up_from_home(page, name="Rosalind Franklin", email=email)
    nav(page).get_by_role("link", name="Profile").click()
    expect(page.get_by_label("Email")).to_have_value(email)
    log_out(page)

    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(page.get_by_text(email)).to_have_count(0)
    expect(page.locator(f'input[value="{email}"]')).to_have_count(0)
    stored = page.evaluate("() => JSON.stringify({...sessionStorage, ...localStorage})")
    assert email not in stored, "a copy of the account's page stays in the browser's storage"

"""Steps of the user journeys that several feature suites share: sign up, log in, log out."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, expect

PASSWORD = "correct horse battery staple"
WRONG_CREDENTIALS = "That email and password do not match an account."
# The messages beside the fields, as far as a person needs them to say what is wrong.
EMAIL_PROBLEM = re.compile(r"\bemail\b.*@", re.IGNORECASE)
PASSWORD_TOO_SHORT = re.compile(r"at least 12 characters")
SHOTS = Path("/tmp/e2e-shots")  # noqa: S108 - screenshots for a person to look at, not kept


def unique_email(who: str = "ada") -> str:
    return f"{who}-{uuid.uuid4().hex[:12]}@example.org"


def path_of(url: str) -> str:
    return urlsplit(url).path


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def expect_signed_in(page: Page, name: str) -> None:
    """The home page as a signed-in beekeeper sees it."""
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(nav(page).get_by_role("link", name="Profile")).to_be_visible()
    expect(nav(page).get_by_role("button", name="Log out")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Log in")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Sign up")).to_have_count(0)


def expect_signed_out(page: Page) -> None:
    """The welcome page as a visitor sees it."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Beekeeping for the city")
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Sign up")).to_be_visible()
    expect(nav(page).get_by_role("button", name="Log out")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Profile")).to_have_count(0)


def fill_sign_up(page: Page, *, name: str, email: str, password: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)


def submit(
    page: Page, button: Locator, *, plain_form: bool = False, lands_on: str | None = "/"
) -> None:
    """Press a form's button. A plain form (JavaScript off) must post, then redirect (303) to
    `lands_on` (None: anywhere) and get it, so that reloading there sends nothing twice."""
    if not plain_form:
        button.click()
        return
    with page.expect_navigation() as navigation:
        button.click()
    response = navigation.value
    assert response is not None
    assert response.status == 200
    if lands_on is not None:
        assert path_of(response.url) == lands_on
    posted = response.request.redirected_from
    assert posted is not None, "the form's answer was not a redirect"
    assert posted.method == "POST"
    redirect = posted.response()
    assert redirect is not None
    assert redirect.status == 303


def sign_up_from_home(page: Page, *, name: str, email: str, plain_form: bool = False) -> None:
    """From the home page, through the nav's Sign up link, to the signed-in home page."""
    page.goto("/")
    nav(page).get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your CityHive account")
    expect(page).to_have_url(re.compile(r"/signup$"))
    fill_sign_up(page, name=name, email=email, password=PASSWORD)
    submit(page, page.get_by_role("button", name="Create account"), plain_form=plain_form)
    expect_signed_in(page, name)


def log_out(page: Page, *, plain_form: bool = False) -> None:
    submit(page, nav(page).get_by_role("button", name="Log out"), plain_form=plain_form)
    expect_signed_out(page)


def fill_log_in(page: Page, *, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)


def log_in(page: Page, *, email: str) -> None:
    """Fill and send the log-in form already on the page."""
    fill_log_in(page, email=email)
    page.get_by_role("button", name="Log in").click()

"""One page, one URL, two shapes: the full page, or the fragment for a plain htmx request."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from app.web.htmx import HtmxDetails, push_url, redirect, retarget, trigger_client_event, vary

FULL_PAGE = "<!doctype html>"


async def test_plain_get_is_a_full_page(client):
    response = await client.get("/")
    body = await response.text()
    assert response.status == 200
    assert body.startswith(FULL_PAGE)
    assert '<main id="main"' in body
    assert "Beekeeping for the city" in body
    assert response.headers["Vary"] == "HX-Request, Accept-Encoding, Accept-Language"


async def test_htmx_request_gets_only_the_fragment(client):
    response = await client.get("/", headers={"HX-Request": "true"})
    body = await response.text()
    assert response.status == 200
    assert "Beekeeping for the city" in body
    assert "<html" not in body
    assert "<header" not in body
    assert response.headers["Vary"] == "HX-Request, Accept-Encoding, Accept-Language"


@pytest.mark.parametrize(
    "extra",
    [{"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}],
    ids=["boosted", "history-restore"],
)
async def test_boosted_and_history_restore_get_the_full_page(client, extra):
    response = await client.get("/", headers={"HX-Request": "true", **extra})
    body = await response.text()
    assert body.startswith(FULL_PAGE)
    assert response.headers["Vary"] == "HX-Request, Accept-Encoding, Accept-Language"


async def test_the_shell_configures_htmx_as_the_design_requires(client):
    body = await (await client.get("/")).text()
    start = body.index('name="htmx-config" content=\'') + len('name="htmx-config" content=\'')
    config = json.loads(body[start : body.index("'", start)])
    assert config["historyRestoreAsHxRequest"] is False
    swapped = {rule["code"] for rule in config["responseHandling"] if rule["swap"]}
    assert "422" in swapped
    assert 'hx-boost="true"' in body


def details(**headers: str) -> HtmxDetails:
    from aiohttp.test_utils import make_mocked_request

    return HtmxDetails.of(make_mocked_request("GET", "/", headers=headers))


def test_htmx_details_read_every_header():
    parsed = details(
        **{
            "HX-Request": "true",
            "HX-Target": "main",
            "HX-Trigger": "search",
            "HX-Current-URL": "http://localhost/hives",
        }
    )
    assert parsed.request
    assert not parsed.boosted
    assert not parsed.history_restore
    assert (parsed.target, parsed.trigger) == ("main", "search")
    assert parsed.current_url == "http://localhost/hives"
    assert parsed.wants_fragment
    assert not details().request
    assert not details(**{"HX-Request": "true", "HX-Boosted": "true"}).wants_fragment


def test_trigger_client_event_adds_events_to_one_header():
    response = web.Response()
    trigger_client_event(response, "hiveSaved", {"id": 3})
    trigger_client_event(response, "toast")
    trigger_client_event(response, "later", after="settle")
    assert json.loads(response.headers["HX-Trigger"]) == {"hiveSaved": {"id": 3}, "toast": {}}
    assert json.loads(response.headers["HX-Trigger-After-Settle"]) == {"later": {}}


def test_push_url_and_retarget_set_their_headers():
    response = web.Response()
    push_url(response, "/hives?page=2")
    retarget(response, "#errors", reswap="innerHTML")
    assert response.headers["HX-Push-Url"] == "/hives?page=2"
    assert response.headers["HX-Retarget"] == "#errors"
    assert response.headers["HX-Reswap"] == "innerHTML"
    push_url(response, None)
    assert response.headers["HX-Push-Url"] == "false"


def test_vary_keeps_what_is_there_once():
    response = web.Response(headers={"Vary": "Accept-Encoding"})
    vary(response, "HX-Request", "accept-encoding")
    assert response.headers["Vary"] == "Accept-Encoding, HX-Request"


def test_redirect_after_a_form_post_depends_on_who_posted():
    from aiohttp.test_utils import make_mocked_request

    plain = redirect(make_mocked_request("POST", "/signup"), "/")
    assert (plain.status, plain.headers["Location"]) == (303, "/")
    in_place = redirect(make_mocked_request("POST", "/signup", headers={"HX-Request": "true"}), "/")
    assert (in_place.status, in_place.headers["HX-Redirect"]) == (204, "/")
    assert plain.headers["Vary"] == in_place.headers["Vary"] == "HX-Request"

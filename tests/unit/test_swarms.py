"""Swarm reports: the public form and its status link, bad input and abuse, collectors, claims.

The collectors' radius query at 100,000 reports is in test_swarms_radius.py; the claim race in
test_swarms_claim_race.py.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.main import create_app
from app.models import (
    SwarmCollector,
    SwarmOutcome,
    SwarmReport,
    SwarmStatus,
    ThrottleAttempt,
)
from app.swarms.queries import open_reports_near, token_hash
from app.web.formatting import distance
from tests.unit.conftest import csrf_token, log_in, make_user

# Alexanderplatz, and places north of it (0.009° of latitude is about 1 km).
ALEX = (52.5219, 13.4132)
REPORT = {
    "latitude": "52.548900",  # 3 km north of Alexanderplatz
    "longitude": "13.413200",
    "seen": "half_hour",
    "height": "ladder",
    "hanging_on": "lamp post",
    "size": "medium",
    "description": "On the lamp post outside the bakery, about 3 m up.",
    "contact": "+49 30 1234567",
    "homepage": "",
}
STATUS_LINK = re.compile(r"^/swarms/status/([A-Za-z0-9_-]{32})$")


async def report(client, **fields: str):
    token = await csrf_token(client, "/swarms/report")
    return await client.post(
        "/swarms/report", data={**REPORT, **fields, "_csrf": token}, allow_redirects=False
    )


async def reported(client, **fields: str) -> str:
    """Send a report; the status link's path."""
    response = await report(client, **fields)
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    assert STATUS_LINK.match(location), location
    return location


async def report_count(db) -> int:
    return await db.scalar(select(func.count()).select_from(SwarmReport)) or 0


async def become_collector(client, latitude=ALEX[0], longitude=ALEX[1], radius_km="5"):
    token = await csrf_token(client, "/swarms")
    response = await client.post(
        "/swarms/collector",
        data={
            "latitude": str(latitude),
            "longitude": str(longitude),
            "radius_km": radius_km,
            "_csrf": token,
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    return response


async def only_report(db) -> SwarmReport:
    found = await db.scalar(select(SwarmReport))
    assert found is not None
    await db.refresh(found)
    return found


async def claim(client, report_id: int, **headers: str):
    token = await csrf_token(client, f"/swarms/{report_id}")
    return await client.post(
        f"/swarms/{report_id}/claim", data={"_csrf": token}, headers=headers, allow_redirects=False
    )


# --- the public report -------------------------------------------------------------------------


async def test_the_report_form_needs_no_account(client):
    response = await client.get("/swarms/report")
    page = await response.text()
    assert response.status == 200
    assert "<h1>Report a swarm</h1>" in page
    assert 'data-map="picker"' in page
    assert 'data-locate-into="#latitude,#longitude"' in page
    assert 'name="_csrf"' in page
    assert 'class="field honeypot"' in page
    for name, limit in (("description", 500), ("contact", 254), ("hanging_on", 100)):
        assert re.search(rf'id="{name}"[^>]*maxlength="{limit}"', page), name


async def test_a_report_is_stored_and_its_status_link_shows_it(client, db):
    location = await reported(client)
    stored = await only_report(db)
    point = await db.scalar(select(func.ST_AsText(SwarmReport.location)))
    assert point == "POINT(13.4132 52.5489)"
    assert stored.status == SwarmStatus.open
    assert (stored.height.value, stored.size.value) == ("ladder", "medium")
    assert stored.contact == "+49 30 1234567"
    assert str(stored.reporter_address) == "127.0.0.1"
    token = STATUS_LINK.match(location).group(1)  # type: ignore[union-attr]
    assert stored.status_token_hash == token_hash(token) != token
    assert timedelta(minutes=29) < stored.created_at - stored.seen_at < timedelta(minutes=31)
    assert timedelta(hours=47) < stored.expires_at - stored.created_at <= timedelta(hours=48)

    response = await client.get(location)
    page = await response.text()
    assert response.status == 200
    assert 'data-stage="reported"' in page
    assert "Status: <strong>Reported</strong>" in page
    assert "+49 30 1234567" not in page  # the contact is for the collector
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert f"{location}</" not in page
    assert location in page


async def test_an_email_is_a_contact_too(client, db):
    await reported(client, contact=" Ada@Example.org ")
    assert (await only_report(db)).contact == "Ada@example.org"


async def test_a_wrong_or_guessed_status_token_is_404(client):
    await reported(client)
    for token in ("x" * 32, "guess", "A" * 100):
        response = await client.get(f"/swarms/status/{token}")
        assert response.status == 404
        assert "No swarm report has this link" in await response.text()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latitude", "91", "Enter 90 or less."),
        ("longitude", "-181", "Enter -180 or more."),
        ("latitude", "1" * 30, "too long for a number here"),
        ("latitude", "north", "Enter a number."),
        ("latitude", "48.8566", "outside the area CityHive covers"),
        ("description", "   ", "This field is required."),
        ("description", "b" * 501, "Use at most 500 characters."),
        ("contact", "call me", "phone number"),
        ("contact", "12", "phone number"),
        ("contact", "ada@", "phone number"),
        ("contact", "1" * 255, "Use at most 254 characters."),
        ("hanging_on", "x" * 101, "Use at most 100 characters."),
        ("size", "enormous", "Choose one of the options."),
        ("seen", "last year", "Choose one of the options."),
    ],
)
async def test_bad_reports_are_refused_with_a_message(client, db, field, value, message):
    response = await report(client, **{field: value})
    page = await response.text()
    assert response.status == 422
    assert f'id="{field}-error"' in page
    assert message in page
    kept = "+49 30 1234567" if field == "hanging_on" else "lamp post"
    assert f'value="{kept}"' in page  # what was typed is kept
    assert await report_count(db) == 0


async def test_the_honeypot_catches_robots(client, db):
    response = await report(client, homepage="http://cheap-pills.example")
    page = await response.text()
    assert response.status == 422
    assert 'id="homepage-error"' in page
    assert 'class="field honeypot"' not in page  # shown, for a person whose browser filled it
    assert await report_count(db) == 0


async def test_too_many_reports_from_one_address_get_429_with_retry_after(client, db):
    for _ in range(5):
        await reported(client)
    response = await report(client)
    assert response.status == 429
    assert 3500 <= int(response.headers["Retry-After"]) <= 3601
    assert "try again in 60 min" in await response.text()
    assert await report_count(db) == 5

    # An hour later the oldest has left the window.
    await db.execute(
        update(ThrottleAttempt).values(at=ThrottleAttempt.at - timedelta(hours=1, seconds=1))
    )
    await db.commit()
    await reported(client)


async def test_reports_are_counted_per_address(client, db):
    for _ in range(5):
        await reported(client)
    await db.execute(update(ThrottleAttempt).values(key="192.0.2.7"))
    await db.commit()
    await reported(client)  # 127.0.0.1 has sent none now


async def test_without_the_csrf_token_nothing_is_reported(client, db):
    await csrf_token(client, "/swarms/report")
    response = await client.post("/swarms/report", data=REPORT)
    assert response.status == 403
    assert await report_count(db) == 0


async def test_the_form_as_fragment_and_as_page(client):
    fragment = await client.get("/swarms/report", headers={"HX-Request": "true"})
    assert "<html" not in await fragment.text()
    assert 'id="swarm-report-form"' in await fragment.text()
    boosted = await client.get(
        "/swarms/report", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert "<html" in await boosted.text()
    assert "HX-Request" in fragment.headers["Vary"]


async def test_an_htmx_report_is_sent_on_with_hx_redirect(client):
    token = await csrf_token(client, "/swarms/report")
    response = await client.post(
        "/swarms/report",
        data={**REPORT, "_csrf": token},
        headers={"HX-Request": "true"},
        allow_redirects=False,
    )
    assert response.status == 204
    assert STATUS_LINK.match(response.headers["HX-Redirect"])


# --- collectors --------------------------------------------------------------------------------


async def test_swarm_collecting_is_for_signed_in_beekeepers(client):
    for path in ("/swarms", "/swarms/near", "/swarms/1"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"].startswith("/login?next=")
    response = await client.get("/swarms/open.geojson")
    assert response.status == 401


async def test_a_beekeeper_without_hives_is_offered_swarm_collecting_on_today(logged_in):
    page = await (await logged_in.get("/")).text()
    assert "You have no hives yet." in page
    assert '<a class="button" href="/swarms">Swarm collecting</a>' in page


async def test_a_beekeeper_opts_in_as_a_collector_and_can_stop(logged_in, db, user):
    page = await (await logged_in.get("/swarms")).text()
    assert "Become a swarm collector" in page
    assert 'name="radius_km" type="text" value="5"' in page  # 5 km unless chosen otherwise
    response = await become_collector(logged_in, radius_km="3,5")
    assert response.headers["Location"] == "/swarms?saved=1"
    collector = await db.get(SwarmCollector, user.id)
    assert collector is not None
    assert collector.radius_m == 3500
    page = await (await logged_in.get("/swarms?saved=1")).text()
    assert "within 3.5 km of your base" in page
    assert "Your collecting settings are saved." in page

    await become_collector(logged_in, radius_km="10")  # a change, not a second collector
    await db.refresh(collector)
    assert collector.radius_m == 10_000

    token = await csrf_token(logged_in, "/swarms")
    response = await logged_in.post(
        "/swarms/collector/stop", data={"_csrf": token}, allow_redirects=False
    )
    assert response.status == 303
    db.expunge_all()
    assert await db.get(SwarmCollector, user.id) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("radius_km", "0.1", "Enter 0.5 or more."),
        ("latitude", "", "Required: use your position, tap the map, or type it."),
        ("longitude", "east", "Enter a number."),
    ],
)
async def test_bad_collector_settings_are_refused(logged_in, db, user, field, value, message):
    token = await csrf_token(logged_in, "/swarms")
    values = {"latitude": "52.52", "longitude": "13.41", "radius_km": "5", field: value}
    response = await logged_in.post(
        "/swarms/collector", data={**values, "_csrf": token}, headers={"HX-Request": "true"}
    )
    page = await response.text()
    assert response.status == 422
    assert page.startswith('<form id="collector-form"') or '<form id="collector-form"' in page
    assert "<html" not in page
    assert message in page
    assert await db.get(SwarmCollector, user.id) is None


async def test_open_reports_near_a_collector_nearest_first_with_distance(logged_in, db, user):
    assert await open_reports_near(db, user.id) == []  # not a collector: nothing
    await reported(logged_in, latitude="52.5489")  # 3 km north
    await reported(logged_in, latitude="52.5309", description="Close by")  # 1 km north
    await reported(logged_in, latitude="52.6119", description="Too far")  # 10 km north
    assert await open_reports_near(db, user.id) == []
    await become_collector(logged_in)
    near = await open_reports_near(db, user.id)
    assert [r.description for r in near] == ["Close by", REPORT["description"]]
    assert [distance(r.distance_m) for r in near] == ["1.0 km", "3.0 km"]
    assert near[0].size_label == "About a football"

    page = await (await logged_in.get("/swarms")).text()
    assert page.index("Close by") < page.index("bakery")
    assert "Too far" not in page
    assert "3.0 km away" in page
    assert "+49 30 1234567" not in page  # not claimed: no contact

    geojson = await logged_in.get("/swarms/open.geojson")
    assert geojson.content_type == "application/geo+json"
    collection = json.loads(await geojson.text())
    assert [f["geometry"]["coordinates"] for f in collection["features"]] == [
        [13.4132, 52.5309],
        [13.4132, 52.5489],
    ]
    properties = collection["features"][0]["properties"]
    assert properties["url"] == f"/swarms/{collection['features'][0]['id']}"
    assert "contact" not in properties
    assert "description" not in properties


async def test_the_list_alone_for_htmx_refreshes_itself(logged_in):
    await become_collector(logged_in)
    await reported(logged_in)
    response = await logged_in.get("/swarms/near", headers={"HX-Request": "true"})
    fragment = await response.text()
    assert fragment.startswith('<section id="swarm-reports"')
    assert 'hx-trigger="swarms-changed from:body"' in fragment
    assert 'action="/swarms/1/claim" method="post"' in fragment
    assert "<html" in await (await logged_in.get("/swarms/near")).text()


async def test_expired_and_claimed_reports_are_not_offered(logged_in, db):
    await become_collector(logged_in)
    await reported(logged_in)
    await db.execute(update(SwarmReport).values(expires_at=func.now() - timedelta(seconds=1)))
    await db.commit()
    assert "No open swarm reports near you" in await (await logged_in.get("/swarms/near")).text()


# --- claiming, releasing, closing --------------------------------------------------------------


async def test_a_collector_claims_sees_the_contact_and_closes(client, aiohttp_client, settings, db):
    status = await reported(client)  # a passer-by, no account
    await make_user(db, name="Bea", email="bea@example.org")
    bea = await aiohttp_client(create_app(settings))
    await log_in(bea, "bea@example.org")
    await become_collector(bea)
    report_id = (await only_report(db)).id

    before = await (await bea.get(f"/swarms/{report_id}")).text()
    assert "Claim this swarm" in before
    assert "+49 30 1234567" not in before

    response = await claim(bea, report_id)
    assert response.status == 303
    assert response.headers["Location"] == f"/swarms/{report_id}"
    page = await (await bea.get(f"/swarms/{report_id}")).text()
    assert 'href="tel:+49301234567"' in page
    assert "You claimed this swarm" in page
    assert "Status: <strong>Claimed</strong>" in await (await client.get(status)).text()

    token = await csrf_token(bea, f"/swarms/{report_id}")
    response = await bea.post(
        f"/swarms/{report_id}/close",
        data={"outcome": "collected", "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303
    stored = await only_report(db)
    assert (stored.status, stored.outcome) == (SwarmStatus.closed, SwarmOutcome.collected)
    assert stored.closed_at is not None
    assert "Status: <strong>Collected</strong>" in await (await client.get(status)).text()
    assert "+49 30 1234567" not in await (await bea.get(f"/swarms/{report_id}")).text()


async def test_a_second_claim_is_refused_and_changes_nothing(aiohttp_client, settings, db):
    clients = []
    for name in ("bea", "cem"):
        await make_user(db, name=name.title(), email=f"{name}@example.org")
        client = await aiohttp_client(create_app(settings))
        await log_in(client, f"{name}@example.org")
        await become_collector(client)
        clients.append(client)
    bea, cem = clients
    await reported(bea)
    report_id = (await only_report(db)).id
    assert (await claim(bea, report_id)).status == 303
    first = await only_report(db)

    response = await claim(cem, report_id)
    page = await response.text()
    assert response.status == 409
    assert '<h1 id="refused-title">Already claimed</h1>' in page
    assert "Another beekeeper claimed this swarm first. Nothing was changed." in page

    # With htmx (a boosted form): the message goes to the page's alert region, and the lists
    # of open reports fetch themselves again.
    response = await claim(cem, report_id, **{"HX-Request": "true", "HX-Boosted": "true"})
    fragment = await response.text()
    assert response.status == 200
    assert fragment.startswith('<p class="alert" role="alert">Already claimed: Another')
    assert (response.headers["HX-Retarget"], response.headers["HX-Reswap"]) == (
        "#alerts",
        "innerHTML",
    )
    assert response.headers["HX-Push-Url"] == "false"
    assert json.loads(response.headers["HX-Trigger"]) == {"swarms-changed": {}}
    again = await only_report(db)
    assert (again.claimed_by, again.claimed_at) == (first.claimed_by, first.claimed_at)
    cems_view = await (await cem.get(f"/swarms/{report_id}")).text()
    assert "Another beekeeper has claimed this swarm." in cems_view
    assert "+49 30 1234567" not in cems_view

    # Claiming one's own claim again is no conflict: it leads to the report.
    assert (await claim(bea, report_id)).status == 303


async def test_claims_on_closed_expired_or_missing_reports(logged_in, db):
    await become_collector(logged_in)
    await reported(logged_in)
    report_id = (await only_report(db)).id
    await db.execute(update(SwarmReport).values(expires_at=func.now() - timedelta(minutes=1)))
    await db.commit()
    response = await claim(logged_in, report_id)
    assert response.status == 409
    assert "expired before anyone claimed it" in await response.text()
    assert (await only_report(db)).status == SwarmStatus.open

    await db.execute(
        update(SwarmReport).values(status=SwarmStatus.closed, outcome=SwarmOutcome.gone)
    )
    await db.commit()
    response = await claim(logged_in, report_id)
    assert response.status == 409
    assert "This report is closed." in await response.text()
    assert (await claim(logged_in, 9999)).status == 404


async def test_only_collectors_may_claim(logged_in, db):
    await reported(logged_in)
    report_id = (await only_report(db)).id
    # For a beekeeper who collects no swarms the report does not exist.
    assert (await logged_in.get(f"/swarms/{report_id}")).status == 404
    token = await csrf_token(logged_in, "/swarms")
    response = await logged_in.post(
        f"/swarms/{report_id}/claim", data={"_csrf": token}, allow_redirects=False
    )
    assert response.status == 403
    assert "Only swarm collectors can claim reports" in await response.text()
    assert (await only_report(db)).status == SwarmStatus.open


async def test_releasing_a_claim_offers_the_report_again(logged_in, db, user):
    await become_collector(logged_in)
    await reported(logged_in)
    report_id = (await only_report(db)).id
    await claim(logged_in, report_id)
    assert await open_reports_near(db, user.id) == []
    page = await (await logged_in.get("/swarms")).text()
    assert "Your claims" in page
    assert f'href="/swarms/{report_id}"' in page

    token = await csrf_token(logged_in, f"/swarms/{report_id}")
    response = await logged_in.post(
        f"/swarms/{report_id}/release", data={"_csrf": token}, allow_redirects=False
    )
    assert response.status == 303
    stored = await only_report(db)
    assert (stored.status, stored.claimed_by) == (SwarmStatus.open, None)
    assert [r.id for r in await open_reports_near(db, user.id)] == [report_id]

    response = await logged_in.post(f"/swarms/{report_id}/release", data={"_csrf": token})
    assert response.status == 409  # not claimed by them any more
    response = await logged_in.post(
        f"/swarms/{report_id}/close", data={"outcome": "gone", "_csrf": token}
    )
    assert response.status == 409
    assert (await only_report(db)).status == SwarmStatus.open


async def test_closing_needs_an_outcome(logged_in, db):
    await become_collector(logged_in)
    await reported(logged_in)
    report_id = (await only_report(db)).id
    await claim(logged_in, report_id)
    token = await csrf_token(logged_in, f"/swarms/{report_id}")
    response = await logged_in.post(
        f"/swarms/{report_id}/close", data={"outcome": "eaten", "_csrf": token}
    )
    assert response.status == 422
    assert 'id="outcome-error"' in await response.text()
    assert (await only_report(db)).status == SwarmStatus.claimed


async def test_status_page_says_when_a_report_expired_or_closed(client, db):
    status = await reported(client)
    await db.execute(update(SwarmReport).values(expires_at=func.now() - timedelta(minutes=1)))
    await db.commit()
    page = await (await client.get(status)).text()
    assert "Status: <strong>Closed</strong>" in page
    assert "nobody could come in time" in page
    await db.execute(
        update(SwarmReport).values(status=SwarmStatus.closed, outcome=SwarmOutcome.not_honeybees)
    )
    await db.commit()
    assert "not honeybees" in await (await client.get(status)).text()


async def test_the_claim_constraint_keeps_outcomes_with_closed_reports(client, db):
    await reported(client)
    with pytest.raises(Exception, match="closed_with_outcome"):
        await db.execute(text("UPDATE swarm_reports SET status = 'closed'"))
    await db.rollback()


# --- in the reader's language ------------------------------------------------------------------


async def test_the_public_report_form_in_german_without_an_account(client):
    """A passer-by has no account: the browser's Accept-Language decides, and says so (Vary)."""
    response = await client.get("/swarms/report", headers={"Accept-Language": "de-DE,de;q=0.9"})
    page = await response.text()
    assert response.status == 200
    assert response.headers["Content-Language"] == "de"
    assert "Accept-Language" in response.headers["Vary"]
    assert "<h1>Schwarm melden</h1>" in page
    assert "<title>Schwarm melden" in page
    assert ">Wann haben Sie den Schwarm gesehen?</label>" in page
    assert '<option value="half_hour">Vor etwa einer halben Stunde</option>' in page
    assert '<option value="medium">Etwa so groß wie ein Fußball</option>' in page
    assert 'aria-label="Tippen Sie auf die Karte, wo der Schwarm ist"' in page
    assert "z. B. 52,5200" in page  # the example as a German writes a number
    assert "Bis zu 500 Zeichen." in page
    assert ">Meldung senden</button>" in page
    assert "When did you see it?" not in page


async def test_a_refused_report_is_explained_in_french(client, db):
    french = {"Accept-Language": "fr-FR,fr;q=0.8,en;q=0.5"}
    token = await csrf_token(client, "/swarms/report")
    response = await client.post(
        "/swarms/report", data={**REPORT, "contact": "ada@", "_csrf": token}, headers=french
    )
    page = await response.text()
    assert response.status == 422
    assert response.headers["Content-Language"] == "fr"
    assert "<h1>Signaler un essaim</h1>" in page
    assert "Votre téléphone ou e-mail" in page  # the field's title, in the summary too
    assert (
        "Indiquez un numéro de téléphone (par ex. +33 1 23 45 67 89) ou une adresse e-mail." in page
    )
    assert "phone number" not in page

    # The service area's bounds with decimal commas, in a sentence of its own.
    response = await client.post(
        "/swarms/report", data={**REPORT, "latitude": "48.8566", "_csrf": token}, headers=french
    )
    page = await response.text()
    assert response.status == 422
    assert (
        "Cet endroit est en dehors de la zone couverte par CityHive "
        "(latitude 52,338 à 52,675, longitude 13,088 à 13,761)."
    ) in page
    assert "outside the area" not in page
    assert await report_count(db) == 0


async def test_the_status_page_and_its_history_follow_the_language_cookie(
    client, aiohttp_client, settings, db
):
    status = await reported(client)
    await make_user(db, name="Bea", email="bea@example.org")
    bea = await aiohttp_client(create_app(settings))
    await log_in(bea, "bea@example.org")
    await become_collector(bea)
    report_id = (await only_report(db)).id
    assert (await claim(bea, report_id)).status == 303
    # The claim on a summer morning, in UTC as stored: Berlin is two hours ahead.
    await db.execute(
        text("UPDATE swarm_claim_events SET at = '2026-06-01 08:02+00' WHERE report_id = :id"),
        {"id": report_id},
    )
    await db.commit()

    client.session.cookie_jar.update_cookies({"cityhive_lang": "de"})
    response = await client.get(status, headers={"Accept-Language": "fr"})  # the cookie wins
    page = await response.text()
    assert response.headers["Content-Language"] == "de"
    assert '<h1 id="status-title">Ihre Schwarmmeldung</h1>' in page
    assert "Status: <strong>Übernommen</strong>" in page
    assert "Ein Imker hat Ihren Schwarm übernommen und ist unterwegs." in page
    assert (
        '<li data-event="claimed">Von einem Imker übernommen '
        '(<time datetime="2026-06-01T10:02+02:00">1. Juni, 10:02</time>)</li>'
    ) in page
    assert "<dd>Etwa so groß wie ein Fußball</dd>" in page
    assert "<dd>52,54890, 13,41320</dd>" in page  # the place with decimal commas
    assert "Claimed by a beekeeper" not in page

    client.session.cookie_jar.update_cookies({"cityhive_lang": "fr"})
    page = await (await client.get(status)).text()
    assert "Statut\u00a0: <strong>Pris en charge</strong>" in page
    assert "Pris en charge par un apiculteur (<time" in page
    assert ">1 juin" in page

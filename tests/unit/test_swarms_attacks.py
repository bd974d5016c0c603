"""Issue 13, items 1 and 10: what an attacker did with swarm reports, each tried again here.

The attacker signs up, declares themselves a collector somewhere, and walks the sequential
report ids: claiming reports far outside their radius, reading reporters' contacts, releasing the
claims to leave no trace, and doing it fast. And anyone can send many reports at once, or from
many addresses of one IPv6 network, to get past the per-address limit.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Network
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import InvalidRequestError

from app.main import create_app
from app.models import (
    SwarmClaimEvent,
    SwarmClaimEventKind,
    SwarmOutcome,
    SwarmReport,
    SwarmStatus,
)
from app.swarms.queries import (
    ClaimEventView,
    create_report,
    held_contact,
    open_reports_near,
    report_by_token,
)
from app.swarms.schemas import SwarmReportForm
from tests.unit.conftest import csrf_token, log_in, make_user
from tests.unit.test_swarms import ALEX, REPORT, become_collector, report, reported

CONTACT = REPORT["contact"]
# 1 km of latitude is about 0.009°.
KM = 0.009


async def collector_client(aiohttp_client, settings, db, name: str, **where):
    """A signed-in beekeeper who collects swarms (around Alexanderplatz unless told)."""
    await make_user(db, name=name.title(), email=f"{name}@example.org")
    client = await aiohttp_client(create_app(settings))
    await log_in(client, f"{name}@example.org")
    await become_collector(client, **where)
    return client


async def report_at(db, latitude: float, description: str = "On the lamp post") -> int:
    """A report due north of Alexanderplatz, as a passer-by would send it; its id."""
    form = SwarmReportForm.model_validate(
        {**REPORT, "latitude": latitude, "longitude": ALEX[1], "description": description}
    )
    await create_report(db, form, address="192.0.2.1", expires_in=timedelta(hours=48))
    return int(
        await db.scalar(
            select(func.max(SwarmReport.id)).where(SwarmReport.description == description)
        )
    )


async def post(client, path: str, **data: str):
    token = await csrf_token(client, "/swarms")
    return await client.post(path, data={**data, "_csrf": token}, allow_redirects=False)


async def stored(db, report_id: int) -> SwarmReport:
    found = await db.get(SwarmReport, report_id, populate_existing=True)
    assert found is not None
    return found


async def events(db, report_id: int) -> list[tuple[SwarmClaimEventKind, int | None]]:
    rows = await db.execute(
        select(SwarmClaimEvent.kind, SwarmClaimEvent.collector_id)
        .where(SwarmClaimEvent.report_id == report_id)
        .order_by(SwarmClaimEvent.id)
    )
    await db.commit()
    return [(kind, collector) for kind, collector in rows]


# --- item 1: claims only within the radius -----------------------------------------------------


async def test_item1_claim_far_outside_radius_refused(client, aiohttp_client, settings, db):
    """A collector with a 0.5 km radius in Spandau claims a report at Alexanderplatz by its id:
    404, as for an id that names nothing; the report stays open, its contact unseen."""
    far = await report_at(db, ALEX[0], "At Alexanderplatz")
    spandau = await collector_client(
        aiohttp_client,
        settings,
        db,
        "mallory",
        latitude=52.5357,
        longitude=13.1998,
        radius_km="0.5",
    )
    response = await post(spandau, f"/swarms/{far}/claim")
    assert response.status == 404
    assert CONTACT not in await response.text()
    assert (await stored(db, far)).status == SwarmStatus.open
    assert await events(db, far) == []
    missing = await post(spandau, "/swarms/99999/claim")
    assert missing.status == 404  # the same answer: ids cannot be probed


async def test_item1_claim_accepts_exactly_the_reports_the_list_offers(
    client, aiohttp_client, settings, db
):
    """At the edge of the radius too: whatever the collector's list offers can be claimed, and
    nothing else can, because both are the same predicate."""
    ids = {
        distance: await report_at(db, ALEX[0] + distance * KM, f"{distance} km north")
        for distance in (1, 4.9, 5.1, 8)
    }
    bea = await collector_client(aiohttp_client, settings, db, "bea")
    user_id = int(await db.scalar(text("SELECT id FROM users WHERE email = 'bea@example.org'")))
    offered = {near.id for near in await open_reports_near(db, user_id, limit=None)}
    assert offered == {ids[1], ids[4.9]}
    for report_id in ids.values():
        response = await post(bea, f"/swarms/{report_id}/claim")
        assert response.status == (303 if report_id in offered else 404), report_id
    claimed = await db.scalars(
        select(SwarmReport.id).where(SwarmReport.status == SwarmStatus.claimed)
    )
    assert set(claimed) == offered


# --- item 1: who may open a report --------------------------------------------------------------


async def test_item1_detail_page_404_for_out_of_radius_collector(
    client, aiohttp_client, settings, db
):
    report_id = await report_at(db, ALEX[0] + 3 * KM)
    near = await collector_client(aiohttp_client, settings, db, "bea")
    far = await collector_client(
        aiohttp_client, settings, db, "mallory", latitude=52.5357, longitude=13.1998, radius_km="2"
    )
    none = await aiohttp_client(create_app(settings))
    await make_user(db, name="Nico", email="nico@example.org")
    await log_in(none, "nico@example.org")  # signed in, collects nothing

    assert (await near.get(f"/swarms/{report_id}")).status == 200
    for outsider in (far, none):
        response = await outsider.get(f"/swarms/{report_id}")
        assert response.status == 404
        assert "On the lamp post" not in await response.text()
        assert (await post(outsider, f"/swarms/{report_id}/release")).status == 404
        closing = await post(outsider, f"/swarms/{report_id}/close", outcome="gone")
        assert closing.status == 404

    # The claimer keeps the page when they move their base away: it is their claim.
    assert (await post(near, f"/swarms/{report_id}/claim")).status == 303
    await become_collector(near, latitude=52.5357, longitude=13.1998, radius_km="1")
    page = await near.get(f"/swarms/{report_id}")
    assert page.status == 200
    assert CONTACT in await page.text()


# --- item 1: the contact, to the claimer while the claim is held --------------------------------


async def test_item1_contact_hidden_after_release_and_from_other_collectors(
    client, aiohttp_client, settings, db
):
    report_id = await report_at(db, ALEX[0] + 2 * KM)
    bea = await collector_client(aiohttp_client, settings, db, "bea")
    cem = await collector_client(aiohttp_client, settings, db, "cem")

    assert (await post(bea, f"/swarms/{report_id}/claim")).status == 303
    assert CONTACT in await (await bea.get(f"/swarms/{report_id}")).text()
    for path in (f"/swarms/{report_id}", "/swarms", "/swarms/near", "/swarms/open.geojson"):
        assert CONTACT not in await (await cem.get(path)).text(), path
    for path in ("/swarms", "/swarms/near", "/swarms/open.geojson", "/"):
        assert CONTACT not in await (await bea.get(path)).text(), path

    assert (await post(bea, f"/swarms/{report_id}/release")).status == 303
    for viewer in (bea, cem):
        page = await viewer.get(f"/swarms/{report_id}")
        assert page.status == 200
        assert CONTACT not in await page.text()

    # A collector elsewhere in the city takes the open report by its id: refused, nothing seen.
    mallory = await collector_client(
        aiohttp_client, settings, db, "mallory", latitude=52.5357, longitude=13.1998, radius_km="1"
    )
    claimed = await post(mallory, f"/swarms/{report_id}/claim")
    assert claimed.status == 404
    page = await mallory.get(f"/swarms/{report_id}")
    assert page.status == 404
    assert CONTACT not in await claimed.text() + await page.text()

    # Claimed again and closed: the contact goes with the claim.
    assert (await post(cem, f"/swarms/{report_id}/claim")).status == 303
    assert CONTACT in await (await cem.get(f"/swarms/{report_id}")).text()
    assert (await post(cem, f"/swarms/{report_id}/close", outcome="collected")).status == 303
    assert CONTACT not in await (await cem.get(f"/swarms/{report_id}")).text()
    assert (await stored(db, report_id)).outcome == SwarmOutcome.collected


# --- item 1: every claim and release recorded, and shown to the reporter ------------------------


async def test_item1_claim_history_on_the_status_page(client, aiohttp_client, settings, db):
    status = await reported(client, latitude=f"{ALEX[0] + KM:.6f}")
    report_id = int(await db.scalar(select(SwarmReport.id)))
    bea = await collector_client(aiohttp_client, settings, db, "bea")
    cem = await collector_client(aiohttp_client, settings, db, "cem")
    assert (await post(bea, f"/swarms/{report_id}/claim")).status == 303
    assert (await post(bea, f"/swarms/{report_id}/release")).status == 303
    assert (await post(cem, f"/swarms/{report_id}/claim")).status == 303
    assert (await post(cem, f"/swarms/{report_id}/close", outcome="collected")).status == 303

    ids = dict((await db.execute(text("SELECT name, id FROM users"))).all())
    assert await events(db, report_id) == [
        (SwarmClaimEventKind.claimed, ids["Bea"]),
        (SwarmClaimEventKind.released, ids["Bea"]),
        (SwarmClaimEventKind.claimed, ids["Cem"]),
        (SwarmClaimEventKind.closed, ids["Cem"]),
    ]

    # Put the four events on a summer morning, in UTC as stored: Berlin is two hours ahead.
    moments = [datetime(2026, 6, 1, 8, minute, tzinfo=UTC) for minute in (2, 5, 11, 40)]
    event_ids = list(
        await db.scalars(
            select(SwarmClaimEvent.id)
            .where(SwarmClaimEvent.report_id == report_id)
            .order_by(SwarmClaimEvent.id)
        )
    )
    for event_id, moment in zip(event_ids, moments, strict=True):
        await db.execute(
            update(SwarmClaimEvent).where(SwarmClaimEvent.id == event_id).values(at=moment)
        )
    await db.commit()

    page = await (await client.get(status)).text()
    lines = [
        ("claimed", "Claimed by a beekeeper", "10:02"),
        ("released", "Released: the beekeeper could not come after all", "10:05"),
        ("claimed", "Claimed by a beekeeper", "10:11"),
        ("closed", "Collected", "10:40"),
    ]
    position = 0
    for kind, what, clock in lines:
        line = (
            f'<li data-event="{kind}">{what} at '
            f'<time datetime="2026-06-01T{clock}+02:00">1 June, {clock}</time></li>'
        )
        assert line in page[position:], line
        position = page.index(line, position)
    for name in ("Bea", "Cem", "bea@example.org", "cem@example.org"):
        assert name not in page  # "a beekeeper": the reporter learns no collector's name


def test_item1_history_times_read_as_the_clock_today_and_with_the_day_before():
    berlin = ZoneInfo("Europe/Berlin")
    today = datetime(2026, 12, 6, 15, 0, tzinfo=berlin)

    def when(at: datetime) -> str:
        return ClaimEventView(SwarmClaimEventKind.claimed, at, None, today).when

    assert when(datetime(2026, 12, 6, 10, 2, tzinfo=berlin)) == "10:02"
    assert when(datetime(2026, 12, 5, 23, 55, tzinfo=berlin)) == "5 December, 23:55"


# --- item 1: claims and releases are rate-limited per collector ---------------------------------


async def test_item1_claims_and_releases_rate_limited_per_collector(
    client, aiohttp_client, settings, db
):
    """Claim, release, claim, ...: after the allowance, 429 with Retry-After, nothing changes,
    and another collector's allowance is their own."""
    limited = settings.model_copy(
        update={"swarm_claims_per_collector": 3, "swarm_claim_window_seconds": 3600}
    )
    report_id = await report_at(db, ALEX[0] + KM)
    bea = await collector_client(aiohttp_client, limited, db, "bea")
    cem = await collector_client(aiohttp_client, limited, db, "cem")
    assert (await post(bea, f"/swarms/{report_id}/claim")).status == 303
    assert (await post(bea, f"/swarms/{report_id}/release")).status == 303
    assert (await post(bea, f"/swarms/{report_id}/claim")).status == 303

    response = await post(bea, f"/swarms/{report_id}/release")
    assert response.status == 429
    assert 3500 <= int(response.headers["Retry-After"]) <= 3600
    page = await response.text()
    assert "Too many claims" in page
    assert "Please try again in 60 min" in page
    assert (await stored(db, report_id)).status == SwarmStatus.claimed  # still Bea's
    htmx = await bea.post(
        f"/swarms/{report_id}/release",
        data={"_csrf": await csrf_token(bea, "/swarms")},
        headers={"HX-Request": "true"},
    )
    assert "Too many claims" in await htmx.text()
    assert "Retry-After" in htmx.headers

    other = await report_at(db, ALEX[0] + 2 * KM, "Another one")
    assert (await post(cem, f"/swarms/{other}/claim")).status == 303
    assert len(await events(db, report_id)) == 3


async def test_item1_claims_sent_at_once_cannot_pass_the_limit(
    client, aiohttp_client, settings, db
):
    """Ten claims on ten reports sent at once, to harvest ten contacts: three go through."""
    limited = settings.model_copy(update={"swarm_claims_per_collector": 3})
    report_ids = [await report_at(db, ALEX[0] + KM, f"Swarm {n}") for n in range(10)]
    bea = await collector_client(aiohttp_client, limited, db, "bea")
    token = await csrf_token(bea, "/swarms")
    responses = await asyncio.gather(
        *(
            bea.post(f"/swarms/{report_id}/claim", data={"_csrf": token}, allow_redirects=False)
            for report_id in report_ids
        )
    )
    assert sorted(response.status for response in responses) == [303] * 3 + [429] * 7
    claimed = await db.scalar(select(func.count()).where(SwarmReport.status == SwarmStatus.claimed))
    assert claimed == 3


# --- item 10: swarm reports under concurrency and from one IPv6 network -------------------------


async def test_item10_concurrent_swarm_reports_accept_exactly_the_limit(
    aiohttp_client, settings, db
):
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"swarm_reports_per_address": 3}))
    )
    token = await csrf_token(client, "/swarms/report")
    responses = await asyncio.gather(
        *(
            client.post("/swarms/report", data={**REPORT, "_csrf": token}, allow_redirects=False)
            for _ in range(20)
        )
    )
    assert sorted(response.status for response in responses) == [303] * 3 + [429] * 17
    assert await db.scalar(select(func.count()).select_from(SwarmReport)) == 3


async def test_item10_ipv6_addresses_of_one_64_share_the_report_allowance(
    aiohttp_client, settings, db
):
    behind_proxy = settings.model_copy(
        update={"swarm_reports_per_address": 3, "trusted_proxies": [IPv4Network("127.0.0.1/32")]}
    )
    client = await aiohttp_client(create_app(behind_proxy))

    for n in (1, 2, 3):
        assert (await _report_from(client, f"2001:db8:1:2::{n}")).status == 303
    refused = await _report_from(client, "2001:db8:1:2:ffff:ffff:ffff:4")
    assert refused.status == 429
    assert "Retry-After" in refused.headers
    assert (await _report_from(client, "2001:db8:1:3::1")).status == 303  # another network
    stored = await db.scalars(select(func.host(SwarmReport.reporter_address)))
    assert "2001:db8:1:3::1" in set(stored)


async def _report_from(client, address: str):
    token = await csrf_token(client, "/swarms/report")
    return await client.post(
        "/swarms/report",
        data={**REPORT, "_csrf": token},
        # The form is our own page's, as a browser says: its token is good from any address.
        headers={"X-Forwarded-For": address, "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )


async def test_item10_a_report_whose_insert_fails_still_counts(aiohttp_client, settings, db):
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"swarm_reports_per_address": 3}))
    )
    # The database refuses every insert into swarm_reports, as a full disk would.
    await db.execute(
        text(
            "CREATE FUNCTION refuse_swarm_report() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'the disk is full'; END $$"
        )
    )
    await db.execute(
        text(
            "CREATE TRIGGER refuse_swarm_report BEFORE INSERT ON swarm_reports"
            " FOR EACH ROW EXECUTE FUNCTION refuse_swarm_report()"
        )
    )
    await db.commit()
    try:
        for _ in range(3):
            assert (await report(client)).status == 500
    finally:
        await db.execute(text("DROP FUNCTION refuse_swarm_report() CASCADE"))
        await db.commit()
    response = await report(client)
    assert response.status == 429
    assert await db.scalar(select(func.count()).select_from(SwarmReport)) == 0


async def test_item1_a_report_read_for_a_page_does_not_carry_its_contact(client, db):
    """The class, not the template: a report loaded for any page or list has no contact to
    show, and reaching for it fails loudly; only the claim holder's own query reads it."""
    status = await reported(client)
    found = await report_by_token(db, status.rsplit("/", 1)[1])
    assert found is not None
    with pytest.raises(InvalidRequestError, match="contact"):
        _ = found.report.contact
    assert await held_contact(db, found.report.id, user_id=1) is None

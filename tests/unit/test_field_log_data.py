"""The field log's data out and in: the calendar feed, CSV and zip exports, and the JSON API."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import icalendar
from sqlalchemy import select

from app.inspections.calendar import fold
from app.models import Harvest, Inspection
from tests.unit.conftest import csrf_token
from tests.unit.test_harvests import log_harvest
from tests.unit.test_hives import HIVE, new_hive_id
from tests.unit.test_inspections import BERLIN, record, today


async def calendar_url(client) -> str:
    token = await csrf_token(client, "/calendar")
    page = await (await client.post("/calendar", data={"_csrf": token})).text()
    match = re.search(r'<code id="calendar-url">([^<]+)</code>', page)
    assert match
    return match.group(1)


async def test_the_calendar_feed_is_valid_icalendar_with_the_scheduled_inspections(logged_in):
    hive_id = await new_hive_id(logged_in, name="Queen Mab, the first")
    soon = date.today() + timedelta(days=4)
    await record(logged_in, hive_id, next_inspection_on=soon.isoformat())
    token = await csrf_token(logged_in, f"/hives/{hive_id}/inspections/schedule")
    await logged_in.post(
        f"/hives/{hive_id}/inspections/schedule",
        data={
            "scheduled_for": (soon + timedelta(days=10)).isoformat(),
            "schedule_note": "Add a super; check; note",
            "_csrf": token,
        },
    )
    url = await calendar_url(logged_in)
    logged_in.session.cookie_jar.clear()  # a calendar app has no cookie
    response = await logged_in.get(urlsplit(url).path)
    assert response.status == 200
    assert response.content_type == "text/calendar"
    feed = icalendar.Calendar.from_ical(await response.text())
    events = sorted(feed.walk("VEVENT"), key=lambda event: event.decoded("DTSTART"))
    assert [event.decoded("DTSTART") for event in events] == [soon, soon + timedelta(days=10)]
    assert [str(event["SUMMARY"]) for event in events] == ["Inspect Queen Mab, the first"] * 2
    assert str(events[1]["DESCRIPTION"]) == "Add a super; check; note"
    assert len({str(event["UID"]) for event in events}) == 2


async def test_a_new_calendar_link_ends_the_old_one(logged_in):
    old = await calendar_url(logged_in)
    new = await calendar_url(logged_in)
    assert (await logged_in.get(urlsplit(old).path)).status == 404
    assert (await logged_in.get(urlsplit(new).path)).status == 200
    page = await (await logged_in.get("/calendar")).text()
    assert "Make a new link" in page
    assert urlsplit(new).path not in page


def test_long_calendar_lines_fold_without_splitting_characters():
    line = "SUMMARY:" + "Bienenstock Würzburg " * 10
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


async def test_csv_exports_round_trip_what_went_in(logged_in, db):
    hive_id = await new_hive_id(logged_in, notes='Says "hello", twice\nand a new line')
    await record(logged_in, hive_id, actions=["super_added", "united"], next_inspection_on="")
    await log_harvest(
        logged_in, [hive_id], split="even", total_kg="7.25", quality='{"colour": "amber"}'
    )
    inspection = await db.scalar(select(Inspection))
    response = await logged_in.get("/exports/inspections.csv")
    assert response.headers["Content-Disposition"] == (  # the city's day, not the server's
        f'attachment; filename="cityhive-inspections-{today().isoformat()}.csv"'
    )
    (row,) = rows(await response.text())
    assert row["id"] == str(inspection.id)
    assert row["hive_name"] == HIVE["name"]
    assert row["actions"] == "super_added;united"
    assert row["varroa_method"] == "alcohol_wash"
    assert row["mites_per_100_bees"] == "2.0"
    assert row["honey_frames"] == "3.5"
    assert row["notes"] == "Strong colony."
    assert row["weight_kg"] == "41.25"
    (harvest,) = rows(await (await logged_in.get("/exports/harvests.csv")).text())
    assert (harvest["hive_id"], harvest["kg"], json.loads(harvest["quality"])) == (
        str(hive_id),
        "7.25",
        {"colour": "amber"},
    )
    (hive,) = rows(await (await logged_in.get("/exports/hives.csv")).text())
    assert hive["notes"] == 'Says "hello", twice\nand a new line'
    assert (float(hive["latitude"]), float(hive["longitude"])) == (51.5202, -0.0937)


async def test_the_whole_account_export_is_a_zip_of_csv_and_geojson(logged_in):
    hive_id = await new_hive_id(logged_in)
    await record(logged_in, hive_id, next_inspection_on="")
    response = await logged_in.get("/exports/cityhive-export.zip")
    assert response.status == 200
    assert response.content_type == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert sorted(archive.namelist()) == [
        "harvests.csv",
        "hives.csv",
        "hives.geojson",
        "inspections.csv",
        "treatments.csv",
    ]
    assert len(rows(archive.read("inspections.csv").decode())) == 1
    geojson = json.loads(archive.read("hives.geojson"))
    assert [feature["id"] for feature in geojson["features"]] == [hive_id]


async def test_exports_are_private(client):
    for path in ("/exports/hives.csv", "/exports/cityhive-export.zip", "/exports"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303
        assert "/login" in response.headers["Location"]


async def api_key(client) -> str:
    token = await csrf_token(client, "/profile")
    page = await (
        await client.post("/profile/api-keys", data={"key_name": "phone", "_csrf": token})
    ).text()
    match = re.search(r"(ch_[A-Za-z0-9_-]+)", page)
    assert match
    return match.group(1)


async def test_the_api_records_and_lists_inspections_once_per_key(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    key = await api_key(logged_in)
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "api-inspection-0001"}
    body = {
        "hive_id": hive_id,
        "done_at": "2026-06-01T10:30:00+02:00",
        "varroa_count": 9,
        "varroa_method": "sugar_roll",
        "varroa_sample": 300,
        "actions": ["split_made"],
    }
    first = await logged_in.post("/api/v1/inspections", json=body, headers=headers)
    again = await logged_in.post("/api/v1/inspections", json=body, headers=headers)
    assert first.status == again.status == 201
    created = await first.json()
    assert await again.json() == created
    assert created["mites_per_100_bees"] == 3.0
    assert created["actions"] == ["split_made"]
    assert first.headers["Location"] == f"/api/v1/inspections/{created['id']}"
    assert len((await db.scalars(select(Inspection))).all()) == 1
    listed = await (
        await logged_in.get(f"/api/v1/inspections?hive_id={hive_id}", headers=headers)
    ).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    one = await logged_in.get(f"/api/v1/inspections/{created['id']}", headers=headers)
    assert (await one.json())["done_at"] == "2026-06-01T08:30:00Z"


async def test_the_api_refuses_an_inspection_later_than_the_citys_now(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    soon = datetime.now(BERLIN) + timedelta(hours=2)  # without a zone: the city's time
    refused = await logged_in.post(
        "/api/v1/inspections",
        json={"hive_id": hive_id, "done_at": soon.strftime("%Y-%m-%dT%H:%M:%S")},
        headers=headers,
    )
    assert refused.status == 422
    (error,) = (await refused.json())["errors"]
    assert error["location"] == ["body", "done_at"]
    assert error["message"] == "An inspection cannot be recorded for a time in the future"
    assert (await db.scalars(select(Inspection))).all() == []


async def test_api_refusals_are_problem_documents_and_save_nothing(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    missing_method = await logged_in.post(
        "/api/v1/inspections",
        json={"hive_id": hive_id, "done_at": "2026-06-01T10:30:00Z", "varroa_count": 3},
        headers=headers,
    )
    assert missing_method.status == 422
    problem = await missing_method.json()
    assert "Say how the mites were counted" in problem["errors"][0]["message"]
    foreign = await logged_in.post(
        "/api/v1/inspections",
        json={"hive_id": hive_id + 1000, "done_at": "2026-06-01T10:30:00Z"},
        headers=headers,
    )
    assert foreign.status == 404
    assert foreign.content_type == "application/problem+json"
    negative = await logged_in.post(
        "/api/v1/harvests",
        json={"harvested_on": "2026-07-01", "split": "even", "hive_ids": [hive_id], "total_kg": -1},
        headers=headers,
    )
    assert negative.status == 422
    bad_key = await logged_in.post(
        "/api/v1/harvests",
        json={"harvested_on": "2026-07-01", "split": "even", "hive_ids": [hive_id], "total_kg": 1},
        headers={**headers, "Idempotency-Key": "x"},
    )
    assert bad_key.status == 422
    assert await db.scalar(select(Inspection)) is None
    assert await db.scalar(select(Harvest)) is None
    anonymous = await logged_in.get("/api/v1/harvests")
    assert anonymous.status == 401


async def test_the_api_logs_a_multi_hive_harvest(logged_in, db):
    first = await new_hive_id(logged_in)
    second = await new_hive_id(logged_in)
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    response = await logged_in.post(
        "/api/v1/harvests",
        json={
            "harvested_on": "2026-07-01",
            "split": "weight",
            "kg_by_hive": {str(first): 3.5, str(second): 1.25},
            "quality": {"moisture_method": "refractometer", "hmf_mg_kg": 8, "filtered": True},
        },
        headers=headers,
    )
    assert response.status == 201, await response.text()
    created = await response.json()
    assert Decimal(created["total_kg"]) == Decimal("4.75")
    assert {int(k): Decimal(v) for k, v in created["shares"].items()} == {
        first: Decimal("3.50"),
        second: Decimal("1.25"),
    }
    listed = await (await logged_in.get("/api/v1/harvests", headers=headers)).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    detail = await logged_in.get(f"/api/v1/harvests/{created['id']}", headers=headers)
    assert (await detail.json())["shares"] == created["shares"]
    assert (await logged_in.get("/api/v1/harvests/999999", headers=headers)).status == 404


async def test_the_api_shares_an_even_harvest_and_checks_what_the_schema_cannot(logged_in, db):
    first = await new_hive_id(logged_in)
    second = await new_hive_id(logged_in)
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    even = {"harvested_on": "2026-07-01", "split": "even", "hive_ids": [second, first]}
    response = await logged_in.post(
        "/api/v1/harvests", json={**even, "total_kg": 10.001}, headers=headers
    )
    assert response.status == 201
    assert (await response.json())["shares"] == {str(first): "5.00", str(second): "5.00"}
    for body, where in [
        # NUL is refused by the JSON reader itself, which points at the value.
        ({**even, "total_kg": 1, "quality": {"note": "a\u0000b"}}, ["body", "quality", "note"]),
        ({**even, "total_kg": "1"}, ["body", "even", "total_kg"]),
        ({**even, "total_kg": 1, "hive_ids": [first, first]}, ["body", "even", "hive_ids"]),
        ({"harvested_on": "2026-07-01", "split": "weight", "kg_by_hive": {}}, None),
        ({**even, "total_kg": 1, "harvested_on": "2999-01-01"}, None),
    ]:
        refused = await logged_in.post("/api/v1/harvests", json=body, headers=headers)
        assert refused.status == 422, body
        if where is not None:
            assert (await refused.json())["errors"][0]["location"][: len(where)] == where
    assert len((await db.scalars(select(Harvest))).all()) == 1


async def test_an_idempotency_key_counts_per_endpoint(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}", "Idempotency-Key": "k" * 20}
    inspection = await logged_in.post(
        "/api/v1/inspections",
        json={"hive_id": hive_id, "done_at": "2026-06-01T10:30:00Z"},
        headers=headers,
    )
    harvest = await logged_in.post(
        "/api/v1/harvests",
        json={"harvested_on": "2026-07-01", "split": "even", "hive_ids": [hive_id], "total_kg": 2},
        headers=headers,
    )
    assert (inspection.status, harvest.status) == (201, 201)
    assert "harvested_on" in await harvest.json()
    assert await db.scalar(select(Harvest)) is not None


async def test_an_empty_hive_filter_finds_no_hive(logged_in):
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    response = await logged_in.get("/api/v1/inspections?hive_id=", headers=headers)
    assert response.status == 404

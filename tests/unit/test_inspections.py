"""Inspections: schedule, record the checklist, Today's lists and flags, exactly-once creates."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select, update
from yarl import URL

from app.models import IdempotentRequest, Inspection, QueenCells, Temperament, User, VarroaMethod
from app.seed import DEMO_EMAIL, DEMO_HIVES, DEMO_PASSWORD, load_demo_data
from tests.unit.conftest import csrf_token, log_in, make_user
from tests.unit.test_hives import new_hive_id

BERLIN = ZoneInfo("Europe/Berlin")


def today() -> date:
    return datetime.now(BERLIN).date()


def checklist(**fields: str) -> dict[str, str]:
    return {
        "done_at": datetime.now(BERLIN).strftime("%Y-%m-%dT%H:%M"),
        "frames_of_bees": "8",
        "queen_seen": "yes",
        "eggs_seen": "yes",
        "larvae_seen": "yes",
        "capped_brood_seen": "no",
        "queen_cells": "none",
        "brood_pattern": "4",
        "temperament": "calm",
        "honey_frames": "3,5",
        "pollen_frames": "1",
        "varroa_count": "6",
        "varroa_method": "alcohol_wash",
        "varroa_sample": "300",
        "treatment_product": "Oxalic acid",
        "treatment_dose": "5 ml per seam",
        "feeding_kind": "2:1 syrup",
        "feeding_amount": "2 l",
        "weight_kg": "41.25",
        "weather_temp_c": "19.5",
        "weather_conditions": "sunny",
        "notes": "Strong colony.",
        "next_inspection_on": (today() + timedelta(days=7)).isoformat(),
        **fields,
    }


async def record(client, hive_id: int, *, actions=(), key: str | None = None, **fields: str):
    token = await csrf_token(client, f"/hives/{hive_id}/inspections/new")
    data = [(name, value) for name, value in checklist(**fields).items()]
    data += [("actions", action) for action in actions] + [("_csrf", token)]
    if key is not None:
        data.append(("idempotency_key", key))
    return await client.post(f"/hives/{hive_id}/inspections", data=data, allow_redirects=False)


async def inspections(db, hive_id: int) -> list[Inspection]:
    db.expire_all()
    rows = await db.scalars(
        select(Inspection).where(Inspection.hive_id == hive_id).order_by(Inspection.id)
    )
    return list(rows)


async def test_recording_the_checklist_stores_every_answer_and_schedules_the_next(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    response = await record(logged_in, hive_id, actions=["super_added", "requeened"])
    assert response.status == 303, await response.text()
    assert response.headers["Location"].startswith(f"/hives/{hive_id}#inspection-")
    done, planned = await inspections(db, hive_id)
    assert (done.frames_of_bees, done.queen_seen, done.eggs_seen, done.capped_brood_seen) == (
        8,
        True,
        True,
        False,
    )
    assert (done.queen_cells, done.brood_pattern, done.temperament) == (
        QueenCells.none,
        4,
        Temperament.calm,
    )
    assert (done.honey_frames, done.pollen_frames, done.weight_kg) == (
        Decimal("3.5"),
        Decimal("1.0"),
        Decimal("41.25"),
    )
    assert (done.varroa_count, done.varroa_method, done.varroa_sample) == (
        6,
        VarroaMethod.alcohol_wash,
        300,
    )
    assert done.actions == ["super_added", "requeened"]
    assert (done.treatment_product, done.feeding_amount) == ("Oxalic acid", "2 l")
    assert done.done_at is not None
    assert abs(done.done_at - datetime.now(UTC)) < timedelta(minutes=2)
    assert planned.done_at is None
    assert planned.scheduled_for == today() + timedelta(days=7)

    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert f'id="inspection-{done.id}"' in page
    assert "8 frames of bees" in page
    assert "Inspection planned" in page
    detail = await (await logged_in.get(f"/inspections/{done.id}")).text()
    assert "Oxalic acid" in detail
    assert "Alcohol wash" in detail
    assert "Strong colony." in detail


async def test_the_new_inspection_form_shows_last_times_values(logged_in):
    hive_id = await new_hive_id(logged_in)
    await record(logged_in, hive_id, weight_kg="38.5", varroa_count="4")
    page = await (await logged_in.get(f"/hives/{hive_id}/inspections/new")).text()
    assert "Last time: 38.50 kg" in page
    assert "Last time: 4 mites" in page
    assert 'data-outbox="inspection"' in page
    assert 'name="idempotency_key" value="' in page


async def test_recording_against_a_schedule_fills_it_in(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    token = await csrf_token(logged_in, f"/hives/{hive_id}/inspections/schedule")
    response = await logged_in.post(
        f"/hives/{hive_id}/inspections/schedule",
        data={"scheduled_for": today().isoformat(), "schedule_note": "Swarm check", "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303
    (planned,) = await inspections(db, hive_id)
    page = await (
        await logged_in.get(f"/hives/{hive_id}/inspections/new?schedule={planned.id}")
    ).text()
    assert "Swarm check" in page
    await record(logged_in, hive_id, schedule=str(planned.id), next_inspection_on="")
    (done,) = await inspections(db, hive_id)
    assert done.id == planned.id
    assert done.done_at is not None
    assert done.frames_of_bees == 8


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"done_at": (datetime.now(BERLIN) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")},
            "done_at",
            "cannot be recorded for a time in the future",
        ),
        (  # the city's time, 2 hours ahead: no longer let through by a day's slack
            {"done_at": (datetime.now(BERLIN) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
            "done_at",
            "cannot be recorded for a time in the future",
        ),
        ({"frames_of_bees": "-1"}, "frames_of_bees", "Enter 0 or more."),
        ({"varroa_method": ""}, "varroa_method", "Say how the mites were counted"),
        ({"weight_kg": "-2"}, "weight_kg", "Enter 0 or more."),
        ({"brood_pattern": "7"}, "brood_pattern", "Enter 5 or less."),
        ({"done_at": ""}, "done_at", "This field is required."),
        ({"done_at": "yesterday"}, "done_at", "Enter a date and time."),
    ],
)
async def test_bad_checklist_answers_are_refused_beside_the_field(
    logged_in, db, fields, field, message
):
    hive_id = await new_hive_id(logged_in)
    response = await record(logged_in, hive_id, **fields)
    assert response.status == 422
    page = await response.text()
    assert f'id="{field}-error"' in page
    assert message in page
    assert 'value="Strong colony.' in page or "Strong colony." in page  # what was typed stays
    assert await inspections(db, hive_id) == []


async def test_another_users_hive_cannot_be_inspected(client, db, user):
    await log_in(client, user.email)
    hive_id = await new_hive_id(client)
    await make_user(db, name="Bea", email="bea@example.org")
    client.session.cookie_jar.clear()
    await log_in(client, "bea@example.org")
    assert (await client.get(f"/hives/{hive_id}/inspections/new")).status == 404
    token = await csrf_token(client, "/")
    response = await client.post(
        f"/hives/{hive_id}/inspections", data={**checklist(), "_csrf": token}
    )
    assert response.status == 404
    assert await inspections(db, hive_id) == []


async def test_a_repeated_idempotency_key_creates_one_inspection(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    key = "7d4a3f0e-0b7c-4d5e-9d7e-1f2a3b4c5d6e"
    first = await record(logged_in, hive_id, key=key, next_inspection_on="")
    again = await record(logged_in, hive_id, key=key, next_inspection_on="")
    assert first.status == again.status == 303
    assert again.headers["Location"] == first.headers["Location"]
    (only,) = await inspections(db, hive_id)
    assert only.notes == "Strong colony."


async def test_the_same_key_with_other_values_is_refused_and_saves_nothing(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    key = "7d4a3f0e-0b7c-4d5e-9d7e-1f2a3b4c5d6f"
    first = await record(logged_in, hive_id, key=key, next_inspection_on="")
    again = await record(logged_in, hive_id, key=key, next_inspection_on="", notes="retried")
    assert (first.status, again.status) == (303, 422)
    page = await again.text()
    assert "already sent with other values" in page
    assert "retried" in page  # the values typed are kept...
    assert f'value="{key}"' not in page  # ...with a fresh key, to send them as a new record
    (only,) = await inspections(db, hive_id)
    assert only.notes == "Strong colony."


async def test_the_header_key_wins_and_concurrent_repeats_make_one_record(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    token = await csrf_token(logged_in, f"/hives/{hive_id}/inspections/new")
    data = {**checklist(next_inspection_on=""), "_csrf": token, "idempotency_key": "field-key-1"}
    headers = {"Idempotency-Key": "header-key-1"}
    answers = await asyncio.gather(
        *[
            logged_in.post(
                f"/hives/{hive_id}/inspections", data=data, headers=headers, allow_redirects=False
            )
            for _ in range(5)
        ]
    )
    assert {answer.status for answer in answers} == {303}
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert len(await inspections(db, hive_id)) == 1
    keys = await db.scalars(select(IdempotentRequest.key))
    assert list(keys) == ["header-key-1"]


async def test_a_malformed_idempotency_key_is_a_form_error(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    response = await record(logged_in, hive_id, key="short")
    assert response.status == 422
    assert "8 to 100 printable ASCII characters" in await response.text()
    assert await inspections(db, hive_id) == []


async def schedule(client, hive_id: int, day: date) -> None:
    token = await csrf_token(client, f"/hives/{hive_id}/inspections/schedule")
    response = await client.post(
        f"/hives/{hive_id}/inspections/schedule",
        data={"scheduled_for": day.isoformat(), "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()


async def test_today_lists_overdue_due_and_this_weeks_inspections(logged_in, db):
    first = await new_hive_id(logged_in, name="Alpha")
    second = await new_hive_id(logged_in, name="Beta")
    third = await new_hive_id(logged_in, name="Gamma")
    await db.execute(
        Inspection.__table__.insert(),
        [
            {"hive_id": first, "scheduled_for": today() - timedelta(days=3)},
            {"hive_id": second, "scheduled_for": today()},
            {"hive_id": third, "scheduled_for": today() + timedelta(days=5)},
            {"hive_id": third, "scheduled_for": today() + timedelta(days=20)},
        ],
    )
    await db.commit()
    page = await (await logged_in.get("/")).text()
    overdue = page.split('aria-label="Overdue inspections"')[1].split("</ul>")[0]
    due = page.split('aria-label="Inspections due today"')[1].split("</ul>")[0]
    week = page.split('aria-label="Inspections this week"')[1].split("</ul>")[0]
    assert ">Alpha<" in overdue
    assert ">Beta<" in due
    assert ">Gamma<" in week
    assert page.count('class="due due--') == 3  # three weeks out is not on Today


async def test_today_flags_what_should_worry_a_beekeeper(logged_in):
    calm = await new_hive_id(logged_in, name="Calm")
    queenless = await new_hive_id(logged_in, name="Queenless")
    swarming = await new_hive_id(logged_in, name="Swarming")
    mites = await new_hive_id(logged_in, name="Mites")
    await record(logged_in, calm, next_inspection_on="")
    await record(logged_in, queenless, queen_seen="no", eggs_seen="no", next_inspection_on="")
    await record(
        logged_in, swarming, queen_cells="swarm", queen_cell_count="4", next_inspection_on=""
    )
    await record(logged_in, mites, varroa_count="15", varroa_sample="300", next_inspection_on="")
    page = await (await logged_in.get("/")).text()
    flags = page.split('id="flags-title"')[1].split("</ul>")[0]
    assert "Queenless</a>: No queen and no eggs seen" in flags
    assert "Swarming</a>: 4 swarm queen cells" in flags
    assert "Mites</a>: Varroa 5 per 100 bees" in flags
    assert ">Calm<" not in flags


async def test_marking_done_from_today_swaps_today_in_place(logged_in, db):
    hive_id = await new_hive_id(logged_in, name="Alpha")
    await schedule(logged_in, hive_id, today())
    (planned,) = await inspections(db, hive_id)
    token = await csrf_token(logged_in, "/")
    response = await logged_in.post(
        f"/inspections/{planned.id}/done",
        data={"_csrf": token, "next": "/"},
        headers={"HX-Request": "true"},
    )
    assert response.status == 200  # the 303 to Today, followed with htmx's headers
    fragment = await response.text()
    assert fragment.startswith('<section id="today"')
    assert "<html" not in fragment
    assert "Nothing due this week." in fragment
    (done,) = await inspections(db, hive_id)
    assert done.done_at is not None


async def test_rescheduling_moves_the_date_and_refuses_a_done_inspection(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    await schedule(logged_in, hive_id, today())
    (planned,) = await inspections(db, hive_id)
    token = await csrf_token(logged_in, f"/inspections/{planned.id}/reschedule")
    later = today() + timedelta(days=3)
    response = await logged_in.post(
        f"/inspections/{planned.id}/reschedule",
        data={"_csrf": token, "scheduled_for": later.isoformat(), "next": "/"},
        allow_redirects=False,
    )
    assert (response.status, response.headers["Location"]) == (303, "/")
    (moved,) = await inspections(db, hive_id)
    assert moved.scheduled_for == later
    bad = await logged_in.post(
        f"/inspections/{planned.id}/reschedule",
        data={"_csrf": token, "scheduled_for": "someday"},
    )
    assert bad.status == 422
    assert 'id="scheduled_for-error"' in await bad.text()
    await logged_in.post(f"/inspections/{planned.id}/done", data={"_csrf": token})
    refused = await logged_in.post(
        f"/inspections/{planned.id}/reschedule",
        data={"_csrf": token, "scheduled_for": later.isoformat()},
    )
    assert refused.status == 422
    assert "already done" in await refused.text()


async def test_deleting_an_inspection_removes_it_from_the_timeline(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    await record(logged_in, hive_id, next_inspection_on="")
    (done,) = await inspections(db, hive_id)
    done_id = done.id
    token = await csrf_token(logged_in, f"/inspections/{done_id}")
    response = await logged_in.post(
        f"/inspections/{done_id}/delete", data={"_csrf": token}, allow_redirects=False
    )
    assert response.status == 303
    assert await inspections(db, hive_id) == []
    assert (await logged_in.get(f"/inspections/{done_id}")).status == 404


async def test_the_timeline_lists_one_days_inspections_latest_first_and_the_hives_adding_in_place(
    logged_in, db
):
    hive_id = await new_hive_id(logged_in)
    now = datetime.now(BERLIN)
    morning, noon = (now - timedelta(hours=2)), (now - timedelta(hours=1))
    # recorded in this order: the later one, the earlier one, then one from over a year ago
    for moment, note in ((noon, "Noon visit"), (morning, "Morning visit")):
        await record(
            logged_in,
            hive_id,
            done_at=moment.strftime("%Y-%m-%dT%H:%M"),
            notes=note,
            next_inspection_on="",
        )
    await record(
        logged_in,
        hive_id,
        done_at=(now - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M"),
        next_inspection_on="",
    )
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    timeline = page[page.index('id="timeline"') :]
    inspected = sorted(inspection.done_at for inspection in await inspections(db, hive_id))
    last_year, morning_at, noon_at = (
        timeline.index(f'<time datetime="{moment.isoformat()}"') for moment in inspected
    )
    assert noon_at < morning_at < last_year  # one day's inspections by time, latest first
    added = timeline.index("Added to CityHive")  # just now: the latest entry, not the last
    assert added < noon_at


async def test_pages_come_in_both_shapes(logged_in):
    hive_id = await new_hive_id(logged_in)
    for path in (f"/hives/{hive_id}/inspections/new", f"/hives/{hive_id}/inspections/schedule"):
        full = await logged_in.get(path)
        fragment = await logged_in.get(path, headers={"HX-Request": "true"})
        assert "<html" in await full.text()
        assert "<html" not in await fragment.text()
        assert fragment.headers["Vary"] == "HX-Request, Accept-Encoding, Accept-Language"


async def test_anonymous_visitors_are_sent_to_log_in(client):
    response = await client.get("/hives/1/inspections/new", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")


async def test_the_today_queries_count_each_inspection_once(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    for _ in range(3):
        await record(logged_in, hive_id)
    count = await db.scalar(select(func.count()).select_from(Inspection))
    assert count == 4  # three recorded, and one next visit: the same day is scheduled once


async def test_a_quick_inspection_leaves_the_rest_of_the_checklist_blank(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    blank = {name: "" for name in checklist() if name != "done_at"}
    response = await record(logged_in, hive_id, **blank)
    assert response.status == 303, await response.text()
    (done,) = await inspections(db, hive_id)
    assert (done.frames_of_bees, done.honey_frames, done.weight_kg, done.queen_seen) == (
        None,
        None,
        None,
        None,
    )


async def test_the_demo_beekeeper_opens_a_today_with_something_to_do(client, db):

    assert await load_demo_data(db)
    token = await csrf_token(client)
    await client.post(
        "/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "_csrf": token}
    )
    page = await (await client.get("/")).text()
    assert 'aria-label="Overdue inspections"' in page
    assert 'aria-label="Inspections due today"' in page
    assert "No queen and no eggs seen" in page
    assert "3 swarm queen cells" in page
    assert "18.00 kg</a> of honey from 1 harvest" in page
    colonies = await (await client.get("/colonies")).text()
    for name, *_ in DEMO_HIVES:  # each demo hive has its colony, as migrated hives do
        assert f">{name}</a>" in colonies, name


async def test_records_replayed_by_the_offline_outbox_are_counted(logged_in):
    hive_id = await new_hive_id(logged_in)
    token = await csrf_token(logged_in, f"/hives/{hive_id}/inspections/new")
    # The outbox says whose record it sends: the user tag of the page it was written on.
    owner = (await logged_in.get(f"/hives/{hive_id}/inspections/new")).headers["CityHive-User"]
    response = await logged_in.post(
        f"/hives/{hive_id}/inspections",
        data={**checklist(), "_csrf": token},
        headers={
            "CityHive-Sync": "outbox",
            "CityHive-User": owner,
            "Idempotency-Key": "outbox-record-0001",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    metrics = await (await logged_in.get("/metrics")).text()
    assert 'cityhive_offline_records_synced_total{kind="inspection"} 1.0' in metrics


async def test_a_recorded_inspection_can_be_corrected_in_its_own_form(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    await record(logged_in, hive_id, actions=["united"], next_inspection_on="")
    (done,) = await inspections(db, hive_id)
    done_id, done_at = done.id, done.done_at
    page = await (await logged_in.get(f"/inspections/{done_id}/edit")).text()
    assert 'value="41.25"' in page
    assert 'value="Oxalic acid"' in page
    assert 'value="united" checked' in page
    assert 'value="yes" checked' in page
    assert 'data-outbox="inspection"' not in page  # a correction is made online
    token = await csrf_token(logged_in, f"/inspections/{done_id}/edit")
    when = done_at.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")
    bad = await logged_in.post(
        f"/inspections/{done_id}/edit",
        data={**checklist(done_at=when, weight_kg="-3"), "_csrf": token},
    )
    assert bad.status == 422
    assert 'id="weight_kg-error"' in await bad.text()
    response = await logged_in.post(
        f"/inspections/{done_id}/edit",
        data={**checklist(done_at=when, weight_kg="39", next_inspection_on=""), "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/hives/{hive_id}#inspection-{done_id}"
    (corrected,) = await inspections(db, hive_id)
    assert (corrected.id, corrected.weight_kg, corrected.actions) == (done_id, Decimal("39.00"), [])
    assert corrected.done_at == done_at.replace(second=0, microsecond=0)


# --- In German and French ----------------------------------------------------------------


def speak(client, language: str) -> None:
    """The reader's choice of language, as the footer's chooser keeps it: a cookie."""
    client.session.cookie_jar.update_cookies({"cityhive_lang": language})


async def test_the_checklist_reads_in_german_and_in_french(logged_in):
    hive_id = await new_hive_id(logged_in, name="Nordvolk")
    await record(logged_in, hive_id, weight_kg="38,5", varroa_count="4", next_inspection_on="")
    speak(logged_in, "de")
    page = await (await logged_in.get(f"/hives/{hive_id}/inspections/new")).text()
    assert "<h1>Nordvolk durchsehen</h1>" in page
    assert "Königin gesehen" in page
    assert "Umweiselungszellen" in page  # a label of the queen cells' choices
    assert "Stechfreudig" in page
    assert "Puderzuckermethode" in page
    assert "Honigraum aufgesetzt" in page
    assert "Letztes Mal: 38,50 kg" in page  # the last value, with a decimal comma
    assert "Letztes Mal: 4 Milben" in page
    assert "Durchsicht speichern" in page
    assert 'data-outbox-label="Durchsicht · Nordvolk"' in page
    assert 'value="super_added"' in page  # the values sent stay as they are
    assert "Save inspection" not in page
    speak(logged_in, "fr")
    page = await (await logged_in.get(f"/hives/{hive_id}/inspections/new")).text()
    assert "<h1>Visiter Nordvolk</h1>" in page
    assert "Reine vue" in page
    assert "Cellules d&#39;essaimage" in page or "Cellules d'essaimage" in page
    assert "Lavage à l" in page
    assert "Enregistrer la visite" in page
    assert "Save inspection" not in page


async def test_a_refused_checklist_says_why_beside_the_field_in_german(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    speak(logged_in, "de")
    response = await record(logged_in, hive_id, varroa_method="")
    assert response.status == 422
    page = await response.text()
    message = "Geben Sie an, wie die Milben gezählt wurden"
    assert f'<p class="error" id="varroa_method-error">{message}</p>' in page
    assert f"Zählmethode: {message}" in page  # the summary names the field in German too
    assert "Say how the mites were counted" not in page
    assert await inspections(db, hive_id) == []


async def test_the_timeline_and_a_harvest_show_german_dates_and_decimal_commas(logged_in, db):
    hive_id = await new_hive_id(logged_in, name="Lindenvolk")
    speak(logged_in, "de")
    await record(logged_in, hive_id, queen_cells="swarm", queen_cell_count="3")
    token = await csrf_token(logged_in, "/harvests/new")
    response = await logged_in.post(
        "/harvests",
        data={
            "harvested_on": "2024-11-26",
            "hive_ids": str(hive_id),
            "split": "even",
            "total_kg": "12,5",  # typed with a decimal comma
            "moisture_pct": "17,4",
            "_csrf": token,
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    harvest = await (await logged_in.get(response.headers["Location"])).text()
    assert "Ernte vom Di., 26. November 2024" in harvest
    assert "12,50 kg" in harvest
    assert "17,4 %" in harvest

    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    assert "Di., 26. November 2024</time>" in timeline
    assert ">Ernte</a> 12,50 kg" in timeline
    assert "Durchgesehen" in timeline
    assert "8 besetzte Waben" in timeline
    assert "41,25 kg" in timeline
    assert "Durchsicht geplant" in timeline
    (done, _planned) = await inspections(db, hive_id)
    detail = await (await logged_in.get(f"/inspections/{done.id}")).text()
    assert "3 Schwarmzellen" in detail  # what the timeline and Today warn about
    assert "19,5 °C sonnig" in detail
    assert "3,5 Honig, 1 Pollen (Waben)" in detail

    speak(logged_in, "fr")
    harvest = await (await logged_in.get(response.headers["Location"])).text()
    assert "Récolte du mar. 26 novembre 2024" in harvest
    assert "12,50 kg" in harvest
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    assert "mar. 26 novembre 2024</time>" in timeline
    assert "8 cadres occupés" in timeline
    assert "Visite prévue" in timeline


async def test_the_calendar_feed_speaks_the_language_of_its_owners_account(logged_in, db, user):
    hive_id = await new_hive_id(logged_in, name="Dachvolk")
    await schedule(logged_in, hive_id, today() + timedelta(days=2))
    await db.execute(update(User).where(User.id == user.id).values(language="de"))
    await db.commit()
    token = await csrf_token(logged_in, "/calendar")
    page = await (await logged_in.post("/calendar", data={"_csrf": token})).text()
    assert "Ihr Kalender-Link" in page
    match = re.search(r'<code id="calendar-url">([^<]+)</code>', page)
    assert match
    logged_in.session.cookie_jar.clear()  # a calendar app sends no cookie, and perhaps
    response = await logged_in.get(  # a language of its own
        URL(match.group(1)).path, headers={"Accept-Language": "fr"}
    )
    assert response.status == 200
    assert response.headers["Content-Language"] == "de"
    feed = icalendar.Calendar.from_ical(await response.text())
    assert str(feed["X-WR-CALNAME"]) == "CityHive-Durchsichten"
    (event,) = feed.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Dachvolk durchsehen"

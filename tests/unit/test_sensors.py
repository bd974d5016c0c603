"""Sensors: a hive's sensors as pages, readings through the API and the device form, charts.

The alerts the readings raise are in test_alerts.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from geoalchemy2 import WKTElement
from openapi_spec_validator import validate
from sqlalchemy import delete, func, select

from app.accounts import queries as key_queries
from app.models import FrameType, Hive, Reading, Sensor, SensorKind, SensorPlacement
from app.sensors.ingest import check_readings
from app.sensors.schemas import MAX_BATCH
from app.web.api import new_key
from tests.unit.conftest import apiary_of, csrf_token, log_in, make_user

PROBLEM = "application/problem+json"
NOW = datetime.now(UTC).replace(microsecond=0)


# --- set-up -----------------------------------------------------------------------------------


async def make_hive(db, owner_id: int, name: str = "Rooftop One") -> int:
    hive = Hive(
        owner_id=owner_id,
        apiary_id=await apiary_of(db, owner_id),
        name=name,
        location=WKTElement("POINT(13.405 52.52)", srid=4326),
        frame_type=FrameType.langstroth,
    )
    db.add(hive)
    await db.commit()
    return hive.id


async def make_sensor(
    db,
    hive_id: int,
    kind: SensorKind = SensorKind.weight,
    placement: SensorPlacement = SensorPlacement.inside,
    name: str | None = None,
) -> int:
    sensor = Sensor(
        hive_id=hive_id, name=name or kind.value.title(), kind=kind, placement=placement
    )
    db.add(sensor)
    await db.commit()
    return sensor.id


async def api_key(db, user_id: int) -> tuple[dict[str, str], int]:
    made = new_key()
    stored = await key_queries.create_key(
        db, user_id, name="scale", prefix=made.prefix, key_hash=made.hash
    )
    return {"Authorization": f"Bearer {made.key}"}, stored.id


def at(minutes: float = 0, now: datetime = NOW) -> str:
    return (now - timedelta(minutes=minutes)).isoformat()


def reading(sensor_id: object, minutes: float, value: object, now: datetime = NOW) -> dict:
    """A reading `minutes` before `now` (the module's NOW: exact instants to compare)."""
    return {"sensor_id": sensor_id, "recorded_at": at(minutes, now), "value": value}


async def stored_readings(db, sensor_id: int) -> list[tuple[datetime, float]]:
    rows = await db.execute(
        select(Reading.recorded_at, Reading.value)
        .where(Reading.sensor_id == sensor_id)
        .order_by(Reading.recorded_at)
    )
    return [(row[0], row[1]) for row in rows]


async def count_readings(db) -> int:
    return await db.scalar(select(func.count()).select_from(Reading))


@pytest.fixture
async def hive(db, user) -> int:
    return await make_hive(db, user.id)


@pytest.fixture
async def scale(db, hive) -> int:
    return await make_sensor(db, hive, SensorKind.weight, name="Scale")


@pytest.fixture
async def auth(db, user) -> dict[str, str]:
    headers, _ = await api_key(db, user.id)
    return headers


async def post(client, auth, readings: list, **extra):
    return await client.post("/api/v1/readings", json={"readings": readings, **extra}, headers=auth)


# --- the sensors of a hive, as pages ------------------------------------------------------------


async def add_sensor(client, hive_id: int, **fields: str):
    token = await csrf_token(client, f"/hives/{hive_id}/sensors")
    data = {"name": "Scale", "kind": "weight", "placement": "inside", **fields, "_csrf": token}
    return await client.post(f"/hives/{hive_id}/sensors", data=data, allow_redirects=False)


async def test_adding_a_sensor_lists_it_with_its_id_to_post_to(logged_in, db, hive):
    page = await (await logged_in.get(f"/hives/{hive}/sensors")).text()
    assert "No sensors yet." in page
    response = await add_sensor(logged_in, hive, name=" Brood probe ", kind="temperature")
    assert response.status == 303
    assert response.headers["Location"] == f"/hives/{hive}/sensors"
    sensor = await db.scalar(select(Sensor).where(Sensor.hive_id == hive))
    assert (sensor.name, sensor.kind, sensor.placement) == (
        "Brood probe",
        SensorKind.temperature,
        SensorPlacement.inside,
    )
    page = await (await logged_in.get(f"/hives/{hive}/sensors")).text()
    assert "<td>Brood probe</td>" in page
    assert f"<td><code>{sensor.id}</code></td>" in page
    assert "Temperature (°C)" in page
    assert f'"sensor_id": {sensor.id}' in page  # the curl example names this sensor


async def test_a_sensor_form_with_mistakes_is_shown_again_with_messages(logged_in, db, hive):
    await make_sensor(db, hive, name="Scale")
    response = await add_sensor(logged_in, hive, name="Scale")
    body = await response.text()
    assert response.status == 422
    assert "This hive already has a sensor with this name." in body
    response = await add_sensor(logged_in, hive, name="", kind="radiation")
    body = await response.text()
    assert response.status == 422
    assert 'id="name-error"' in body
    assert 'id="kind-error"' in body
    assert await db.scalar(select(func.count()).select_from(Sensor)) == 1


async def test_renaming_keeps_the_id_and_removing_takes_the_readings(logged_in, db, hive, scale):
    await make_sensor(db, hive, SensorKind.temperature, name="Probe")
    form = await (await logged_in.get(f"/hives/{hive}/sensors/{scale}/edit")).text()
    assert 'value="Scale"' in form
    token = await csrf_token(logged_in, f"/hives/{hive}/sensors/{scale}/edit")
    taken = await logged_in.post(
        f"/hives/{hive}/sensors/{scale}/edit",
        data={"name": "Probe", "placement": "outside", "_csrf": token},
    )
    assert taken.status == 422
    assert "already has a sensor with this name" in await taken.text()
    response = await logged_in.post(
        f"/hives/{hive}/sensors/{scale}/edit",
        data={"name": "Hive scale", "placement": "outside", "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303
    sensor = await db.get(Sensor, scale, populate_existing=True)
    assert (sensor.name, sensor.placement) == ("Hive scale", SensorPlacement.outside)

    db.add(Reading(sensor_id=scale, recorded_at=NOW, value=40.0))
    await db.commit()
    confirm = await (await logged_in.get(f"/hives/{hive}/sensors/{scale}/delete")).text()
    assert "Remove Hive scale?" in confirm
    response = await logged_in.post(
        f"/hives/{hive}/sensors/{scale}/delete", data={"_csrf": token}, allow_redirects=False
    )
    assert response.headers["Location"] == f"/hives/{hive}/sensors"
    assert await db.scalar(select(func.count()).select_from(Sensor).where(Sensor.id == scale)) == 0
    assert await count_readings(db) == 0


async def test_sensor_pages_come_as_fragments_for_htmx(logged_in, hive, scale):
    full = await logged_in.get(f"/hives/{hive}/sensors")
    fragment = await logged_in.get(f"/hives/{hive}/sensors", headers={"HX-Request": "true"})
    assert "<html" in await full.text()
    body = await fragment.text()
    assert "<html" not in body
    assert 'id="sensors-page-title"' in body
    assert fragment.headers["Vary"] == "HX-Request, Accept-Encoding, Accept-Language"


async def test_another_users_hive_and_sensors_do_not_exist_for_them(
    logged_in, db, aiohttp_client, settings, hive, scale
):
    other = await make_user(db, name="Bea", email="bea@example.org")
    await log_in(logged_in, other.email)
    for path in (
        f"/hives/{hive}/sensors",
        f"/hives/{hive}/sensors/{scale}/edit",
        f"/hives/{hive}/sensors/{scale}/delete",
        f"/hives/{hive}/alert-rules",
        f"/hives/{hive}/charts",
        f"/hives/{hive}/sensors/99999999999/edit",
    ):
        assert (await logged_in.get(path)).status == 404, path
    token = await csrf_token(logged_in, "/")
    response = await logged_in.post(f"/hives/{hive}/sensors/{scale}/delete", data={"_csrf": token})
    assert response.status == 404
    assert await db.get(Sensor, scale) is not None


async def test_anonymous_visitors_are_sent_to_log_in(client, hive):
    response = await client.get(f"/hives/{hive}/sensors", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/login?next=/hives/{hive}/sensors"


async def test_posting_without_the_csrf_token_changes_nothing(logged_in, db, hive):
    response = await logged_in.post(
        f"/hives/{hive}/sensors", data={"name": "Scale", "kind": "weight", "placement": "inside"}
    )
    assert response.status == 403
    assert await db.scalar(select(func.count()).select_from(Sensor)) == 0


# --- alert rules --------------------------------------------------------------------------------


async def test_alert_rules_start_at_the_defaults_and_can_be_changed(logged_in, hive):
    form = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert 'id="swarm_drop_kg" name="swarm_drop_kg" type="text" value="1.5"' in form
    assert 'id="offline_hours" name="offline_hours" type="text" value="3"' in form
    token = await csrf_token(logged_in, f"/hives/{hive}/alert-rules")
    values = {
        "swarm_drop_kg": "2,5",
        "swarm_window_minutes": "20",
        "temperature_min": "",
        "temperature_max": "38",
        "humidity_min": "40",
        "humidity_max": "30",
        "offline_hours": "6",
        "battery_min_volts": "3.3",
        "_csrf": token,
    }
    wrong = await logged_in.post(f"/hives/{hive}/alert-rules", data=values)
    assert wrong.status == 422
    assert "Must be above the lower limit (40)." in await wrong.text()
    values["humidity_max"] = "85"
    response = await logged_in.post(
        f"/hives/{hive}/alert-rules", data=values, allow_redirects=False
    )
    assert response.status == 303
    page = await (await logged_in.get(f"/hives/{hive}/sensors")).text()
    assert "2.5 kg lost within 20 minutes" in page
    assert "no limit to 38 °C" in page
    assert "no data for 6 hours" in page
    again = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert 'name="temperature_min" type="text" value=""' in again


# --- in German and in French ------------------------------------------------------------------

NBSP = "\u00a0"  # French sets a no-break space before : ; ? !


def speak(client, language: str) -> None:
    """The reader's language, as the chooser in the footer leaves it."""
    client.session.cookie_jar.update_cookies({"cityhive_lang": language})


async def test_the_sensors_page_in_german_and_french(logged_in, db, hive, scale):
    sensor = await db.get(Sensor, scale)
    sensor.last_reading_at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    sensor.last_value = 42.5
    await db.commit()

    speak(logged_in, "de")
    page = await (await logged_in.get(f"/hives/{hive}/sensors")).text()
    assert "<title>Sensoren von Rooftop One" in page
    assert '<h1 id="sensors-page-title">Sensoren von Rooftop One</h1>' in page
    assert '<th scope="col">Messgröße</th>' in page
    assert "<td>Gewicht (kg)</td>" in page
    assert "<td>Innen</td>" in page
    assert "42,50 kg, <time" in page
    assert ">26. November 2026, " in page  # a German date and a decimal comma
    assert '<option value="temperature">Temperatur</option>' in page  # the value stays
    assert '<option value="outside">Außen</option>' in page
    assert "1,5 kg Verlust innerhalb von 30 Minuten" in page
    assert "<dd>0 °C bis 40 °C</dd>" in page
    assert "<dd>keine Daten seit 3 Stunden</dd>" in page
    assert "<dd>unter 3,4 V</dd>" in page
    assert 'aus Ihrem <a href="/profile">Profil</a> sendet' in page
    assert "bis zu 10.000 Messwerte auf einmal" in page
    assert "(<code>t_i</code> innen, <code>t_o</code> außen)" in page
    assert "<code>sensor_&lt;id&gt;</code>" in page
    assert "Sensors of" not in page

    taken = await add_sensor(logged_in, hive, name="Scale")
    assert taken.status == 422
    assert "Dieses Volk hat schon einen Sensor mit diesem Namen." in await taken.text()
    edit = await (await logged_in.get(f"/hives/{hive}/sensors/{scale}/edit")).text()
    assert "Sensor „Gewicht“ von Rooftop One, ID" in edit
    confirm = await (await logged_in.get(f"/hives/{hive}/sensors/{scale}/delete")).text()
    assert "Scale entfernen?" in confirm

    speak(logged_in, "fr")
    page = (await (await logged_in.get(f"/hives/{hive}/sensors")).text()).replace("\u2019", "'")
    assert '<h1 id="sensors-page-title">Capteurs de Rooftop One</h1>' in page
    assert "<td>Poids (kg)</td>" in page
    assert "<td>Intérieur</td>" in page
    assert "42,50 kg, <time" in page
    assert ">26 novembre 2026 " in page or ">26 novembre 2026, " in page
    assert "<dd>0 °C à 40 °C</dd>" in page
    assert "<dd>sous 3,4 V</dd>" in page
    assert "<dd>1,5 kg perdus en 30 minutes</dd>" in page
    assert "<dd>aucune donnée depuis 3 heures</dd>" in page
    assert "Règles d'alerte" in page
    assert f"Noms{NBSP}: <code>weight_kg</code>" in page


async def test_the_alert_rules_form_in_german_with_its_mistakes(logged_in, hive):
    speak(logged_in, "de")
    form = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert "Warnregeln von Rooftop One" in form
    assert '<label for="swarm_drop_kg">Gewichtsverlust von mindestens (kg)</label>' in form
    assert '<label for="humidity_max">Luftfeuchtigkeit höchstens (%)</label>' in form
    assert 'name="swarm_drop_kg" type="text" value="1,5"' in form  # as a German writes it
    assert ">Standard: 3,4</p>" in form
    token = await csrf_token(logged_in, f"/hives/{hive}/alert-rules")
    values = {
        "swarm_drop_kg": "2,5",
        "swarm_window_minutes": "20",
        "temperature_min": "",
        "temperature_max": "38,5",
        "humidity_min": "40",
        "humidity_max": "30",
        "offline_hours": "1",
        "battery_min_volts": "3,3",
        "_csrf": token,
    }
    wrong = await logged_in.post(f"/hives/{hive}/alert-rules", data=values)
    body = await wrong.text()
    assert wrong.status == 422
    assert "Luftfeuchtigkeit innen höchstens (%): Muss über der unteren Grenze liegen (40)." in body
    assert "Must be above" not in body
    values["humidity_max"] = "85"
    response = await logged_in.post(
        f"/hives/{hive}/alert-rules", data=values, allow_redirects=False
    )
    assert response.status == 303
    page = await (await logged_in.get(f"/hives/{hive}/sensors")).text()
    assert "2,5 kg Verlust innerhalb von 20 Minuten" in page
    assert "<dd>keine Grenze bis 38,5 °C</dd>" in page
    assert "<dd>keine Daten seit 1 Stunde</dd>" in page
    again = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert 'name="temperature_max" type="text" value="38,5"' in again


# --- the readings API ---------------------------------------------------------------------------


async def test_a_mixed_batch_stores_the_valid_readings_and_says_exactly_what_failed(
    client, db, user, auth, hive, scale
):
    other = await make_user(db, name="Bea", email="bea@example.org")
    foreign = await make_sensor(db, await make_hive(db, other.id, "Bea's"), name="Scale")
    humidity = await make_sensor(db, hive, SensorKind.humidity, name="Humidity")
    naive = (NOW - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    batch = [
        reading(scale, 10, 41.5),
        reading(scale, 5, 41),  # an integer is a number too
        reading(humidity, 5, 104.0),
        {"sensor_id": scale, "recorded_at": naive, "value": 41.0},
        reading(scale, -2 * 24 * 60, 41.0),
        reading(foreign, 5, 40.0),
        reading(4242, 5, 40.0),
        {"sensor_id": scale, "recorded_at": "yesterday", "value": "41"},
        {"recorded_at": at(3)},
        "41.2",
        reading(scale, 10, 41.5),  # the same sensor and instant again: a duplicate
        reading(humidity, 4, 55),
        {"sensor_id": True, "recorded_at": at(1), "value": 1.0},
        {"sensor_id": scale, "recorded_at": "1970-01-01T00:00:00Z", "value": 1.0},
    ]
    response = await post(client, auth, batch)
    assert response.status == 422
    assert response.content_type == PROBLEM
    body = await response.json()
    assert body == {
        "type": "/api#readings-refused",
        "title": HTTPStatus(422).phrase,
        "status": 422,
        "detail": "10 of 14 readings were refused; the 4 valid ones were stored.",
        "batch": "valid_stored",
        "stored": 3,
        "duplicates": 1,
        "refused": 10,
        "errors": [
            {
                "location": ["body", "readings", 2, "value"],
                "message": "A humidity reading must be between 0 and 100 %; 104 is not.",
                "type": "value_range",
            },
            {
                "location": ["body", "readings", 3, "recorded_at"],
                "message": "The time needs a time zone, e.g. 2026-06-01T10:00:00Z.",
                "type": "time_zone_missing",
            },
            {
                "location": ["body", "readings", 4, "recorded_at"],
                "message": "The time is more than a day in the future.",
                "type": "time_in_future",
            },
            {
                "location": ["body", "readings", 5, "sensor_id"],
                "message": f"You have no sensor {foreign}.",
                "type": "sensor_unknown",
            },
            {
                "location": ["body", "readings", 6, "sensor_id"],
                "message": "You have no sensor 4242.",
                "type": "sensor_unknown",
            },
            {
                "location": ["body", "readings", 7, "recorded_at"],
                "message": "The time must be an ISO 8601 string with a time zone, "
                "e.g. 2026-06-01T10:00:00Z.",
                "type": "time_invalid",
            },
            {
                "location": ["body", "readings", 7, "value"],
                "message": "The value must be a number.",
                "type": "type_error",
            },
            {
                "location": ["body", "readings", 8, "sensor_id"],
                "message": "This field is required.",
                "type": "missing",
            },
            {
                "location": ["body", "readings", 8, "value"],
                "message": "This field is required.",
                "type": "missing",
            },
            {
                "location": ["body", "readings", 9],
                "message": "Each reading is an object with sensor_id, recorded_at and value.",
                "type": "type_error",
            },
            {
                "location": ["body", "readings", 12, "sensor_id"],
                "message": "The sensor id must be an integer.",
                "type": "type_error",
            },
            {
                "location": ["body", "readings", 13, "recorded_at"],
                "message": "The time is before 2000: is the device's clock set?",
                "type": "time_too_old",
            },
        ],
    }
    assert [value for _, value in await stored_readings(db, scale)] == [41.5, 41.0]
    assert [value for _, value in await stored_readings(db, humidity)] == [55.0]
    assert await count_readings(db) == 3
    sensor = await db.get(Sensor, scale, populate_existing=True)
    assert (sensor.last_reading_at, sensor.last_value) == (NOW - timedelta(minutes=5), 41.0)


async def test_replaying_a_batch_stores_nothing_new(client, db, auth, hive, scale):
    batch = [reading(scale, minutes, 40 + minutes / 1000) for minutes in range(0, 600, 5)]
    first = await post(client, auth, batch)
    assert await first.json() == {"batch": "stored", "stored": 120, "duplicates": 0, "refused": 0}
    again = await post(client, auth, batch)
    assert again.status == 200
    assert await again.json() == {"batch": "stored", "stored": 0, "duplicates": 120, "refused": 0}
    # Half old, half new: the new half is stored, and becomes the sensor's newest reading.
    later = [reading(scale, minutes, 41.0) for minutes in range(-300, 0, 5)]
    overlap = await post(client, auth, batch[:60] + later)
    assert await overlap.json() == {
        "batch": "stored",
        "stored": 60,
        "duplicates": 60,
        "refused": 0,
    }
    assert await count_readings(db) == 180
    sensor = await db.get(Sensor, scale, populate_existing=True)
    assert (sensor.last_reading_at, sensor.last_value) == (NOW + timedelta(minutes=300), 41.0)
    metrics = await (await client.get("/metrics")).text()
    assert 'cityhive_sensor_readings_total{outcome="stored"} 180.0' in metrics
    assert 'cityhive_sensor_readings_total{outcome="duplicate"} 180.0' in metrics


async def test_all_or_nothing_refuses_the_whole_batch(client, db, auth, hive, scale):
    response = await post(
        client, auth, [reading(scale, 1, 40.0), reading(scale, 0, 900.0)], all_or_nothing=True
    )
    body = await response.json()
    assert response.status == 422
    assert body["detail"] == ("1 of 2 readings was refused; nothing was stored (all_or_nothing).")
    assert (body["batch"], body["stored"], body["duplicates"], body["refused"]) == (
        "nothing_stored",
        0,
        0,
        1,
    )
    assert body["errors"][0]["location"] == ["body", "readings", 1, "value"]
    assert await count_readings(db) == 0


async def test_a_batch_of_nothing_but_refusals_says_nothing_was_stored(client, auth, hive, scale):
    response = await post(client, auth, [reading(scale, 0, -20.0)])
    body = await response.json()
    assert body["detail"] == "1 of 1 reading was refused; nothing was stored."
    assert body["batch"] == "nothing_stored"


@pytest.mark.parametrize(
    ("text", "where", "kind"),
    [
        ("NaN", "value", "value_not_finite"),
        ("Infinity", "value", "value_not_finite"),
        ("-Infinity", "value", "value_not_finite"),
    ],
)
async def test_nan_and_infinity_are_refused(client, db, auth, hive, scale, text, where, kind):
    body = f'{{"readings": [{{"sensor_id": {scale}, "recorded_at": "{at()}", "value": {text}}}]}}'
    response = await client.post(
        "/api/v1/readings", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    problem = await response.json()
    assert response.status == 422
    assert problem["errors"][0]["location"] == ["body", "readings", 0, where]
    assert problem["errors"][0]["type"] == kind
    assert await count_readings(db) == 0


async def test_an_unknown_sensors_value_is_still_checked_for_what_it_can_be(client, auth, user):
    response = await post(client, auth, [{"sensor_id": 7, "recorded_at": at(), "value": "x"}])
    errors = (await response.json())["errors"]
    assert [error["type"] for error in errors] == ["sensor_unknown", "type_error"]
    response = await post(client, auth, [{"sensor_id": 7, "recorded_at": at(), "value": 1e999}])
    assert [e["type"] for e in (await response.json())["errors"]] == [
        "sensor_unknown",
        "value_not_finite",
    ]


@pytest.mark.parametrize(
    ("body", "detail", "location"),
    [
        (b'{"readings": [', "The request body is not valid JSON.", ["body"]),
        (b"[1, 2]", "The body must be a JSON object.", ["body"]),
        (b"{}", "The body has no list of readings.", ["body", "readings"]),
        (b'{"readings": {}}', "The body has no list of readings.", ["body", "readings"]),
        (
            b'{"readings": [], "all_or_nothing": "yes"}',
            "all_or_nothing must be true or false.",
            ["body", "all_or_nothing"],
        ),
        (b"\xff\xfe", "The request body is not valid JSON.", ["body"]),
    ],
)
async def test_a_malformed_body_is_a_problem_naming_where(
    client, auth, user, body, detail, location
):
    response = await client.post(
        "/api/v1/readings", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    problem = await response.json()
    assert response.status == 422
    assert response.content_type == PROBLEM
    assert problem["detail"] == detail
    assert problem["errors"][0]["location"] == location


async def test_an_empty_batch_stores_nothing_and_says_so(client, auth, user):
    response = await post(client, auth, [])
    assert await response.json() == {"batch": "stored", "stored": 0, "duplicates": 0, "refused": 0}


async def test_a_batch_over_the_limit_is_413_and_stores_nothing(client, db, auth, hive, scale):
    batch = [reading(scale, i / 100, 40.0) for i in range(MAX_BATCH + 1)]
    response = await post(client, auth, batch)
    problem = await response.json()
    assert response.status == 413
    assert response.content_type == PROBLEM
    assert problem["detail"] == (
        "A batch holds at most 10,000 readings; this one has 10,001. Split it; nothing was stored."
    )
    assert await count_readings(db) == 0


async def test_a_full_batch_of_ten_thousand_is_stored_in_one_go(client, db, auth, hive, scale):
    batch = [reading(scale, i / 10, 40.0 + i / 10_000) for i in range(MAX_BATCH)]
    pretty = json.dumps({"readings": batch}, indent=2)
    assert len(pretty) > 1024 * 1024  # beyond MAX_BODY_BYTES, within READINGS_MAX_BODY_BYTES
    response = await client.post(
        "/api/v1/readings",
        data=io.BytesIO(pretty.encode()),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert await response.json() == {
        "batch": "stored",
        "stored": MAX_BATCH,
        "duplicates": 0,
        "refused": 0,
    }
    assert await count_readings(db) == MAX_BATCH
    sensor = await db.get(Sensor, scale, populate_existing=True)
    assert (sensor.last_reading_at, sensor.last_value) == (NOW, 40.0)  # noted by the trigger


async def test_a_body_over_the_readings_limit_is_413(aiohttp_client, settings, db, user):
    from app.main import create_app

    small = settings.model_copy(update={"readings_max_body_bytes": 2048})
    client = await aiohttp_client(create_app(small))
    headers, _ = await api_key(db, user.id)
    body = json.dumps({"readings": [], "padding": "x" * 4096}).encode()
    declared = await client.post(
        "/api/v1/readings", data=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert declared.status == 413
    assert "larger than 2,048 bytes" in (await declared.json())["detail"]

    async def chunks():
        yield body  # no Content-Length: the server counts as it reads

    streamed = await client.post(
        "/api/v1/readings", data=chunks(), headers={**headers, "Content-Type": "application/json"}
    )
    assert streamed.status == 413


async def test_a_revoked_key_is_401_and_stores_nothing(client, db, user, hive, scale):
    headers, key_id = await api_key(db, user.id)
    assert await key_queries.revoke_key(db, user.id, key_id)
    response = await post(client, headers, [reading(scale, 0, 40.0)])
    problem = await response.json()
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in problem["detail"]
    assert await count_readings(db) == 0


async def test_readings_from_a_month_without_a_partition_make_it(client, db, auth, hive, scale):
    """The partitions reach a year ahead of the migration; a database older than that (its
    upkeep stopped) still takes readings: the missing month is made on the spot."""
    conn = await db.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    month = NOW.strftime("%Y_%m")
    await raw.execute(f"DROP TABLE readings_p{month}")
    await db.commit()
    response = await post(client, auth, [reading(scale, 0, 40.0)])
    assert (await response.json())["stored"] == 1
    assert await count_readings(db) == 1


def test_a_well_formed_reading_of_a_sensor_not_owned_is_explained():
    checked = check_readings([reading(1, 0, 1.0)], {}, NOW)
    assert (checked.refused, checked.sensor_ids) == (1, [])
    assert checked.errors == [
        {
            "location": ["body", "readings", 0, "sensor_id"],
            "message": "You have no sensor 1.",
            "type": "sensor_unknown",
        }
    ]


# --- the device form ----------------------------------------------------------------------------


@pytest.fixture
async def device_hive(db, hive) -> dict[str, int]:
    return {
        "weight": await make_sensor(db, hive, SensorKind.weight, name="Scale"),
        "inside": await make_sensor(db, hive, SensorKind.temperature, name="Brood"),
        "outside": await make_sensor(
            db, hive, SensorKind.temperature, SensorPlacement.outside, name="Air"
        ),
        "humidity": await make_sensor(db, hive, SensorKind.humidity, name="Humidity"),
        "battery": await make_sensor(db, hive, SensorKind.battery, name="Battery"),
    }


async def test_a_flat_device_post_lands_in_the_right_sensors(client, db, user, hive, device_hive):
    headers, _ = await api_key(db, user.id)
    key = headers["Authorization"].removeprefix("Bearer ")
    response = await client.post(
        f"/api/v1/devices/{hive}/readings",
        data={
            "key": key,
            "weight_kg": "42.1",
            "t_i": "34.8",
            "t_o": "12.5",
            "h": "61",
            "bv": "3.92",
            "rssi": "-71",
            "time": at(2),
        },
    )
    assert response.status == 200, await response.text()
    assert await response.json() == {
        "batch": "stored",
        "stored": 5,
        "duplicates": 0,
        "refused": 0,
        "ignored": ["rssi"],
    }
    when = NOW - timedelta(minutes=2)
    assert await stored_readings(db, device_hive["weight"]) == [(when, 42.1)]
    assert await stored_readings(db, device_hive["inside"]) == [(when, 34.8)]
    assert await stored_readings(db, device_hive["outside"]) == [(when, 12.5)]
    assert await stored_readings(db, device_hive["humidity"]) == [(when, 61.0)]
    assert await stored_readings(db, device_hive["battery"]) == [(when, 3.92)]


async def test_a_device_may_send_json_a_header_key_and_unix_time(
    client, db, auth, hive, device_hive
):
    unix = int((NOW - timedelta(minutes=1)).timestamp())
    response = await client.post(
        f"/api/v1/devices/{hive}/readings?time={unix}",
        json={f"sensor_{device_hive['inside']}": 35.1, "w": 40.0},
        headers=auth,
    )
    assert (await response.json())["stored"] == 2
    assert await stored_readings(db, device_hive["inside"]) == [(NOW - timedelta(minutes=1), 35.1)]


async def test_a_device_post_without_time_is_now(client, db, auth, hive, device_hive):
    response = await client.post(
        f"/api/v1/devices/{hive}/readings", data={"bv": "3.7"}, headers=auth
    )
    assert (await response.json())["stored"] == 1
    [(when, _)] = await stored_readings(db, device_hive["battery"])
    assert abs((when - datetime.now(UTC)).total_seconds()) < 60


async def test_device_fields_that_cannot_be_placed_are_refused_by_name(
    client, db, auth, hive, device_hive
):
    response = await client.post(
        f"/api/v1/devices/{hive}/readings",
        data={"t": "20", "p": "1000", "sensor_999999": "1", "h": "wet", "weight_kg": "42"},
        headers=auth,
    )
    problem = await response.json()
    assert response.status == 422
    assert problem["batch"] == "valid_stored"
    assert problem["detail"] == "4 of 5 readings were refused; the 1 valid one was stored."
    assert {tuple(e["location"]): (e["type"], e["message"]) for e in problem["errors"]} == {
        ("body", "t"): (
            "field_ambiguous",
            "This hive has 2 temperature sensors: name one with sensor_<id>.",
        ),
        ("body", "p"): ("field_unknown", "This hive has no pressure sensor."),
        ("body", "sensor_999999"): ("sensor_unknown", "This hive has no sensor 999999."),
        ("body", "h"): ("type_error", "The value must be a number."),
    }


@pytest.mark.parametrize(
    ("time", "kind"),
    [
        ("soon", "time_invalid"),
        ("2026-06-01T10:00:00", "time_zone_missing"),
        (1e20, "time_invalid"),
        (str(int((NOW + timedelta(days=3)).timestamp())), "time_in_future"),
    ],
    # Named, not numbered by value: the last one is a clock reading, and pytest-xdist needs
    # every worker to collect the same test names.
    ids=["word", "no_zone", "too_large", "in_three_days"],
)
async def test_a_device_post_with_a_bad_time_stores_nothing(
    client, db, auth, hive, device_hive, time, kind
):
    response = await client.post(
        f"/api/v1/devices/{hive}/readings", json={"bv": "3.7", "time": time}, headers=auth
    )
    problem = await response.json()
    assert response.status == 422
    assert problem["errors"][0]["location"] == ["body", "time"]
    assert problem["errors"][0]["type"] == kind
    assert await count_readings(db) == 0


async def test_a_device_post_needs_a_live_key_and_the_owners_hive(client, db, user, hive, scale):
    response = await client.post(f"/api/v1/devices/{hive}/readings", data={"w": "40"})
    assert response.status == 401
    wrong = await client.post(
        f"/api/v1/devices/{hive}/readings", data={"key": "ch_wrong", "w": "40"}
    )
    assert wrong.status == 401
    other = await make_user(db, name="Bea", email="bea@example.org")
    headers, _ = await api_key(db, other.id)
    foreign = await client.post(
        f"/api/v1/devices/{hive}/readings", data={"w": "40"}, headers=headers
    )
    assert foreign.status == 404
    assert (await foreign.json())["detail"] == f"You have no hive {hive}."
    not_an_object = await client.post(
        f"/api/v1/devices/{hive}/readings", json=[1, 2], headers=headers
    )
    assert not_an_object.status == 422
    assert await count_readings(db) == 0


# --- sensors and alerts through the API -------------------------------------------------------


async def test_the_api_lists_the_keys_sensors(client, db, user, auth, hive, scale):
    other_hive = await make_hive(db, user.id, "Allotment")
    probe = await make_sensor(db, other_hive, SensorKind.temperature, name="Probe")
    listed = await (await client.get("/api/v1/sensors", headers=auth)).json()
    assert [item["id"] for item in listed["items"]] == [scale, probe]
    assert listed["items"][0] | {"last_reading_at": None} == {
        "id": scale,
        "hive_id": hive,
        "name": "Scale",
        "kind": "weight",
        "unit": "kg",
        "placement": "inside",
        "last_reading_at": None,
        "last_value": None,
    }
    one = await (await client.get(f"/api/v1/sensors?hive={other_hive}", headers=auth)).json()
    assert [item["id"] for item in one["items"]] == [probe]
    wrong = await client.get("/api/v1/sensors?hive=roof", headers=auth)
    assert wrong.status == 422


def test_the_openapi_document_describes_the_sensor_api():
    from app.pages.openapi import openapi_document

    document = openapi_document()
    validate(document)
    paths = document["paths"]
    assert {
        "/api/v1/readings",
        "/api/v1/devices/{hive_id}/readings",
        "/api/v1/sensors",
        "/api/v1/alerts",
    } <= paths.keys()
    readings = paths["/api/v1/readings"]["post"]
    assert {"200", "401", "413", "422"} <= readings["responses"].keys()
    assert readings["requestBody"]["content"]["application/json"]["examples"]
    assert "alertRaised" in document["webhooks"]


# --- the hive page: latest values and charts ----------------------------------------------------


async def test_the_hive_page_shows_latest_values_and_chart_data(logged_in, db, auth, hive, scale):
    probe = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    await make_sensor(db, hive, SensorKind.humidity, name="Humidity")
    now = datetime.now(UTC)  # the page tells the age from the clock
    batch = [reading(scale, minutes, 40 + minutes / 60, now) for minutes in range(5, 60, 5)]
    batch += [reading(probe, minutes, 35.0, now) for minutes in (30, 7)]
    batch.append(reading(scale, 60 * 30, 30.0, now))  # 30 hours ago: outside the 24 hours
    response = await post(logged_in, auth, batch)
    assert response.status == 200

    page = await (await logged_in.get(f"/hives/{hive}")).text()
    assert '<span class="sensor-card__value">40.08 kg</span>' in page
    assert '<span class="sensor-card__age">5 minutes ago</span>' in page
    assert '<span class="sensor-card__value">35.0 °C</span>' in page
    assert "No readings yet" in page  # humidity
    assert "Last 24 hours: lowest 40.08 kg, mean 40.50 kg, highest 40.92 kg (11 readings)." in page
    data = json.loads(re.search(r'data-chart="([^"]+)"', page).group(1).replace("&#34;", '"'))
    assert data["label"] == "Scale (kg)"
    assert len(data["t"]) == 11  # a 2-minute bucket per reading here
    assert data["t"] == sorted(data["t"])
    assert data["mean"][-1] == 40.083
    assert 'aria-current="true">24 hours</a>' in page

    week = await (await logged_in.get(f"/hives/{hive}?range=7d")).text()
    assert "Last 7 days: lowest 30.00 kg" in week
    assert 'aria-current="true">7 days</a>' in week


async def test_the_charts_panel_in_german_and_french(logged_in, db, auth, hive, scale):
    now = datetime.now(UTC)
    batch = [reading(scale, minutes, 40 + minutes / 60, now) for minutes in range(5, 60, 5)]
    assert (await post(logged_in, auth, batch)).status == 200
    speak(logged_in, "de")
    panel = await (await logged_in.get(f"/hives/{hive}/charts")).text()
    assert '<h2 id="sensors-title">Sensoren</h2>' in panel
    assert '<span class="sensor-card__value">40,08 kg</span>' in panel
    assert (
        "Letzte 24 Stunden: Minimum 40,08 kg, Mittelwert 40,50 kg, Maximum 40,92 kg "
        "(11 Messwerte)." in panel
    )
    assert 'aria-label="Diagramm „Gewicht“, letzte 24 Stunden: Minimum 40,08 kg' in panel
    # the chart script's legend
    assert 'data-label-lowest="Minimum" data-label-highest="Maximum"' in panel
    assert 'data-label-mean="Mittelwert"' in panel
    assert 'aria-current="true">24 Stunden</a>' in panel
    assert 'aria-label="Zeitraum des Diagramms"' in panel
    year = await (await logged_in.get(f"/hives/{hive}/charts?range=1y")).text()
    assert "Letzte 12 Monate: Minimum" in year
    speak(logged_in, "fr")
    panel = await (await logged_in.get(f"/hives/{hive}/charts?range=7d")).text()
    assert '<h2 id="sensors-title">Capteurs</h2>' in panel
    assert f"7 derniers jours{NBSP}: minimum 40,08 kg, moyenne 40,50 kg" in panel
    assert "maximum 40,92 kg (11 mesures)." in panel
    assert 'data-label-mean="Moyenne"' in panel
    assert 'aria-current="true">7 jours</a>' in panel
    await db.execute(delete(Reading))
    await db.commit()
    empty = await (await logged_in.get(f"/hives/{hive}/charts?range=30d")).text()
    assert "Aucune mesure ces 30 derniers jours." in empty


async def test_the_range_links_swap_the_panel_and_push_the_hive_pages_url(logged_in, hive, scale):
    fragment = await logged_in.get(
        f"/hives/{hive}/charts?range=30d", headers={"HX-Request": "true"}
    )
    body = await fragment.text()
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="sensors"')
    assert fragment.headers["HX-Push-Url"] == f"/hives/{hive}?range=30d"
    assert "No readings in the last 30 days." in body
    page = await logged_in.get(f"/hives/{hive}/charts?range=bogus")
    text = await page.text()
    assert "<html" in text
    assert 'aria-current="true">24 hours</a>' in text
    assert "HX-Push-Url" not in page.headers


async def test_a_hive_without_sensors_invites_to_add_one(logged_in, hive):
    page = await (await logged_in.get(f"/hives/{hive}")).text()
    assert "No sensors on this hive yet." in page
    assert f'href="/hives/{hive}/sensors">Add a scale or a probe</a>' in page


async def test_a_device_post_with_a_bad_time_and_no_readings_is_refused(client, auth, hive):
    response = await client.post(
        f"/api/v1/devices/{hive}/readings", json={"time": []}, headers=auth
    )
    assert response.status == 422
    problem = await response.json()
    assert (problem["batch"], problem["stored"]) == ("nothing_stored", 0)
    assert problem["detail"].startswith("Nothing was stored: ")
    assert problem["errors"][0]["location"][-1] == "time"


# --- item 12 of issue 13: ingestion cannot be used to take the process ------------------------


async def raw_request(client, head: str, body: bytes = b"") -> tuple[int, dict[str, str]]:
    """Send a request's head (and part of a body) on a raw connection and read the answer's
    status and headers, without ever sending the rest of the body the head announces."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers
    finally:
        writer.close()


def batch_head(key: str, length: int) -> str:
    return (
        "POST /api/v1/readings HTTP/1.1\nHost: localhost\nContent-Type: application/json\n"
        f"Authorization: Bearer {key}\nContent-Length: {length}\n"
    )


async def test_item12_wrong_key_with_a_huge_body_is_refused_before_the_body_is_read(client):
    """The head announces 8 MB and only 13 bytes follow: the 401 comes anyway, so nothing of the
    body was waited for (the old code read and parsed all of it first, and would hang here)."""
    status, headers = await raw_request(client, batch_head("ch_wrong", 8_000_000), b'{"readings":[')
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer")


async def test_item12_an_oversized_content_length_is_413_before_the_body_is_read(client, auth):
    key = auth["Authorization"].removeprefix("Bearer ")
    status, _ = await raw_request(client, batch_head(key, 100 * 1024 * 1024))
    assert status == 413


async def test_item12_a_body_of_more_values_than_a_batch_is_refused_unparsed(client, auth):
    """8 MB of `0,` is four million values: counted, not parsed (parsing took half a second)."""
    body = b'{"readings":[' + b"0," * 3_000_000 + b"0]}"
    response = await client.post(
        "/api/v1/readings",
        data=io.BytesIO(body),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert "holds more values than that many need" in (await response.json())["detail"]


async def test_item12_readings_are_rate_limited_per_key(aiohttp_client, settings, db, user, scale):
    from app.main import create_app

    strict = settings.model_copy(update={"readings_batches_per_key": 3})
    client = await aiohttp_client(create_app(strict))
    first, _ = await api_key(db, user.id)
    second, _ = await api_key(db, user.id)
    answers = [(await post(client, first, [reading(scale, i, 40.0)])).status for i in range(3)]
    refused = await post(client, first, [reading(scale, 9, 40.0)])
    assert answers == [200, 200, 200]
    assert refused.status == 429
    assert 0 < int(refused.headers["Retry-After"]) <= strict.readings_window_seconds
    assert "Try again in" in (await refused.json())["detail"]
    assert (await post(client, second, [reading(scale, 9, 40.0)])).status == 200  # its own count
    assert await count_readings(db) == 4


async def until(condition) -> None:
    """Let the server run until `condition()` holds (a state to reach, not a time to wait)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the server never got there")


async def test_item12_one_batch_in_flight_per_key(client, db, user, scale):
    """While a key's batch is being sent, a second one from the same key is 429 at once;
    another key is not held up; the first batch is stored when it arrives."""
    from app.keys import batch_slots_key

    first, first_id = await api_key(db, user.id)
    second, _ = await api_key(db, user.id)
    rest_may_come = asyncio.Event()
    body = json.dumps({"readings": [reading(scale, 1, 40.0)]}).encode()

    async def slowly():
        yield body[:10]
        await rest_may_come.wait()
        yield body[10:]

    slow = asyncio.ensure_future(
        client.post(
            "/api/v1/readings",
            data=slowly(),
            headers={**first, "Content-Type": "application/json"},
        )
    )
    slots = client.app[batch_slots_key]
    await until(lambda: slots.in_use(first_id) == 1)
    again = await post(client, first, [reading(scale, 2, 40.0)])
    other = await post(client, second, [reading(scale, 3, 40.0)])
    rest_may_come.set()
    assert again.status == 429
    assert again.headers["Retry-After"] == "1"
    assert "already sending a batch" in (await again.json())["detail"]
    assert other.status == 200
    assert (await slow).status == 200
    assert await count_readings(db) == 2
    assert slots.in_use() == 0


async def test_item12_refused_readings_are_checked_off_the_event_loop(client, auth, scale):
    """A batch of bad rows is checked in a worker thread, not on the thread serving requests."""
    import threading

    from app.sensors import ingest

    seen: list[str] = []
    check = ingest.check_readings

    def recording(*args):
        seen.append(threading.current_thread().name)
        return check(*args)

    ingest_check = pytest.MonkeyPatch()
    ingest_check.setattr("app.sensors.api.check_readings", recording)
    try:
        response = await post(client, auth, [reading(scale, 1, "heavy")] * 100)
    finally:
        ingest_check.undo()
    assert response.status == 422
    assert seen
    assert seen[0] != threading.current_thread().name

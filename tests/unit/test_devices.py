"""Devices that already exist post unchanged: BEEP, The Things Network v3 and Hiveeyes / Kotori,
each with the bodies its project documents (tests/fixtures/devices/, sources in its README),
checked by what the database then holds.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select, text

from app.models import Device, DeviceType, SensorKind, SensorPlacement
from app.sensors.formats import Unreadable, beep_post, csv_posts, kotori_time, meaning, ttn_post
from tests.unit.conftest import csrf_token, log_in, make_user
from tests.unit.test_sensors import api_key, make_hive, make_sensor

FIXTURES = Path(__file__).parents[1] / "fixtures" / "devices"
BEEP_KEY = "your_beep_device_key"
DEV_EUI = "0004a30b001c0530"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


async def make_device(
    db, hive_id: int, key: str, kind: DeviceType = DeviceType.beep, name: str = "Base", **extra
) -> int:
    device = Device(hive_id=hive_id, name=name, type=kind, key=key, **extra)
    db.add(device)
    await db.commit()
    return device.id


async def readings_by_field(db, device_id: int) -> dict[str, list[tuple[datetime, float]]]:
    """Every reading of the device's sensors, by the field each sensor takes."""
    rows = await db.execute(
        text(
            "SELECT s.field, r.recorded_at, r.value FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id WHERE s.device_id = :device "
            "ORDER BY s.field, r.recorded_at"
        ),
        {"device": device_id},
    )
    found: dict[str, list[tuple[datetime, float]]] = {}
    for field, at, value in rows:
        found.setdefault(field, []).append((at, value))
    return found


async def values_by_field(db, device_id: int) -> dict[str, list[float]]:
    return {
        field: [value for _, value in readings]
        for field, readings in (await readings_by_field(db, device_id)).items()
    }


async def kinds_by_field(db, device_id: int) -> dict[str, tuple[str, str, str]]:
    rows = await db.execute(
        text("SELECT field, kind::text, placement::text, name FROM sensors WHERE device_id = :d"),
        {"d": device_id},
    )
    return {field: (kind, placement, name) for field, kind, placement, name in rows}


def recent(at: datetime) -> bool:
    return abs((datetime.now(UTC) - at).total_seconds()) < 120


@pytest.fixture
async def hive(db, user) -> int:
    return await make_hive(db, user.id)


@pytest.fixture
async def base(db, hive) -> int:
    return await make_device(db, hive, BEEP_KEY)


DOCUMENTED = {"t": [18.4], "t_i": [34.5], "weight_kg": [57.348], "h": [58.0], "bv": [3.54]}


# --- BEEP -------------------------------------------------------------------------------------


async def test_beeps_documented_json_body_is_stored_on_the_devices_sensors(client, db, base):
    response = await client.post(
        "/api/sensors",
        data=fixture("beep_json.json"),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, await response.text()
    assert await response.json() == {
        "batch": "stored",
        "stored": 5,
        "duplicates": 0,
        "refused": 0,
        "ignored": [],
    }
    assert await values_by_field(db, base) == DOCUMENTED
    readings = await readings_by_field(db, base)
    assert all(recent(at) for at, _ in readings["t"])  # no time: when it arrived
    assert await kinds_by_field(db, base) == {
        "t": ("temperature", "outside", "Base: t"),
        "t_i": ("temperature", "inside", "Base: t_i"),
        "weight_kg": ("weight", "inside", "Base: weight_kg"),
        "h": ("humidity", "outside", "Base: h"),
        "bv": ("battery", "inside", "Base: bv"),
    }


async def test_beeps_documented_query_string_and_form_bodies_land_alike(client, db, base):
    query = await client.post("/api/sensors?" + fixture("beep_query.txt"))
    assert query.status == 201, await query.text()
    form = await client.post(
        "/api/sensors",
        data=fixture("beep_query.txt").replace("57.348", "57.1") + f"&time={at(1)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 201, await form.text()
    values = await values_by_field(db, base)
    assert values["weight_kg"] == [57.1, 57.348]  # the form's a minute earlier
    assert values["t_i"] == [34.5, 34.5]


async def test_beeps_legacy_data_string_with_millivolts(client, db, base):
    response = await client.post(
        "/api/sensors",
        data=fixture("beep_legacy.txt"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 201, await response.text()
    assert await values_by_field(db, base) == DOCUMENTED  # 3540 mV stored as 3.54 V


async def test_every_beep_field_is_stored_and_the_unknown_are_listed(client, db, base):
    body = json.loads(fixture("beep_all_fields.json"))
    sent_at = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    body["time"] = int(sent_at.timestamp())
    response = await client.post("/api/sensors", json=body)
    assert response.status == 201, await response.text()
    answer = await response.json()
    assert answer["ignored"] == ["colour"]
    assert answer["stored"] == 24
    readings = await readings_by_field(db, base)
    assert {at for series in readings.values() for at, _ in series} == {sent_at}
    values = {field: series[0][1] for field, series in readings.items()}
    assert values == {
        "t": 12.5,
        "t_i": 34.8,
        "t_0": 35.1,
        "t_i_1": 33.9,
        "t_i_2": 34.2,
        "h": 61.0,
        "p": 1013.0,
        "w_v": 61250.0,
        "w_fl": 15100.0,
        "w_fr": 15300.0,
        "w_bl": 15400.0,
        "w_br": 15450.0,
        "bv": 3.54,
        "l": 1250.0,
        "s_fan_4": 12.0,
        "s_fan_6": 30.0,
        "s_fan_9": 8.0,
        "s_bin098_146": 44.0,
        "s_bin146_195": 51.0,
        "s_tot": 48.0,
        "bc_i": 120.0,
        "bc_o": 131.0,
        "rssi": -71.0,
        "snr": 7.5,
    }
    kinds = {field: kind for field, (kind, _, _) in (await kinds_by_field(db, base)).items()}
    assert kinds["l"] == SensorKind.light
    assert kinds["s_fan_4"] == kinds["s_bin098_146"] == SensorKind.sound_band
    assert kinds["bc_i"] == SensorKind.bee_count
    assert kinds["w_v"] == kinds["w_fl"] == SensorKind.raw_weight
    assert kinds["rssi"] == SensorKind.signal
    assert kinds["snr"] == SensorKind.signal_noise
    assert kinds["t_0"] == kinds["t_i_2"] == SensorKind.temperature


async def test_a_key_alone_opens_only_a_device_whose_key_is_a_secret(client, db, user, hive):
    """A DevEUI is printed on the device and a short key can be guessed: without the owner's
    API key, neither lands readings; with it, both do."""
    await make_device(db, hive, DEV_EUI, DeviceType.ttn, name="Lora scale")
    await make_device(db, hive, "short-key", name="Old base")
    for key in (DEV_EUI, "short-key"):
        alone = await client.post("/api/sensors", json={"key": key, "t": 12.0})
        assert alone.status == 401, key
    headers, _ = await api_key(db, user.id)
    for key in (DEV_EUI, "short-key"):
        signed = await client.post(
            "/api/sensors_auth", json={"key": key, "t": 12.0}, headers=headers
        )
        assert signed.status == 201, key
    stored = await db.scalar(
        text("SELECT count(*) FROM readings r JOIN sensors s ON s.id = r.sensor_id "
             "WHERE s.hive_id = :hive"),
        {"hive": hive},
    )  # fmt: skip
    assert stored == 2


async def test_the_form_refuses_a_short_key_for_a_device_that_posts_alone(logged_in, db, hive):
    token = await csrf_token(logged_in, f"/hives/{hive}/sensors")
    form = {"_csrf": token, "device_name": "Base", "device_type": "beep", "device_key": "abc12"}
    page = await logged_in.post(f"/hives/{hive}/devices", data=form)
    assert page.status == 422
    assert "Use at least 16 characters" in await page.text()
    assert await db.scalar(select(func.count()).select_from(Device)) == 0


async def test_beeps_answer_codes(client, db, base):
    no_key = await client.post("/api/sensors", json={"t": 12.0})
    assert no_key.status == 400
    wrong = await client.post("/api/sensors", json={"key": "not-a-device", "t": 12.0})
    assert wrong.status == 401
    assert (await wrong.json())["detail"].startswith("No device has this key")
    nothing = await client.post("/api/sensors", json={"key": BEEP_KEY, "colour": "blue"})
    assert nothing.status == 422
    problem = await nothing.json()
    assert problem["batch"] == "nothing_stored"
    assert problem["ignored"] == ["colour"]
    assert problem["detail"] == "Nothing was stored: no field names a measurement (colour ignored)."
    empty = await client.post("/api/sensors", json={"key": BEEP_KEY})
    assert empty.status == 422
    assert (await empty.json())["detail"] == "Nothing was stored: the post holds no readings."
    assert await values_by_field(db, base) == {}


async def test_a_beep_value_out_of_range_is_refused_and_the_rest_stored(client, db, base):
    response = await client.post(
        "/api/sensors", json={"key": BEEP_KEY, "t": 500, "h": "wet", "t_i": 34.0}
    )
    assert response.status == 422
    problem = await response.json()
    assert problem["batch"] == "valid_stored"
    assert {tuple(e["location"]): e["type"] for e in problem["errors"]} == {
        ("body", "t"): "value_range",
        ("body", "h"): "type_error",
    }
    assert await values_by_field(db, base) == {"t_i": [34.0]}


async def test_the_authenticated_beep_post_needs_the_owners_key_and_device(
    client, db, user, hive, base
):
    headers, _ = await api_key(db, user.id)
    mine = await client.post(
        "/api/sensors_auth",
        data=fixture("beep_json.json"),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert mine.status == 201, await mine.text()
    assert (await values_by_field(db, base))["weight_kg"] == [57.348]
    assert (await client.post("/api/sensors_auth", json={"key": BEEP_KEY})).status == 401
    other = await make_user(db, name="Bea", email="bea@example.org")
    theirs, _ = await api_key(db, other.id)
    refused = await client.post("/api/sensors_auth", json={"key": BEEP_KEY, "t": 1}, headers=theirs)
    assert refused.status == 404
    # A key holding a NUL (schemathesis sent one in a form) names no device, not a 500.
    nul = await client.post("/api/sensors_auth", data={"key": "\x00abc", "t": "1"}, headers=theirs)
    assert nul.status == 404
    assert (await client.post("/api/sensors", data={"key": "\x00abc", "t": "1"})).status == 401


async def test_device_posts_are_rate_limited_per_device(aiohttp_client, settings, db, base):
    from app.main import create_app

    strict = settings.model_copy(update={"readings_batches_per_key": 2})
    client = await aiohttp_client(create_app(strict))
    answers = [
        (await client.post("/api/sensors", json={"key": BEEP_KEY, "t": 10 + i})).status
        for i in range(3)
    ]
    assert answers == [201, 201, 429]


async def test_wrong_device_keys_are_counted_against_the_address(aiohttp_client, settings, base):
    from app.main import create_app

    strict = settings.model_copy(update={"api_key_failures_per_address": 2})
    client = await aiohttp_client(create_app(strict))
    answers = [
        (await client.post("/api/sensors", json={"key": f"guess{i}", "t": 1})).status
        for i in range(3)
    ]
    assert answers == [401, 401, 429]


async def test_a_field_whose_sensor_name_is_taken_keeps_the_users_sensor(client, db, hive, base):
    await make_sensor(db, hive, SensorKind.temperature, name="Base: t")
    response = await client.post("/api/sensors", json={"key": BEEP_KEY, "t": 12.0, "h": 60})
    assert (await response.json())["ignored"] == ["t"]
    assert await values_by_field(db, base) == {"h": [60.0]}


# --- calibration ------------------------------------------------------------------------------


async def test_a_raw_weight_is_calibrated_as_it_arrives(client, db, hive):
    device = await make_device(db, hive, BEEP_KEY, weight_offset=10_000.0, weight_multiplier=0.001)
    first = await client.post("/api/sensors", json={"key": BEEP_KEY, "w_v": 52_000, "time": at(10)})
    assert first.status == 201, await first.text()
    await db.execute(
        text("UPDATE devices SET weight_offset = 12000, weight_multiplier = 0.002 WHERE id = :d"),
        {"d": device},
    )
    await db.commit()
    second = await client.post("/api/sensors", json={"key": BEEP_KEY, "w_v": 32_000, "time": at(5)})
    assert second.status == 201
    own = await client.post(
        "/api/sensors", json={"key": BEEP_KEY, "w_v": 99_000, "weight_kg": 41.0, "time": at(1)}
    )
    assert own.status == 201
    values = await values_by_field(db, device)
    assert values["w_v"] == [52_000.0, 32_000.0, 99_000.0]
    # (52000 - 10000) * 0.001 = 42 kg then, (32000 - 12000) * 0.002 = 40 kg after the new
    # calibration, which left the first reading as it was; a weight the device sent wins.
    assert values["weight_kg"] == [42.0, 40.0, 41.0]


def at(minutes: float) -> int:
    return int((datetime.now(UTC) - timedelta(minutes=minutes)).timestamp())


# --- The Things Network v3 --------------------------------------------------------------------

TTN_SENDS = {"Content-Type": "application/json"}  # as the webhook's JSON format declares


async def test_a_ttn_uplink_lands_on_the_device_of_its_dev_eui(client, db, user, hive):
    device = await make_device(db, hive, DEV_EUI, DeviceType.ttn, name="Lora scale")
    headers, _ = await api_key(db, user.id)
    response = await client.post(
        "/api/ttn/uplink", data=fixture("ttn_uplink.json"), headers=headers | TTN_SENDS
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["stored"] == 7
    readings = await readings_by_field(db, device)
    received = datetime(2020, 2, 12, 15, 15, 45, 787000, tzinfo=UTC)
    assert {at for series in readings.values() for at, _ in series} == {received}
    assert {field: series[0][1] for field, series in readings.items()} == {
        "weight_kg": 42.13,
        "t_i": 34.8,
        "t": 11.2,
        "h": 64.0,
        "bv": 3.92,
        "rssi": -35.0,
        "snr": 5.2,
    }


async def test_a_ttn_uplink_needs_the_shared_secret_and_an_uplink(client, db, user, hive):
    await make_device(db, hive, DEV_EUI, DeviceType.ttn)
    body = fixture("ttn_uplink.json")
    assert (await client.post("/api/ttn/uplink", data=body)).status == 401
    wrong = await client.post(
        "/api/ttn/uplink", data=body, headers={"Authorization": "Bearer ch_wrong"}
    )
    assert wrong.status == 401
    headers, _ = await api_key(db, user.id)
    join = json.loads(body)
    join["join_accept"] = {"session_key_id": "AXBSH1Pk6Z0G166BW9n5fQ=="}
    del join["uplink_message"]
    refused = await client.post("/api/ttn/uplink", json=join, headers=headers)
    assert refused.status == 422
    assert "uplink_message" in (await refused.json())["detail"]
    nothing = json.loads(body)
    nothing["uplink_message"]["decoded_payload"] = {"bytes": [1, 2]}
    del nothing["uplink_message"]["rx_metadata"]
    empty = await client.post("/api/ttn/uplink", json=nothing, headers=headers)
    assert empty.status == 422
    assert (await empty.json())["batch"] == "nothing_stored"
    other = json.loads(body)
    other["end_device_ids"]["dev_eui"] = "70B3D57ED0000000"
    assert (await client.post("/api/ttn/uplink", json=other, headers=headers)).status == 404
    assert await db.scalar(text("SELECT count(*) FROM readings")) == 0


# --- Hiveeyes / Kotori ------------------------------------------------------------------------


# Kotori's documented channel is testdrive/area-42/node-1; a node that posts with its name alone
# needs a name no one can guess (a short one is refused: test_a_key_alone_opens_only_...).
NODE = "node-1-4f7c2a9e61d3"


@pytest.fixture
async def node(db, hive) -> int:
    return await make_device(db, hive, NODE, DeviceType.kotori, name="Node")


KOTORI = f"/api/hiveeyes/testdrive/area-42/{NODE}/data"


async def test_kotoris_json_and_form_bodies(client, db, node):
    as_json = await client.post(
        KOTORI, data=fixture("kotori_json.json"), headers={"Content-Type": "application/json"}
    )
    assert as_json.status == 200, await as_json.text()
    as_form = await client.post(
        KOTORI,
        data=fixture("kotori_form.txt").strip().replace("42.84", "41.5"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert as_form.status == 200, await as_form.text()
    readings = await readings_by_field(db, node)
    assert sorted(value for _, value in readings["temperature"]) == [41.5, 42.84]
    assert all(recent(at) for at, _ in readings["humidity"])
    kinds = await kinds_by_field(db, node)
    assert kinds["temperature"][0] == "temperature"
    assert kinds["humidity"][0] == "humidity"


async def test_kotoris_timestamp_in_iso_8601(client, db, node):
    response = await client.post(
        KOTORI, data=fixture("kotori_json_time.json"), headers={"Content-Type": "application/json"}
    )
    assert response.status == 200, await response.text()
    readings = await readings_by_field(db, node)
    assert readings["temperature"] == [
        (datetime(2016, 12, 7, 17, 30, 15, 842428, tzinfo=UTC), 42.84)
    ]


async def test_kotoris_csv_field_names_are_kept_for_later_posts(client, db, node):
    csv = {"Content-Type": "text/csv"}
    early = await client.post(KOTORI, data=fixture("kotori_csv_reading.csv"), headers=csv)
    assert early.status == 422
    assert "field names first" in (await early.json())["detail"]
    names = await client.post(KOTORI, data=fixture("kotori_csv_fields.csv"), headers=csv)
    assert names.status == 200
    assert await names.json() == {"fields": ["weight", "temperature", "humidity"]}
    reading = await client.post(KOTORI, data=fixture("kotori_csv_reading.csv"), headers=csv)
    assert reading.status == 200, await reading.text()
    assert await values_by_field(db, node) == {
        "weight": [42.42],
        "temperature": [34.02],
        "humidity": [82.82],
    }


async def test_kotoris_bulk_csv_with_times_in_berlin(client, db, node):
    response = await client.post(
        KOTORI, data=fixture("kotori_csv_bulk.csv"), headers={"Content-Type": "text/csv"}
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["stored"] == 12
    readings = await readings_by_field(db, node)
    summer = timedelta(hours=2)  # 14 August: CEST
    assert readings["weight"] == [
        (datetime(2016, 8, 14, 21, 2, 6, tzinfo=UTC) - summer, 58.697),
        (datetime(2016, 8, 14, 21, 22, 6, tzinfo=UTC) - summer, 58.663),
        (datetime(2016, 8, 14, 21, 42, 6, tzinfo=UTC) - summer, 58.601),
    ]
    assert [value for _, value in readings["voltage"]] == [4.13, 4.13, 4.12]


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("1481131815", datetime(2016, 12, 7, 17, 30, 15, tzinfo=UTC)),
        ("1481131815000", datetime(2016, 12, 7, 17, 30, 15, tzinfo=UTC)),
        ("1481131815000000000", datetime(2016, 12, 7, 17, 30, 15, tzinfo=UTC)),
        ("2016-12-07T18:30:15+0100", datetime(2016, 12, 7, 17, 30, 15, tzinfo=UTC)),
        ("2016-12-07T18:30:15", datetime(2016, 12, 7, 17, 30, 15, tzinfo=UTC)),
    ],
    ids=["seconds", "milliseconds", "nanoseconds", "offset", "berlin"],
)
async def test_kotoris_timestamp_formats(client, db, node, time, expected):
    response = await client.post(KOTORI, data={"time": time, "weight": "50.5"})
    assert response.status == 200, await response.text()
    assert (await readings_by_field(db, node))["weight"] == [(expected, 50.5)]


async def test_kotori_refuses_other_media_types_and_unknown_nodes(client, db, node):
    odd = await client.post(KOTORI, data="58.697, 19.6", headers={"Content-Type": "unknown/format"})
    assert odd.status == 415
    unknown = await client.post(
        "/api/hiveeyes/testdrive/area-42/node-9/data", json={"temperature": 20}
    )
    assert unknown.status == 401
    too_many = await client.post(
        KOTORI, data="## weight\n1, 2\n", headers={"Content-Type": "text/csv"}
    )
    assert too_many.status == 422
    assert await db.scalar(text("SELECT count(*) FROM readings")) == 0


# --- devices as pages -------------------------------------------------------------------------


async def add_device(client, hive_id: int, **fields: str):
    token = await csrf_token(client, f"/hives/{hive_id}/sensors")
    data = {"device_name": "Base", "device_type": "beep", "device_key": "", **fields}
    return await client.post(
        f"/hives/{hive_id}/devices", data={**data, "_csrf": token}, allow_redirects=False
    )


async def the_device(db, hive_id: int) -> Device:
    return await db.scalar(
        select(Device).where(Device.hive_id == hive_id).execution_options(populate_existing=True)
    )


async def test_a_device_added_on_the_sensors_page_shows_its_configuration(logged_in, db, hive):
    response = await add_device(logged_in, hive, device_name=" Left scale ")
    assert response.status == 303
    device = await the_device(db, hive)
    assert response.headers["Location"] == f"/hives/{hive}/devices/{device.id}"
    assert (device.name, device.type) == ("Left scale", DeviceType.beep)
    assert len(device.key) == 32  # made by CityHive
    page = await (await logged_in.get(f"/hives/{hive}/devices/{device.id}")).text()
    assert "/api/sensors</code></pre>" in page
    assert f'"key": "{device.key}"' in page
    listed = await (await logged_in.get(f"/hives/{hive}/sensors")).text()
    assert f'<a href="/hives/{hive}/devices/{device.id}">Left scale</a>' in listed
    # The configuration works: a post as shown lands on the device's sensors.
    posted = await logged_in.post("/api/sensors", json={"key": device.key, "t_i": 34.5})
    assert posted.status == 201
    page = await (await logged_in.get(f"/hives/{hive}/devices/{device.id}")).text()
    assert "<code>t_i</code>: Temperature, 34.5 °C" in page


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        (DeviceType.ttn, "/api/ttn/uplink"),
        (DeviceType.kotori, "/api/hiveeyes/cityhive/hive-"),
        (DeviceType.honeypi, "/api/sensors</code>"),
    ],
)
async def test_each_kind_of_device_gets_its_clients_configuration(
    logged_in, db, hive, kind, config
):
    key = "70B3D57ED0001234" if kind == DeviceType.ttn else ""
    response = await add_device(logged_in, hive, device_type=kind.value, device_key=key)
    assert response.status == 303, await response.text()
    device = await the_device(db, hive)
    page = await (await logged_in.get(response.headers["Location"])).text()
    assert config in page
    if kind == DeviceType.ttn:
        assert device.key == "70b3d57ed0001234"


async def test_a_device_form_with_mistakes_is_shown_again(logged_in, db, user, hive, base):
    taken = await add_device(logged_in, hive, device_name="Base")
    assert taken.status == 422
    assert "This hive already has a device with this name." in await taken.text()
    key = await add_device(logged_in, hive, device_name="Other", device_key=BEEP_KEY)
    assert "A device with this key is already in CityHive." in await key.text()
    lora = await add_device(logged_in, hive, device_name="Lora", device_type="ttn")
    body = await lora.text()
    assert lora.status == 422
    assert 'id="device_key-error"' in body
    assert "16 hexadecimal digits" in body
    odd = await add_device(logged_in, hive, device_name="Odd", device_key="a b")
    assert 'id="device_key-error"' in await odd.text()
    assert await db.scalar(select(func.count()).select_from(Device)) == 1


async def test_removing_a_device_keeps_its_sensors_and_readings(logged_in, db, hive, base):
    await logged_in.post("/api/sensors", json={"key": BEEP_KEY, "t": 12.0})
    confirm = await (await logged_in.get(f"/hives/{hive}/devices/{base}/delete")).text()
    assert "Remove Base?" in confirm
    token = await csrf_token(logged_in, f"/hives/{hive}/devices/{base}/delete")
    response = await logged_in.post(
        f"/hives/{hive}/devices/{base}/delete", data={"_csrf": token}, allow_redirects=False
    )
    assert response.headers["Location"] == f"/hives/{hive}/sensors"
    assert await db.get(Device, base, populate_existing=True) is None
    assert await db.scalar(text("SELECT count(*) FROM readings")) == 1
    assert (await logged_in.post("/api/sensors", json={"key": BEEP_KEY, "t": 1})).status == 401


async def test_device_pages_are_the_owners_alone(logged_in, db, hive, base):
    other = await make_user(db, name="Bea", email="bea@example.org")
    await log_in(logged_in, other.email)
    for path in ("", "/delete", "/calibrate", "/calibrate/known?empty=1"):
        assert (await logged_in.get(f"/hives/{hive}/devices/{base}{path}")).status == 404, path
    assert (await logged_in.get(f"/hives/{hive}/devices/99999")).status == 404


async def test_the_calibration_wizard_turns_raw_values_into_kg(logged_in, db, hive, base):
    await logged_in.post("/api/sensors", json={"key": BEEP_KEY, "w_v": 8000, "time": at(30)})
    step_one = await (await logged_in.get(f"/hives/{hive}/devices/{base}/calibrate")).text()
    assert "Step 1 of 2" in step_one
    assert 'name="empty" type="text" value="8000"' in step_one  # the newest raw value
    token = await csrf_token(logged_in, f"/hives/{hive}/devices/{base}/calibrate")
    empty = await logged_in.post(
        f"/hives/{hive}/devices/{base}/calibrate",
        data={"empty": "8000", "_csrf": token},
        allow_redirects=False,
    )
    assert empty.status == 303
    known = empty.headers["Location"]
    assert known == f"/hives/{hive}/devices/{base}/calibrate/known?empty=8000"
    await logged_in.post("/api/sensors", json={"key": BEEP_KEY, "w_v": 28000, "time": at(20)})
    step_two = await (await logged_in.get(known)).text()
    assert "Step 2 of 2" in step_two
    assert 'name="loaded" type="text" value="28000"' in step_two
    unchanged = await logged_in.post(
        f"/hives/{hive}/devices/{base}/calibrate/known",
        data={"empty": "8000", "known_kg": "10", "loaded": "8000", "_csrf": token},
    )
    assert unchanged.status == 422
    assert "The raw value has not changed" in await unchanged.text()
    saved = await logged_in.post(
        f"/hives/{hive}/devices/{base}/calibrate/known",
        data={"empty": "8000", "known_kg": "10,0", "loaded": "28000", "_csrf": token},
        allow_redirects=False,
    )
    assert saved.status == 303
    device = await db.get(Device, base, populate_existing=True)
    assert (device.weight_offset, device.weight_multiplier) == (8000.0, 0.0005)
    await logged_in.post("/api/sensors", json={"key": BEEP_KEY, "w_v": 88000, "time": at(10)})
    values = await values_by_field(db, base)
    assert values["w_v"] == [8000.0, 28000.0, 88000.0]
    assert values["weight_kg"] == [40.0]  # only what came after the calibration
    page = await (await logged_in.get(f"/hives/{hive}/devices/{base}")).text()
    assert "calibrated" in page


async def test_calibration_step_two_without_step_one_goes_back(logged_in, hive, base):
    response = await logged_in.get(
        f"/hives/{hive}/devices/{base}/calibrate/known?empty=lots", allow_redirects=False
    )
    assert response.headers["Location"] == f"/hives/{hive}/devices/{base}/calibrate"
    token = await csrf_token(logged_in, f"/hives/{hive}/devices/{base}/calibrate")
    wrong = await logged_in.post(
        f"/hives/{hive}/devices/{base}/calibrate", data={"empty": "heavy", "_csrf": token}
    )
    assert wrong.status == 422
    assert 'id="empty-error"' in await wrong.text()


# --- a weight read by hand at the hive ---------------------------------------------------------


async def weighing_form(client, hive_id: int) -> dict[str, str]:
    """The hive page's weighing form as it is shown: its token, key and time."""
    page = await (await client.get(f"/hives/{hive_id}")).text()
    form = page[page.index('id="weighing-form"') :]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    when = re.search(r'name="weighed_at" type="datetime-local" value="([^"]+)"', form).group(1)
    return {
        "_csrf": await csrf_token(client, f"/hives/{hive_id}"),
        "idempotency_key": key,
        "weighed_at": when,
    }


async def test_a_weight_read_by_hand_is_stored_exactly_once(logged_in, db, hive):
    page = await (await logged_in.get(f"/hives/{hive}")).text()
    assert 'data-outbox="weighing"' in page
    fields = await weighing_form(logged_in, hive)
    fields["weighed_at"] = "2026-06-01T10:30"
    sent = [
        await logged_in.post(
            f"/hives/{hive}/weighings", data={**fields, "weight_kg": "41,5"}, allow_redirects=False
        )
        for _ in range(2)  # a double tap, or the outbox replaying it
    ]
    assert [response.status for response in sent] == [303, 303]
    assert sent[0].headers["Location"] == f"/hives/{hive}#sensors"
    rows = (
        await db.execute(
            text(
                "SELECT s.name, s.kind::text, r.recorded_at, r.value FROM readings r "
                "JOIN sensors s ON s.id = r.sensor_id WHERE s.hive_id = :hive"
            ),
            {"hive": hive},
        )
    ).all()
    # 10:30 in the city's zone (Europe/Berlin in summer: UTC+2).
    assert rows == [("Weighed by hand", "weight", datetime(2026, 6, 1, 8, 30, tzinfo=UTC), 41.5)]
    reused = await logged_in.post(f"/hives/{hive}/weighings", data={**fields, "weight_kg": "40"})
    assert reused.status == 422
    assert "already sent with other values" in await reused.text()


async def test_a_weighing_with_mistakes_is_shown_again(logged_in, db, hive):
    fields = await weighing_form(logged_in, hive)
    heavy = await logged_in.post(f"/hives/{hive}/weighings", data={**fields, "weight_kg": "900"})
    assert heavy.status == 422
    body = await heavy.text()
    assert 'id="weight_kg-error"' in body
    assert 'value="900"' in body
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    later = await logged_in.post(
        f"/hives/{hive}/weighings", data={**fields, "weight_kg": "40", "weighed_at": future}
    )
    assert later.status == 422
    assert "This time is in the future." in await later.text()
    old = await logged_in.post(
        f"/hives/{hive}/weighings",
        data={**fields, "weight_kg": "40", "weighed_at": "1999-05-01T10:00"},
    )
    assert "Enter a time after 2000." in await old.text()
    assert await db.scalar(text("SELECT count(*) FROM readings")) == 0


# --- the API document -------------------------------------------------------------------------


def test_each_device_operation_declares_each_media_type_with_its_own_schema():
    """A generated client sends either form: each media type has a schema of its own."""
    from app.pages.openapi import openapi_document

    document = openapi_document()
    validate(document)
    paths = document["paths"]
    for path in (
        "/api/v1/devices/{hive_id}/readings",
        "/api/sensors",
        "/api/sensors_auth",
        "/api/hiveeyes/{network}/{gateway}/{node}/data",
    ):
        content = paths[path]["post"]["requestBody"]["content"]
        form = content["application/x-www-form-urlencoded"]["schema"]
        as_json = content["application/json"]["schema"]
        assert form != as_json, path
    beep = paths["/api/sensors"]["post"]
    assert beep["security"] == []
    assert {"201", "400", "401", "413", "422", "429"} <= beep["responses"].keys()
    assert paths["/api/ttn/uplink"]["post"]["requestBody"]["content"]["application/json"]
    schemas = document["components"]["schemas"]
    assert schemas["DeviceReadingsForm"]["additionalProperties"] == {"type": "string"}
    assert schemas["DeviceReadingsJson"]["additionalProperties"] == {"type": "number"}
    assert schemas["TtnUplink"]["required"] == ["end_device_ids", "uplink_message"]


# --- the shapes, read alone ---------------------------------------------------------------------


def test_what_a_field_name_means():
    assert meaning("t_i_12") == (SensorKind.temperature, SensorPlacement.inside)
    assert meaning("temperature.inside.1") == (SensorKind.temperature, SensorPlacement.inside)
    assert meaning("temp-out") == (SensorKind.temperature, SensorPlacement.outside)
    assert meaning("s_fan_1_2") == (SensorKind.sound_band, SensorPlacement.inside)
    assert meaning("colour") is None
    assert meaning("temperature") == (SensorKind.temperature, SensorPlacement.outside)


def test_beeps_data_may_be_an_object_and_ttn_bodies_must_be_uplinks():
    post = beep_post({"data": {"key": "ABC1", "t": 1.5}, "hardware_id": "x"})
    assert (post.key, post.values) == ("abc1", {"t": 1.5})
    for body, message in (
        ([], "must be a JSON object"),
        ({"end_device_ids": {}}, "dev_eui is missing"),
        ({"end_device_ids": {"dev_eui": "70B3D57ED0000000"}}, "no uplink_message"),
    ):
        with pytest.raises(Unreadable, match=message):
            ttn_post(body)
    quiet = ttn_post(
        {"end_device_ids": {"dev_eui": "70B3D57ED0000000"}, "uplink_message": {"f_port": 1}}
    )
    assert (quiet.key, quiet.values, quiet.time) == ("70b3d57ed0000000", {}, None)
    # Gateways' metadata that is not a list (schemathesis sent a number) names no gateway.
    odd = ttn_post(
        {
            "end_device_ids": {"dev_eui": "70B3D57ED0000000"},
            "uplink_message": {"decoded_payload": {"weight_kg": 40.5}, "rx_metadata": -891546},
        }
    )
    assert odd.values == {"weight_kg": 40.5}


def test_kotori_times_and_csv_lines():
    assert kotori_time("2016-12-07 18:30:15") == "2016-12-07T17:30:15+00:00"
    assert kotori_time("soon") == "soon"  # refused, with its reason, when read
    names, posts = csv_posts("## time, weight\n\n, 50.1\n", None)
    assert names == ["time", "weight"]
    assert [(post.time, post.values) for post in posts] == [(None, {"weight": "50.1"})]


async def test_a_device_post_with_a_bad_time_stores_nothing(client, db, node):
    response = await client.post(
        KOTORI,
        data="## time, weight\nyesterday, 50.1\n2016-08-14T21:02:06, 50.2\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status == 422
    problem = await response.json()
    assert problem["batch"] == "valid_stored"
    assert [error["location"] for error in problem["errors"]] == [["body", 0, "time"]]
    assert await values_by_field(db, node) == {"weight": [50.2]}

"""A client generated from the OpenAPI document works (issue 22): openapi-python-client makes
a Python package of it, in a temporary folder (nothing generated is kept in the checkout), and
that package alone lists, creates and deletes hives, records an inspection and logs harvests,
and posts readings (a batch, and a device's flat post both as JSON and as a form) against the
real app, whose database then holds what it sent."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import select

from app.models import Harvest, HarvestShare, Hive, Inspection
from app.pages.openapi import openapi_document
from tests.unit.test_field_log_data import api_key
from tests.unit.test_sensors import add_sensor, stored_readings

PACKAGE = "cityhive_api_client"
# Readings are at whole seconds before now (not before 2000, not more than a day ahead).
NOW = datetime.now(UTC).replace(microsecond=0)
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated from the document the app serves, imported from a
    temporary folder and forgotten afterwards."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(openapi_document()))
    # No post hooks: the generator would format the package with ruff, which is not its test.
    (folder / "config.yaml").write_text("post_hooks: []\n")
    subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path=openapi.json",
            f"--output-path={PACKAGE}",
            "--meta=none",
            "--config=config.yaml",
        ],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def part(generated: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{generated.__name__}.{name}")


async def test_a_generated_client_keeps_the_field_log(generated, logged_in, db):
    models = part(generated, "models")
    operations = part(generated, "api.default")
    for name in [
        "list_hives",
        "create_hive",
        "delete_hive",
        "get_hive",
        "create_inspection",
        "get_inspection",
        "create_harvest",
        "list_harvests",
    ]:
        importlib.import_module(f"{operations.__name__}.{name}")
    api = operations  # api.create_hive, api.list_hives, ...: one module per operation
    client = generated.AuthenticatedClient(
        base_url=str(logged_in.make_url("")).rstrip("/"), token=await api_key(logged_in)
    )
    async with client:
        await keep_the_field_log(models, api, client, db)


async def keep_the_field_log(models, api, client, db) -> None:
    """Hives listed, created (once per key) and deleted, an inspection recorded and found, two
    harvests logged and listed, all through the generated package; then the rows, by SQL."""

    hive_in = models.HiveIn(
        name="Queen Mab",
        latitude=51.52,
        longitude=-0.09,
        frame_type=models.FrameType.NATIONAL,
        installed_on=date(2024, 4, 20),
    )
    made = await api.create_hive.asyncio_detailed(
        client=client, body=hive_in, idempotency_key="client-hive-0001"
    )
    again = await api.create_hive.asyncio_detailed(
        client=client, body=hive_in, idempotency_key="client-hive-0001"
    )
    assert (made.status_code, again.status_code) == (201, 201)
    hive = made.parsed
    assert isinstance(hive, models.HiveOut)
    assert again.parsed.id == hive.id
    other = await api.create_hive.asyncio(
        client=client,
        body=models.HiveIn(
            name="Titania", latitude=51.5, longitude=-0.1, frame_type=models.FrameType.DADANT
        ),
    )

    listed = await api.list_hives.asyncio(client=client)
    assert isinstance(listed, models.HiveList)
    assert sorted(item.name for item in listed.items) == ["Queen Mab", "Titania"]

    inspection = await api.create_inspection.asyncio(
        client=client,
        body=models.InspectionIn(
            hive_id=hive.id,
            done_at=datetime(2026, 6, 1, 8, 30, tzinfo=UTC),
            frames_of_bees=9,
            varroa_count=6,
            varroa_method=models.VarroaMethod.ALCOHOL_WASH,
            varroa_sample=300,
        ),
        idempotency_key="client-inspection-1",
    )
    assert isinstance(inspection, models.InspectionOut)
    found = await api.get_inspection.asyncio(inspection.id, client=client)
    assert (found.id, found.hive_id, found.mites_per_100_bees) == (inspection.id, hive.id, 2.0)

    even = await api.create_harvest.asyncio(
        client=client,
        body=models.EvenHarvestIn(
            harvested_on=date(2026, 7, 1), split="even", hive_ids=[hive.id, other.id], total_kg=20
        ),
    )
    by_weight = await api.create_harvest.asyncio(
        client=client,
        body=models.WeightHarvestIn(
            harvested_on=date(2026, 8, 1),
            split="weight",
            kg_by_hive=models.WeightHarvestInKgByHive.from_dict({str(hive.id): 7.5}),
        ),
    )
    assert isinstance(even, models.HarvestOut)
    assert isinstance(by_weight, models.HarvestOut)
    harvests = await api.list_harvests.asyncio(client=client)
    assert sorted(item.id for item in harvests.items) == sorted([even.id, by_weight.id])

    deleted = await api.delete_hive.asyncio_detailed(other.id, client=client)
    assert deleted.status_code == 204
    gone = await api.get_hive.asyncio_detailed(other.id, client=client)
    assert gone.status_code == 404
    assert isinstance(gone.parsed, models.ProblemOut)

    # What the database holds is what the client sent.
    db.expire_all()
    assert (await db.scalars(select(Hive.name))).all() == ["Queen Mab"]
    stored = (await db.scalars(select(Inspection))).one()
    assert (stored.hive_id, stored.varroa_count, stored.varroa_method.value) == (
        hive.id,
        6,
        "alcohol_wash",
    )
    shares = (
        await db.execute(select(HarvestShare.harvest_id, HarvestShare.hive_id, HarvestShare.kg))
    ).all()
    assert sorted((harvest, hive_id, float(kg)) for harvest, hive_id, kg in shares) == [
        (even.id, hive.id, 10.0),
        (by_weight.id, hive.id, 7.5),
    ]
    assert len((await db.scalars(select(Harvest))).all()) == 2


async def test_a_generated_client_posts_readings(generated, logged_in, db):
    """A hive made through the client, its sensors added on its sensors page, then found
    through the client; a batch posted to them, and a device's flat post sent once as JSON and
    once as a form (the generated operation takes either body); then the readings, by SQL."""
    models = part(generated, "models")
    operations = part(generated, "api.default")
    for name in ["create_hive", "list_sensors", "post_readings", "post_device_readings"]:
        importlib.import_module(f"{operations.__name__}.{name}")
    api = operations
    client = generated.AuthenticatedClient(
        base_url=str(logged_in.make_url("")).rstrip("/"), token=await api_key(logged_in)
    )
    async with client:
        hive = await api.create_hive.asyncio(
            client=client,
            body=models.HiveIn(
                name="Oberon", latitude=51.52, longitude=-0.09, frame_type=models.FrameType.NATIONAL
            ),
            idempotency_key="client-hive-readings",
        )
        assert isinstance(hive, models.HiveOut)
        for sensor_name, kind in [
            ("Scale", "weight"),
            ("Brood", "temperature"),
            ("Cell", "battery"),
        ]:
            added = await add_sensor(logged_in, hive.id, name=sensor_name, kind=kind)
            assert added.status == 303
        listed = await api.list_sensors.asyncio(client=client, hive=hive.id)
        assert isinstance(listed, models.SensorList)
        sensor = {item.name: item.id for item in listed.items}
        assert sensor.keys() == {"Scale", "Brood", "Cell"}
        await post_readings(models, api, client, hive.id, sensor)

    db.expire_all()
    assert await stored_readings(db, sensor["Scale"]) == [
        (NOW - timedelta(minutes=10), 41.82),
        (NOW - timedelta(minutes=5), 41.79),
        (NOW - timedelta(minutes=2), 42.1),
    ]
    assert await stored_readings(db, sensor["Brood"]) == [(NOW - timedelta(minutes=3), 34.8)]
    assert await stored_readings(db, sensor["Cell"]) == [(NOW - timedelta(minutes=2), 3.92)]


async def post_readings(models, api, client, hive_id: int, sensor: dict[str, int]) -> None:
    """postReadings with a batch for the scale; postDeviceReadings as JSON (the brood probe, at
    a Unix time) and as a form (the scale and the battery, at an ISO time, and a field that
    names no measurement)."""
    batch = await api.post_readings.asyncio_detailed(
        client=client,
        body=models.ReadingsBatch(
            readings=[
                models.ReadingIn(
                    sensor_id=sensor["Scale"], recorded_at=NOW - timedelta(minutes=10), value=41.82
                ),
                models.ReadingIn(
                    sensor_id=sensor["Scale"], recorded_at=NOW - timedelta(minutes=5), value=41.79
                ),
            ]
        ),
    )
    assert batch.status_code == 200, batch.content
    assert isinstance(batch.parsed, models.ReadingsStored)
    assert (batch.parsed.stored, batch.parsed.duplicates, batch.parsed.refused) == (2, 0, 0)

    as_json = models.DeviceReadingsJson(time=int((NOW - timedelta(minutes=3)).timestamp()))
    as_json["t_i"] = 34.8
    json_post = await api.post_device_readings.asyncio_detailed(
        hive_id, client=client, body=as_json
    )
    assert json_post.status_code == 200, json_post.content
    assert json_post.parsed.stored == 1

    as_form = models.DeviceReadingsForm(time=(NOW - timedelta(minutes=2)).isoformat())
    as_form.additional_properties.update({"weight_kg": "42.1", "bv": "3.92", "rssi": "-71"})
    form_post = await api.post_device_readings.asyncio_detailed(
        hive_id, client=client, body=as_form
    )
    assert form_post.status_code == 200, form_post.content
    assert isinstance(form_post.parsed, models.ReadingsStored)
    assert (form_post.parsed.stored, form_post.parsed.ignored) == (2, ["rssi"])
    # Each body went as its own media type: the form's model as a form, the JSON one as JSON.
    sent = api.post_device_readings._get_kwargs
    assert sent(hive_id, body=as_form)["headers"]["Content-Type"] == (
        "application/x-www-form-urlencoded"
    )
    assert sent(hive_id, body=as_form)["data"] == {
        "time": (NOW - timedelta(minutes=2)).isoformat(),
        "weight_kg": "42.1",
        "bv": "3.92",
        "rssi": "-71",
    }
    assert sent(hive_id, body=as_json)["headers"]["Content-Type"] == "application/json"

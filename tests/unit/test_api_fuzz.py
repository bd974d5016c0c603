"""The JSON API under property-based fuzzing: schemathesis reads the OpenAPI document, generates
valid and invalid requests for every operation and runs every check it has on each answer: no
server error; status codes, content types, headers and bodies as documented; invalid input
refused and valid input accepted; a missing or wrong key refused; unsupported methods refused.
All its phases run: examples, coverage and fuzzing for each operation
(test_every_operation_holds_under_generated_requests), then the stateful phase
(test_sequences_of_operations_hold_along_the_documents_links), which follows the document's
links from one answer to the next call and checks, among the rest, that what was created is
then found and what was deleted is gone.

`make test` runs a bounded number of examples per operation (FUZZ_EXAMPLES, 25 by default),
the same ones every time. The longer run, with new examples each time, is bench/api_fuzz.py
(300 examples per operation; its result is in docs/benchmarks.md):

    FUZZ_EXAMPLES=300 .venv/bin/pytest tests/unit/test_api_fuzz.py -p no:cacheprovider

The server is the real app (create_app) on a free loopback port, served from a thread of this
process, because schemathesis sends real HTTP requests. It uses the tests' database, with one
beekeeper (the key's owner) who has hives, sensors of every kind, an inspection and a harvest.

Schema-valid is not always acceptable, but the document states every rule it can: ranges,
formats, patterns, the fields one needs with another (a varroa count names its method), not at
0,0. What JSON Schema cannot compare (a date with today, one date with another, ids with what
the key's owner has) it states in words and examples; the hooks below (flatmap_path_parameters,
within_unstated_rules) make generated requests keep those rules, with the owner's real ids, so
that a refused schema-valid request is still a failure. REFUSES_FOR_A_REASON and
REFUSES_AS_TOO_LARGE say what the readings and device posts may answer besides.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from pydantic import SecretStr
from schemathesis.checks import CHECKS
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from sqlalchemy import select

from app.accounts import queries as key_queries
from app.colonies import queries as colony_queries
from app.colonies.schemas import RequeenForm, StartForm
from app.hives import queries as hive_queries
from app.hives.schemas import HiveForm
from app.inspections import queries as field_log
from app.inspections.schemas import HarvestForm, InspectionForm
from app.main import create_app
from app.models import (
    ColonyEvent,
    Device,
    DeviceType,
    Hive,
    Queen,
    Sensor,
    SensorKind,
    SensorPlacement,
    User,
)
from app.pages.openapi import openapi_document
from app.sensors.schemas import DEV_EUI as DEV_EUI_FORM
from app.sensors.schemas import DEVICE_KEY, KINDS
from app.settings import Settings
from app.treatments import queries as treatments
from app.treatments.schemas import PurchaseForm, TreatmentForm
from app.web.api import new_key
from tests.conftest import free_port, throwaway_database
from tests.unit.conftest import engine_session

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# The bounded run is the same every time, so `make test` does not pass or fail by chance; a
# longer run asked for with FUZZ_EXAMPLES explores new examples each time.
REPEATABLE = "FUZZ_EXAMPLES" not in os.environ
# Scenarios of the stateful phase, each up to 6 calls along the document's links.
STATEFUL_SCENARIOS = max(25, EXAMPLES // 2)

schema = schemathesis.openapi.from_dict(openapi_document())

# Made at import, since schemathesis builds some cases while collecting; the fixture stores it.
API_KEY = new_key()
# What the key's owner has, so that reading, changing and deleting by id are fuzzed too, and
# creates name the owner's own hives and sensors: ids by the kind of thing, and each sensor's
# physical range (low, high).
EXISTING_HIVES: list[int] = []
EXISTING: dict[str, list[Any]] = {
    "hive": EXISTING_HIVES,
    "inspection": [],
    "harvest": [],
    "node": [],
    "purchase": [],
    "treatment": [],
    "colony": [],
    "queen": [],
    "colony_event": [],
    "apiary": [],
    "member": [],
}
# The owner's devices, by the key each posts with (a BEEP base, a LoRaWAN scale by its DevEUI).
BEEP_KEY = "fuzz-beep-base-0001"
KOTORI_NODE = "fuzz-kotori-node"
DEV_EUI = "70b3d57ed0000001"
# The hive that treatments are given to: one no harvest names, so that the withdrawal guard
# never refuses a generated harvest.
TREATED_HIVES: list[int] = []
# The first two hives carry the sensors and every inspection and harvest: not to be deleted.
KEPT_HIVES = 2
# Hive ids start here, beyond the small numbers generated ids often are, so that a DELETE of
# any number does not take the hives that the other operations name.
FIRST_HIVE_ID = 1_000_000
SENSOR_RANGES: dict[int, tuple[float, float]] = {}
# Which of the owner's things a path parameter names, by operation path and parameter.
PATH_IDS = {
    ("/api/v1/hives/{id}", "id"): "hive",
    ("/api/v1/inspections/{id}", "id"): "inspection",
    ("/api/v1/harvests/{id}", "id"): "harvest",
    ("/api/v1/purchases/{id}", "id"): "purchase",
    ("/api/v1/treatments/{id}", "id"): "treatment",
    ("/api/v1/purchases/{id}/disposals", "id"): "purchase",
    ("/api/v1/purchases/{id}/disposals/{disposal_id}", "id"): "purchase",
    ("/api/v1/devices/{hive_id}/readings", "hive_id"): "hive",
    ("/api/hiveeyes/{network}/{gateway}/{node}/data", "node"): "node",
    ("/api/v1/queens/{id}", "id"): "queen",
    ("/api/v1/hives/{id}/boxes", "id"): "hive",
    ("/api/v1/colony-events/{id}", "id"): "colony_event",
    ("/api/v1/apiaries/{id}", "id"): "apiary",
    ("/api/v1/apiaries/{id}/members", "id"): "apiary",
    ("/api/v1/apiaries/{id}/members/{user}", "id"): "apiary",
    ("/api/v1/apiaries/{id}/members/{user}", "user"): "member",
    ("/api/v1/apiaries/{id}/invitations", "id"): "apiary",
}

# Operations that may refuse schema-valid input with a 422 problem document, each for a rule
# of the domain that the OpenAPI document states in words, not in JSON Schema, and that the
# hooks below do not make every generated request keep. Everywhere else a schema-valid request
# that is refused fails the run.
REFUSES_FOR_A_REASON = {
    # Names map to the hive's sensors by kind, and each value must lie inside that kind's
    # physical range (a temperature of 1e300 °C is a broken probe): a generated flat object of
    # any names and numbers is refused in part, answered 422 with `batch` and every reason.
    "POST /api/v1/devices/{hive_id}/readings",
    # A device's post (BEEP, The Things Network, Kotori) lands on the sensors its field names
    # call for, each value inside its kind's range, at a time from 2000 to a day ahead; a post
    # of which no field names a measurement stores nothing and says so (422).
    "POST /api/sensors",
    "POST /api/sensors_auth",
    "POST /api/ttn/uplink",
    "POST /api/hiveeyes/{network}/{gateway}/{node}/data",
    # A treatment takes from a batch in stock, not expired, bought on or before its first day
    # (the document's words): the stored records may refuse a generated one.
    "POST /api/v1/treatments",
    # A disposal takes no more than the batch's stock, from the day it was bought (the
    # document's words): the stored records may refuse a generated one.
    "POST /api/v1/purchases/{id}/disposals",
    # An event must fit its colony's life, as the operation's 422 says: a colony that died, was
    # sold or united with another (by an earlier generated event) has no more events, and a
    # split needs an empty hive or a name for a new one.
    "POST /api/v1/colony-events",
}
# Operations that answer input too large for them with 413 (as documented), not 422: a batch of
# more than 10,000 readings breaks the schema's maxItems, and is refused whole as too large.
REFUSES_AS_TOO_LARGE = {"POST /api/v1/readings"}


@schema.auth()
class BearerKey:
    """The owner's live key. As schemathesis' auth, its checks know that requests are signed
    in, and also send them without the key, or with another, to see them refused."""

    def get(self, case, context):
        return API_KEY.key

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, ids that name the owner's things rather than any numbers."""
    operation = context.operation
    path = operation.path if operation is not None else ""
    deleting = operation is not None and operation.method.upper() == "DELETE"
    given = dict(path_parameters or {})
    known = {}
    for (operation_path, name), thing in PATH_IDS.items():
        if path != operation_path or name not in given or not EXISTING[thing]:
            continue
        ids = EXISTING[thing]
        # The owner's only membership of their apiary is fuzzed as it is: its removal is refused.
        if deleting and thing not in ("apiary", "member"):
            kept, ids = ids[:KEPT_HIVES], ids[KEPT_HIVES:]
            if given[name] in kept:
                # hypothesis also tries the constants of this module, FIRST_HIVE_ID among
                # them: a DELETE of a kept hive names one that does not exist instead.
                given[name] = 2**31 - 1
        known[name] = st.sampled_from(ids)
    if not known:
        return st.just(given)
    named = st.fixed_dictionaries(known).map(lambda found: {**given, **found})
    return st.one_of(st.just(given), named)


def within_unstated_rules(case) -> None:
    """The rules of the domain that JSON Schema cannot state, kept by every generated body.

    A hive was not installed in the future; an inspection is not in the future, of one of the
    key owner's kept hives, and its next one comes after it; a harvest is not in the future and
    comes from the owner's kept hives; readings are of the owner's sensors, at a time
    from 2000 to a day ahead, inside the sensor kind's physical range. A body breaking one is
    changed to keep it before it is sent (ids become the owner's, dates move to the past), so
    a schema-valid body is one the app must accept. Only values of the right type are changed,
    so an invalid body stays invalid; and schemathesis validates a changed body again."""
    body = case.body
    if not isinstance(body, dict):
        return
    body = whole_numbers_as_integers(body)
    path = case.operation.path
    if path.startswith("/api/v1/hives"):
        body = hive_rules(body, patch=case.method.upper() == "PATCH")
    elif path == "/api/v1/inspections":
        body = inspection_rules(body)
    elif path == "/api/v1/harvests":
        body = harvest_rules(body)
    elif path == "/api/v1/readings":
        body = readings_rules(body)
    elif path in ("/api/sensors", "/api/sensors_auth"):
        body = device_key_rules(body)
    elif path == "/api/ttn/uplink":
        body = dev_eui_rules(body)
    elif path == "/api/v1/purchases":
        body = purchase_rules(body)
    elif path == "/api/v1/treatments":
        body = treatment_rules(body)
    elif path == "/api/v1/purchases/{id}/disposals":
        body = disposal_rules(body)
    elif path == "/api/v1/colony-events":
        body = colony_event_rules(body)
    case.body = body
    one_body_per_key(case)


def one_body_per_key(case) -> None:
    """An Idempotency-Key names one request: sent again with another body it is refused (422),
    as its description says. A generated key is made that body's own, so a key repeats only
    with the same body (and is then answered as the first time)."""
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and isinstance(case.body, dict):
        body = json.dumps(case.body, sort_keys=True, default=str)
        digest = hashlib.sha256(f"{key}\n{body}".encode()).hexdigest()[:32]
        case.headers = {**headers, "Idempotency-Key": f"{key[:60]}-{digest}"}


def whole_numbers_as_integers(value: Any) -> Any:
    """12.0 written as 12. JSON Schema's integer admits 12.0, the API's strict parsing does not
    (it wants ids and counts written as integers); a number with a fraction stays as it is, so
    an invalid body stays invalid."""
    if isinstance(value, dict):
        return {name: whole_numbers_as_integers(item) for name, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers_as_integers(item) for item in value]
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def device_key_rules(body: dict[str, Any]) -> dict[str, Any]:
    """A BEEP post names the owner's device (a key of the right form becomes its key)."""
    if isinstance(body.get("key"), str) and DEVICE_KEY.match(body["key"]):
        body = {**body, "key": BEEP_KEY}
    return body


def dev_eui_rules(body: dict[str, Any]) -> dict[str, Any]:
    """An uplink comes from the owner's LoRaWAN device (a DevEUI of the right form is its)."""
    ids = body.get("end_device_ids")
    eui = ids.get("dev_eui") if isinstance(ids, dict) else None
    if isinstance(ids, dict) and isinstance(eui, str) and DEV_EUI_FORM.match(eui):
        body = {**body, "end_device_ids": {**ids, "dev_eui": DEV_EUI}}
    return body


def hive_rules(body: dict[str, Any], *, patch: bool) -> dict[str, Any]:
    for name, other in (("latitude", "longitude"), ("longitude", "latitude")):
        if patch and body.get(name) == 0 and other not in body:
            # The schema refuses 0,0 in one body; a PATCH's other coordinate is the stored
            # one, which may be 0 too.
            body = {**body, name: 0.5}
    if _in_the_future(body.get("installed_on")):
        body = {**body, "installed_on": "2020-05-01"}
    return body


def inspection_rules(body: dict[str, Any]) -> dict[str, Any]:
    body = {**body, "hive_id": owners(body.get("hive_id"), EXISTING_HIVES[:KEPT_HIVES])}
    done_at = body.get("done_at")
    if isinstance(done_at, str) and _moment(done_at) is not None:
        moment = _moment(done_at)
        assert moment is not None
        if moment > datetime.now(UTC) - timedelta(days=1) or moment.year < 1900:
            body["done_at"] = "2024-06-01T10:30:00+02:00"
        next_on = _day(body.get("next_inspection_on"))
        done_on = _moment(body["done_at"])
        if next_on is not None and done_on is not None and next_on < done_on.date():
            body["next_inspection_on"] = None
    return body


def harvest_rules(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    harvested_on = _day(body.get("harvested_on"))
    if harvested_on is not None and not date(1900, 1, 1) <= harvested_on <= date.today():
        body["harvested_on"] = "2024-07-01"
    hive_ids = body.get("hive_ids")
    if isinstance(hive_ids, list) and all(_is_int(hive) for hive in hive_ids):
        body["hive_ids"] = sorted({owners(hive, EXISTING_HIVES[:KEPT_HIVES]) for hive in hive_ids})
    kg_by_hive = body.get("kg_by_hive")
    if isinstance(kg_by_hive, dict) and kg_by_hive:
        # The document's keys are any strings (JSON object keys); the API's are hive ids.
        kept = EXISTING_HIVES[:KEPT_HIVES]
        hives = iter(kept * (len(kg_by_hive) // len(kept) + 1))
        body["kg_by_hive"] = dict(zip(map(str, hives), kg_by_hive.values(), strict=False))
        body["kg_by_hive"] = dict(list(body["kg_by_hive"].items())[: len(kept)])
    return body


def purchase_rules(body: dict[str, Any]) -> dict[str, Any]:
    """A purchase names its product and supplier in more than blanks, is dated from 2000 to
    today, does not expire before it was bought, names the active substance of a product not
    on the list, and counts its quantity to the hundredth."""
    body = dict(body)
    for name in ("product", "batch", "supplier_name", "supplier_address", "invoice_number"):
        if isinstance(body.get(name), str) and not body[name].strip():
            body[name] = "x"
    bought = _day(body.get("purchased_on"))
    if bought is not None and not date(2000, 1, 1) <= bought <= date.today():
        body["purchased_on"] = "2024-07-01"
    bought, expires = _day(body.get("purchased_on")), _day(body.get("expires_on"))
    if bought is not None and expires is not None and expires < bought:
        body["expires_on"] = body["purchased_on"]
    substance = body.get("active_substance", "")
    if isinstance(substance, str) and not substance.strip():
        body["active_substance"] = "oxalic acid"
    return with_hundredths(body)


def treatment_rules(body: dict[str, Any]) -> dict[str, Any]:
    """A treatment of the owner's treated hive, from the owner's batch, given from its purchase
    to today, its quantity to the hundredth and its texts more than blanks."""
    body = dict(body)
    hive_ids = body.get("hive_ids")
    if isinstance(hive_ids, list) and hive_ids and all(_is_int(hive) for hive in hive_ids):
        body["hive_ids"] = TREATED_HIVES[:1]
    body["purchase_id"] = owners(body.get("purchase_id"), EXISTING["purchase"])
    started = _day(body.get("started_on"))
    if started is not None and not date(2024, 1, 1) <= started <= date.today():
        body["started_on"] = "2024-07-01"
    for name in ("dose", "treated_by"):
        if isinstance(body.get(name), str) and not body[name].strip():
            body[name] = "x"
    return with_hundredths(body)


def disposal_rules(body: dict[str, Any]) -> dict[str, Any]:
    """A disposal dated from the batch's purchase to today, its quantity to the hundredth."""
    body = dict(body)
    disposed = _day(body.get("disposed_on"))
    if disposed is not None and not date(2024, 1, 1) <= disposed <= date.today():
        body["disposed_on"] = "2024-07-01"
    return with_hundredths(body)


def with_hundredths(body: dict[str, Any]) -> dict[str, Any]:
    """A quantity kept to the hundredth (the column's), and above zero once rounded."""
    quantity = body.get("quantity")
    if _is_number(quantity) and quantity > 0:
        body["quantity"] = max(round(quantity, 2), 0.01)
    return body


def colony_event_rules(body: dict[str, Any]) -> dict[str, Any]:
    """An event of one of the owner's colonies, today (the hives were made today), uniting
    another of them, with a mother queen of theirs; a split goes into a new hive."""
    body = {**body, "colony_id": owners(body.get("colony_id"), EXISTING["colony"])}
    if _day(body.get("happened_on")) is not None:
        body["happened_on"] = date.today().isoformat()
    if "other_colony_id" in body:
        body["other_colony_id"] = owners(body["other_colony_id"], EXISTING["colony"])
    if _is_int(body.get("mother_id")):
        body["mother_id"] = owners(body["mother_id"], EXISTING["queen"])
    if _is_int(body.get("alert_id")):
        body["alert_id"] = None
    if body.get("kind") == "split" and _is_int(body.get("hive_id")):
        body["hive_id"] = None
    return body


def readings_rules(body: dict[str, Any]) -> dict[str, Any]:
    readings = body.get("readings")
    if not isinstance(readings, list) or not SENSOR_RANGES:
        return body
    sensors = sorted(SENSOR_RANGES)
    kept = []
    for index, reading in enumerate(readings):
        if isinstance(reading, dict):
            reading = dict(reading)
            if _is_int(reading.get("sensor_id")):
                reading["sensor_id"] = sensors[index % len(sensors)]
            if isinstance(reading.get("recorded_at"), str) and _moment(reading["recorded_at"]):
                at = datetime.now(UTC) - timedelta(minutes=index + 1)
                reading["recorded_at"] = at.isoformat()
            value, sensor = reading.get("value"), reading.get("sensor_id")
            if _is_number(value) and _is_int(sensor) and sensor in SENSOR_RANGES:
                low, high = SENSOR_RANGES[sensor]
                reading["value"] = value if low <= value <= high else (low + high) / 2
            reading = without_nul(reading)
        kept.append(reading)
    return without_nul({**body, "readings": kept})


def without_nul(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields a batch or a reading ignores may hold any JSON but a NUL, at any depth (the
    schemas' descriptions say it; JSON Schema would need a recursive union that generated
    clients cannot read): an ignored field that holds one is left out."""
    return {
        name: value
        for name, value in fields.items()
        if "\x00" not in name and "\\u0000" not in json.dumps(value)
    }


def owners(value: Any, ids: list[int]) -> Any:
    """One of `ids` for an id-like integer, picked by it; anything else as it was."""
    return ids[value % len(ids)] if _is_int(value) and value > 0 and ids else value


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_the_future(text: Any) -> bool:
    day = _day(text)
    return day is not None and day > date.today()


async def _prepare(database_url: str) -> None:
    """One beekeeper with a few hives and API_KEY, in the fuzz run's own database."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"ALTER SEQUENCE hives_id_seq RESTART WITH {FIRST_HIVE_ID}")
    finally:
        await conn.close()
    async with engine_session(database_url) as db:
        user = User(name="Fuzz", email="fuzz@example.org", password_hash="never logs in")
        db.add(user)
        await db.commit()
        await key_queries.create_key(
            db, user.id, name="fuzz", prefix=API_KEY.prefix, key_hash=API_KEY.hash
        )
        for things in EXISTING.values():
            things.clear()
        SENSOR_RANGES.clear()
        for number in range(5):
            hive = HiveForm(
                name=f"Fuzz {number}", latitude=52.5, longitude=13.4, frame_type="dadant"
            )
            EXISTING_HIVES.append(await hive_queries.create_hive(db, user.id, hive))
        hive_id = EXISTING_HIVES[0]
        EXISTING["apiary"].append(await db.scalar(select(Hive.apiary_id).where(Hive.id == hive_id)))
        EXISTING["member"].append(user.id)  # its only owner: a demotion or removal is refused
        for kind in SensorKind:
            sensor = Sensor(
                hive_id=hive_id, name=kind.value, kind=kind, placement=SensorPlacement.inside
            )
            db.add(sensor)
            await db.flush()
            SENSOR_RANGES[sensor.id] = (KINDS[kind].low, KINDS[kind].high)
        for key, kind in (
            (BEEP_KEY, DeviceType.beep),
            (DEV_EUI, DeviceType.ttn),
            (KOTORI_NODE, DeviceType.kotori),
        ):
            db.add(Device(hive_id=hive_id, name=kind.value, type=kind, key=key))
        EXISTING["node"].append(KOTORI_NODE)
        done_at = datetime.now(UTC) - timedelta(days=3)
        form = InspectionForm(done_at=done_at, frames_of_bees=8)
        EXISTING["inspection"].append(await field_log.record(db, hive_id, form, by=user.id))
        harvest = HarvestForm(harvested_on=date.today(), hive_ids=EXISTING_HIVES[:2], total_kg=20)
        EXISTING["harvest"].append(await field_log.create_harvest(db, user.id, harvest))
        await medicines(db, user.id)
        await colonies_of(db, user.id)
        await db.commit()


async def medicines(db, owner_id: int) -> None:
    """A hive of its own for treatments, a batch with plenty in stock, and a treatment."""
    TREATED_HIVES.clear()
    hive = HiveForm(name="Treated", latitude=52.5, longitude=13.4, frame_type="dadant")
    TREATED_HIVES.append(await hive_queries.create_hive(db, owner_id, hive))
    purchase = await treatments.create_purchase(
        db,
        owner_id,
        PurchaseForm(
            product="Oxybee", batch="OX-1", expires_on=date(2100, 1, 1),
            supplier_name="Shop", supplier_address="Street 1", purchased_on=date(2024, 1, 1),
            quantity=Decimal(99_999_999), unit="ml", invoice_number="R-1",
        ),
    )  # fmt: skip
    EXISTING["purchase"].append(purchase.id)
    treatment = await treatments.create_treatment(
        db,
        owner_id,
        TreatmentForm(
            hive_ids=TREATED_HIVES, purchase_id=purchase.id, started_on=date(2024, 2, 1),
            dose="5 ml", quantity=Decimal(1), method="trickling", duration_days=1,
            withdrawal_days=0, treated_by="Fuzz",
        ),
    )  # fmt: skip
    EXISTING["treatment"].append(treatment.id)


async def colonies_of(db, owner_id: int) -> None:
    """A colony in each kept hive, the first with a queen."""
    today = date.today()
    for hive_id in EXISTING_HIVES[:KEPT_HIVES]:
        hive = await db.get(Hive, hive_id)
        colony = await colony_queries.start(db, owner_id, hive, StartForm(happened_on=today), today)
        EXISTING["colony"].append(colony.id)
        EXISTING["colony_event"].append(
            await db.scalar(select(ColonyEvent.id).where(ColonyEvent.colony_id == colony.id))
        )
    colony = await colony_queries.colony_of(db, owner_id, EXISTING["colony"][0])
    await colony_queries.requeen(db, colony, RequeenForm(happened_on=today, year=2026), today)
    EXISTING["queen"].append(await db.scalar(select(Queen.id)))


@pytest.fixture(scope="module")
def database_url(database_server_url: str) -> Iterator[str]:
    """A database of the fuzz run's own: the other unit tests empty theirs before each test."""
    with throwaway_database(database_server_url, "cityhive_fuzz") as url:
        yield url


@pytest.fixture(scope="module")
def base_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app serving the fuzz database on a loopback port, from a thread of its own."""
    app_settings = Settings(
        database_url=database_url,
        secret_key=SecretStr("fuzz-secret-" + "k" * 32),
        data_dir=Path(tmp_path_factory.mktemp("fuzz")),
        demo_data=False,
        log_level="ERROR",
        # The fuzzer sends thousands of wrong keys and batches from one address and one key:
        # the limits (tests/unit/test_api_keys.py, test_sensors.py) are not what it checks.
        api_key_failures_per_address=1_000_000,
        readings_batches_per_key=1_000_000,
    )
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(app_settings), access_log=None)
    listening = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        listening.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fuzzed-app", daemon=True)
    thread.start()
    assert listening.wait(30), "the app did not start listening"
    try:
        asyncio.run_coroutine_threadsafe(_prepare(database_url), loop).result(30)
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_the_fuzzed_document_is_the_one_the_api_serves(base_url):
    with urllib.request.urlopen(f"{base_url}/api/v1/openapi.json", timeout=10) as response:
        served = json.load(response)
    assert served == openapi_document()
    assert len(served["paths"]) >= 3


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,  # a shared machine's pauses are not the API's failures
    database=None,  # no .hypothesis/ folder in the checkout
    derandomize=REPEATABLE,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_holds_under_generated_requests(case, base_url):
    within_unstated_rules(case)
    case.call_and_validate(base_url=base_url, checks=CHECKS_FOR_ALL)


def positive_data_acceptance_but_for_a_reason(ctx, response, case):
    """schemathesis' own check, except a 422 problem document from an operation listed in
    REFUSES_FOR_A_REASON, and a repeat's 410: answers the document gives for schema-valid
    input."""
    refused_for_a_reason = (
        f"{case.method.upper()} {case.path}" in REFUSES_FOR_A_REASON
        and response.status_code == 422
        and response.headers.get("content-type", [""])[0].startswith("application/problem+json")
    )
    if refused_for_a_reason or replayed_after_its_record_was_deleted(response, case):
        return None
    return positive_data_acceptance(ctx, response, case)


def replayed_after_its_record_was_deleted(response, case) -> bool:
    """A create sent again with its key after the record it made was deleted (the stateful
    phase deletes what it created, then may repeat the create): a 410 problem, as the key's
    description says, and nothing made again."""
    if response.status_code != 410 or "Idempotency-Key" not in (case.headers or {}):
        return False
    return json.loads(response.content)["type"] == "/api#idempotency-record-gone"


def negative_data_rejection_or_too_large(ctx, response, case):
    """schemathesis' own check, except a 413 problem document from an operation listed in
    REFUSES_AS_TOO_LARGE."""
    too_large = (
        f"{case.method.upper()} {case.path}" in REFUSES_AS_TOO_LARGE
        and response.status_code == 413
        and response.headers.get("content-type", [""])[0].startswith("application/problem+json")
    )
    if too_large:
        return None
    return negative_data_rejection(ctx, response, case)


REPLACED = {positive_data_acceptance, negative_data_rejection}
CHECKS_FOR_ALL = [check for check in CHECKS.get_all() if check not in REPLACED] + [
    positive_data_acceptance_but_for_a_reason,
    negative_data_rejection_or_too_large,
]


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """The stateful phase: sequences of calls that follow the document's links (a created hive
    is read, changed, deleted; a recorded inspection is read and found in its hive's list),
    each answer checked by every check, the stateful ones (use after free, a created resource
    available) included. The requests keep the same unstated rules as above."""

    base_url = ""

    answered: ClassVar[Counter[tuple[str, int]]] = Counter()
    scenarios: ClassVar[int] = 0

    def setup(self) -> None:
        type(self).scenarios += 1

    def before_call(self, case) -> None:
        within_unstated_rules(case)
        never_a_kept_hive_deleted(case)

    def after_call(self, response, case) -> None:
        super().after_call(response, case)
        self.answered[(f"{case.method.upper()} {case.operation.path}", response.status_code)] += 1

    def get_call_kwargs(self, case) -> dict[str, Any]:
        return {"base_url": self.base_url}

    def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
        case.validate_response(
            response, checks=CHECKS_FOR_ALL, transport_kwargs=kwargs, recorder=self.recorder
        )


def never_a_kept_hive_deleted(case) -> None:
    """The stateful phase takes ids from earlier answers (links, and the ids it infers from
    them), past flatmap_path_parameters: a DELETE of a kept hive would take the records made on
    it along (a hive's inspections go with it), which a later step would then not find for a
    reason no check knows. It names a hive that does not exist instead."""
    parameters = case.path_parameters or {}
    deleting_a_hive = (
        case.method.upper() == "DELETE" and case.operation.path == "/api/v1/hives/{id}"
    )
    if deleting_a_hive and parameters.get("id") in EXISTING_HIVES[:KEPT_HIVES]:
        case.path_parameters = {**parameters, "id": 2**31 - 1}


def test_sequences_of_operations_hold_along_the_documents_links(base_url):
    """As schemathesis' own runner does it: scenarios generated only (no replay to shrink,
    since the server's state has moved on), and a run whose generation diverged from an earlier
    one because the server answered otherwise (FlakyStrategyDefinition: a bundle the same
    choices filled before is empty now) goes on with the scenarios left. A check that fails
    fails the test at once."""
    Workflow.base_url = base_url
    Workflow.answered.clear()
    Workflow.scenarios = 0
    while Workflow.scenarios < STATEFUL_SCENARIOS:
        before = Workflow.scenarios
        try:
            Workflow.run(
                settings=settings(
                    max_examples=STATEFUL_SCENARIOS - before,
                    stateful_step_count=6,
                    phases=[Phase.generate],
                    deadline=None,
                    database=None,
                    derandomize=REPEATABLE,
                    suppress_health_check=list(HealthCheck),
                )
            )
            break
        except FlakyStrategyDefinition:
            if Workflow.scenarios <= before + 1:
                raise  # no progress: not the server's state moving on
    assert Workflow.scenarios >= STATEFUL_SCENARIOS, Workflow.scenarios
    assert sum(Workflow.answered.values()) >= STATEFUL_SCENARIOS


def test_the_documents_links_are_steps_of_the_stateful_phase():
    """What a create answers leads to where its record is found: each link of the document is
    a step the stateful phase takes (schemathesis adds steps it infers, from a field such as
    an inspection's hive_id, to these)."""
    steps = {name for name in dir(Workflow) if "___201_" in name}
    assert {
        "POST_api_v1_hives___201_GetHive__GET_api_v1_hives_id_",
        "POST_api_v1_hives___201_DeleteHive__DELETE_api_v1_hives_id_",
        "POST_api_v1_hives___201_ListInspectionsOfHive__GET_api_v1_inspections",
        "POST_api_v1_inspections___201_GetInspection__GET_api_v1_inspections_id_",
        "POST_api_v1_inspections___201_ListInspectionsOfItsHive__GET_api_v1_inspections",
        "POST_api_v1_harvests___201_GetHarvest__GET_api_v1_harvests_id_",
    } <= steps

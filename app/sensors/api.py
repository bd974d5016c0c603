"""The sensors' JSON API: readings in (a batch, or a device's flat post), sensors and alerts out.

Authenticated by the user's API key (app/api/auth.py); errors are problem documents. A batch
with refused readings is answered 422 with the counts and every reason, and `batch` says
whether the valid readings were stored or nothing was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from app.api.auth import api_owner, hash_key, presented_key
from app.api.problems import PROBLEM_JSON, Problem, api_view
from app.api.queries import TOUCH_INTERVAL
from app.keys import db_key, metrics_key, settings_key
from app.sensors import alerts, queries
from app.sensors.ingest import (
    Checked,
    OwnedSensor,
    Stored,
    check_device_fields,
    check_readings,
    ingest_pool_key,
    key_owner_and_sensors,
    owns_hive,
    sensors_of_hive,
    store,
)
from app.sensors.schemas import (
    KINDS,
    MAX_BATCH,
    AlertList,
    AlertOut,
    SensorList,
    SensorOut,
)
from app.sensors.webhooks import deliver_later
from app.web.paths import MAX_ID, path_id

log = structlog.get_logger(__name__)

REFUSED_TYPE = "/api#readings-refused"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, up to `limit` bytes (a readings batch may be larger than other requests)."""
    too_large = Problem(413, f"The body is larger than {limit:,} bytes: send smaller batches.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def invalid(location: Sequence[str | int], message: str, kind: str, detail: str) -> Problem:
    return Problem(
        422, detail, errors=[{"location": list(location), "message": message, "type": kind}]
    )


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:  # UnicodeDecodeError included
        raise invalid(
            ["body"], str(error), "json_invalid", "The request body is not valid JSON."
        ) from error


def batch_of(data: Any) -> tuple[list[Any], bool]:
    """The readings and the all_or_nothing flag of a batch body; else a 422 or 413 problem."""
    if not isinstance(data, dict):
        raise invalid(
            ["body"],
            'Send an object: {"readings": [...]}.',
            "type_error",
            "The body must be a JSON object.",
        )
    readings = data.get("readings")
    if not isinstance(readings, list):
        kind = "missing" if readings is None else "type_error"
        raise invalid(
            ["body", "readings"],
            "A list of readings is required.",
            kind,
            "The body has no list of readings.",
        )
    all_or_nothing = data.get("all_or_nothing", False)
    if not isinstance(all_or_nothing, bool):
        raise invalid(
            ["body", "all_or_nothing"],
            "Must be true or false.",
            "bool_type",
            "all_or_nothing must be true or false.",
        )
    if len(readings) > MAX_BATCH:
        raise Problem(
            413,
            f"A batch holds at most {MAX_BATCH:,} readings; this one has {len(readings):,}. "
            "Split it; nothing was stored.",
        )
    return readings, all_or_nothing


def key_of(request: web.Request, fields: Mapping[str, Any] | None = None) -> str:
    """The API key from a header or, for devices that cannot send one, a `key` field."""
    field = (fields or {}).get("key")
    key = presented_key(request) or (field if isinstance(field, str) and field else None)
    if key is None:
        where = "a `key` field or " if fields is not None else ""
        raise Problem(401, f"Send your API key as {where}'Authorization: Bearer <key>'.", auth=True)
    return key


# app/api's key lookup (api_owner), on the ingest pool's connection. As there, the key's use is
# noted at most once per TOUCH_INTERVAL.
KEY_OWNER = "SELECT id, user_id, last_used_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL"
TOUCH_KEY = "UPDATE api_keys SET last_used_at = now() WHERE id = $1"
UNKNOWN_KEY = "This API key is unknown or has been revoked."


async def touch(pg: asyncpg.Connection, key_id: int, last_used_at: datetime | None) -> None:
    if last_used_at is None or last_used_at < datetime.now(UTC) - TOUCH_INTERVAL:
        await pg.execute(TOUCH_KEY, key_id)


async def key_owner(pg: asyncpg.Connection, key: str) -> int:
    """The user whose live key this is."""
    row = await pg.fetchrow(KEY_OWNER, hash_key(key))
    if row is None:
        raise Problem(401, UNKNOWN_KEY, auth=True)
    await touch(pg, row["id"], row["last_used_at"])
    return int(row["user_id"])


@api_view
async def post_readings(request: web.Request) -> web.Response:
    """A batch of readings of the key owner's sensors.

    One connection of the ingest pool serves the whole request (the key, the sensors, the
    batch, the alerts), without SQLAlchemy: see ingest_pool.
    """
    key = key_of(request)
    body = await read_body(request, request.app[settings_key].readings_max_body_bytes)
    items, all_or_nothing = batch_of(parse_json(body))
    now = datetime.now(UTC)
    named = {
        item["sensor_id"]
        for item in items
        if type(item) is dict and type(item.get("sensor_id")) is int
    }
    named = {sensor_id for sensor_id in named if 0 < sensor_id <= MAX_ID}
    async with request.app[ingest_pool_key].acquire() as pg:
        found = await key_owner_and_sensors(pg, hash_key(key), sorted(named))
        if found is None:
            raise Problem(401, UNKNOWN_KEY, auth=True)
        owner, sensors = found
        await touch(pg, owner.key_id, owner.last_used_at)
        owner_id = owner.user_id
        checked = check_readings(items, sensors, now)
        keep = not (all_or_nothing and checked.refused)
        stored = await store(pg, checked) if keep else Stored([], [], [])
        raised = await raise_alerts(pg, owner_id, sensors, stored)
    return answer(request, raised, checked, stored, kept=keep)


async def device_fields(request: web.Request) -> dict[str, Any]:
    """A device post's fields: the query string, and the form or JSON object in the body."""
    fields: dict[str, Any] = dict(request.query)
    if request.content_type in FORM_TYPES:
        posted = await request.post()
        fields |= {name: value for name, value in posted.items() if isinstance(value, str)}
    elif request.content_type == "application/json":
        data = parse_json(await read_body(request, request.app[settings_key].max_body_bytes))
        if not isinstance(data, dict):
            raise invalid(
                ["body"],
                'Send a flat object: {"t": 21.5, "weight_kg": 42.1}.',
                "type_error",
                "The body must be a JSON object.",
            )
        fields |= data
    return fields


@api_view
async def post_device_readings(request: web.Request) -> web.Response:
    """One flat post from a hive's device: `t=21.5&h=60&weight_kg=42.1&bv=3.9`."""
    fields = await device_fields(request)
    key = key_of(request, fields)
    hive_id = path_id(request, "hive_id")
    now = datetime.now(UTC)
    async with request.app[ingest_pool_key].acquire() as pg:
        owner_id = await key_owner(pg, key)
        if not await owns_hive(pg, owner_id, hive_id):
            raise Problem(404, f"You have no hive {hive_id}.")
        hive_sensors = await sensors_of_hive(pg, owner_id, hive_id)
        checked = check_device_fields(fields, hive_sensors, now)
        stored = await store(pg, checked)
        sensors = {sensor.id: sensor for sensor in hive_sensors}
        raised = await raise_alerts(pg, owner_id, sensors, stored)
    return answer(request, raised, checked, stored, kept=True, device=True)


def answer(
    request: web.Request,
    raised: Sequence[alerts.Raised],
    checked: Checked,
    stored: Stored,
    *,
    kept: bool,
    device: bool = False,
) -> web.Response:
    """Count, send the new alerts on, and say what happened."""
    alerts.count(request.app, raised)
    deliver_later(request.app, raised)
    duplicates = len(checked.sensor_ids) - len(stored) if kept else 0
    metrics = request.app[metrics_key].sensor_readings
    metrics.labels("stored").inc(len(stored))
    metrics.labels("duplicate").inc(duplicates)
    metrics.labels("refused").inc(checked.refused)
    counts: dict[str, Any] = {
        "stored": len(stored),
        "duplicates": duplicates,
        "refused": checked.refused,
    }
    if device:
        counts["ignored"] = checked.ignored
    if not checked.refused and not checked.errors:
        return web.json_response({"batch": "stored", **counts})
    batch = "valid_stored" if kept and checked.sensor_ids else "nothing_stored"
    noun = "reading" if checked.total == 1 else "readings"
    verb = "was" if checked.refused == 1 else "were"
    if batch == "valid_stored":
        valid = len(checked.sensor_ids)
        what = f"the {valid} valid {'one was' if valid == 1 else 'ones were'} stored"
    elif checked.sensor_ids:
        what = "nothing was stored (all_or_nothing)"
    else:
        what = "nothing was stored"
    detail = f"{checked.refused} of {checked.total} {noun} {verb} refused; {what}."
    if not checked.total:  # a device post with no readings, refused for its time, say
        detail = f"Nothing was stored: {checked.errors[0]['message']}"
    body = {
        "type": REFUSED_TYPE,
        "title": HTTPStatus(422).phrase,
        "status": 422,
        "detail": detail,
        "batch": batch,
        **counts,
        "errors": checked.errors,
    }
    return web.json_response(body, status=422, content_type=PROBLEM_JSON)


async def raise_alerts(
    pg: asyncpg.Connection,
    owner_id: int,
    sensors: Mapping[int, OwnedSensor],
    stored: Stored,
) -> list[alerts.Raised]:
    """The alerts the new readings call for. The readings are stored whatever happens here:
    a failure is logged, not answered."""
    if not stored:
        return []
    try:
        return await alerts.after_readings(pg, owner_id, sensors, stored)
    except Exception:
        log.exception("alert_check_failed", owner_id=owner_id)
        return []


@api_view
async def sensor_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    hive = request.query.get("hive")
    if hive is not None and not (hive.isdigit() and 0 < int(hive) <= MAX_ID):
        raise invalid(
            ["query", "hive"],
            "A hive id is a number.",
            "int_parsing",
            "1 field of the query did not validate.",
        )
    async with request.app[db_key]() as db:
        sensors = await queries.sensors_of_owner(db, owner_id, int(hive) if hive else None)
    items = [
        SensorOut(
            id=sensor.id,
            hive_id=sensor.hive_id,
            name=sensor.name,
            kind=sensor.kind,
            unit=KINDS[sensor.kind].unit,
            placement=sensor.placement,
            last_reading_at=sensor.last_reading_at,
            last_value=sensor.last_value,
        )
        for sensor in sensors
    ]
    return web.json_response(text=SensorList(items=items).model_dump_json())


@api_view
async def alert_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with request.app[db_key]() as db:
        open_alerts = await queries.open_alerts_of(db, owner_id)
    answered = AlertList(items=[AlertOut.of(alert) for alert in open_alerts])
    return web.json_response(text=answered.model_dump_json())

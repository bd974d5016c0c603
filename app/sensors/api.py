"""The sensors' JSON API: readings in (a batch, or a device's flat post), sensors and alerts out.

Authenticated by the user's API key (app/api/auth.py); errors are problem documents. A batch
with refused readings is answered 422 with the counts and every reason, and `batch` says
whether the valid readings were stored or nothing was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from app.keys import batch_slots_key, ingest_pool_key, metrics_key, settings_key
from app.models import KeyOwner
from app.sensors import alerts, queries
from app.sensors.ingest import (
    MAX_VALUES,
    Checked,
    OwnedSensor,
    Stored,
    check_device_fields,
    check_readings,
    json_values_at_most,
    off_the_loop,
    owns_hive,
    sensors_among,
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
from app.slots import SlotsFull
from app.web import throttle
from app.web.api import (
    PROBLEM_JSON,
    READINGS_REFUSED_TYPE,
    Problem,
    TooManyRequests,
    api_owner,
    api_view,
    json_media_type,
    key_holder,
    presented_key,
    strict_json,
)
from app.web.database import db_session
from app.web.paths import MAX_ID, path_id

log = structlog.get_logger(__name__)

BATCHES_PER_KEY = "readings-per-key"  # the throttle bucket, keyed by API key id
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, up to `limit` bytes (a readings batch may be larger than other requests)."""
    refuse_declared_size(request, limit)
    body = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > limit:
            raise body_too_large(limit)
    return bytes(body)


def invalid(location: Sequence[str | int], message: str, kind: str, detail: str) -> Problem:
    return Problem(
        422, detail, errors=[{"location": list(location), "message": message, "type": kind}]
    )


def parse_json(body: bytes) -> Any:
    return strict_json(body, finite=False)  # each reading names its own NaN or Infinity


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


def refuse_declared_size(request: web.Request, limit: int) -> None:
    """413 for a body whose Content-Length is over `limit`, before a byte of it is read."""
    if request.content_length is not None and request.content_length > limit:
        raise body_too_large(limit)


def body_too_large(limit: int) -> Problem:
    return Problem(413, f"The body is larger than {limit:,} bytes: send smaller batches.")


def parse_batch(body: bytes) -> tuple[list[Any], bool]:
    """The readings and the all_or_nothing flag of a batch body (run off the event loop); a
    body with more JSON values than MAX_BATCH readings need is 413 without being parsed."""
    if json_values_at_most(body) > MAX_VALUES:
        raise Problem(
            413,
            f"A batch holds at most {MAX_BATCH:,} readings, and this body holds more values than "
            "that many need. Split it; nothing was stored.",
        )
    return batch_of(parse_json(body))


@contextmanager
def batch_slot(request: web.Request, holder: KeyOwner) -> Iterator[None]:
    """This key's one batch in flight in this process (the body read, checked and stored);
    a second one at the same time is 429."""
    try:
        slot = request.app[batch_slots_key].take(holder.key_id)
    except SlotsFull as full:
        detail = (
            "This API key is already sending a batch: send the next one when it is answered."
            if full.mine
            else "The server is busy with other batches. Try again in a moment."
        )
        raise TooManyRequests(1, detail) from None
    with slot:
        yield


async def count_batch(request: web.Request, holder: KeyOwner) -> None:
    """Count a post against its key's READINGS_BATCHES_PER_KEY per READINGS_WINDOW_SECONDS."""
    await count_post(request, BATCHES_PER_KEY, holder.key_id, "This API key")


async def count_post(request: web.Request, bucket: str, sender_id: int, sender: str) -> None:
    """Count a post of readings against its sender's READINGS_BATCHES_PER_KEY per
    READINGS_WINDOW_SECONDS (an API key's, a device's); past it, 429 with Retry-After."""
    settings = request.app[settings_key]
    async with db_session(request) as db:
        wait = await throttle.take(
            db,
            bucket=bucket,
            key=str(sender_id),
            limit=settings.readings_batches_per_key,
            window_seconds=settings.readings_window_seconds,
        )
    if wait:
        raise TooManyRequests(
            wait,
            f"{sender} has sent {settings.readings_batches_per_key} posts of readings in "
            f"{settings.readings_window_seconds} seconds. Try again in {wait} seconds.",
        )


@api_view
async def post_readings(request: web.Request) -> web.Response:
    """A batch of readings of the key owner's sensors.

    Before a byte of the body is read: its declared size (413), the key (401, or 429 for an
    address sending wrong keys), the key's one batch in flight and its rate (429). Then the body
    is parsed and checked in a worker thread, one batch at a time, and stored on a connection of
    the ingest pool (without SQLAlchemy: see ingest_pool), which is not held while the body is
    read.
    """
    limit = request.app[settings_key].readings_max_body_bytes
    refuse_declared_size(request, limit)
    holder = await key_holder(request)
    json_media_type(request)
    with batch_slot(request, holder):
        await count_batch(request, holder)
        body = await read_body(request, limit)
        items, all_or_nothing = await off_the_loop(request.app, parse_batch, body)
        named = {
            item["sensor_id"]
            for item in items
            if type(item) is dict and type(item.get("sensor_id")) is int
        }
        named = {sensor_id for sensor_id in named if 0 < sensor_id <= MAX_ID}
        now = datetime.now(UTC)
        async with request.app[ingest_pool_key].acquire() as pg:
            sensors = await sensors_among(pg, holder.user_id, sorted(named))
            checked = await off_the_loop(request.app, check_readings, items, sensors, now)
            keep = not (all_or_nothing and checked.refused)
            stored = await store(pg, checked) if keep else Stored([], [], [])
            raised = await raise_alerts(request, pg, holder.user_id, sensors, stored)
        return await answer(request, raised, checked, stored, kept=keep)


async def device_fields(request: web.Request) -> dict[str, Any]:
    """A device post's fields: the query string, and the form or JSON object in the body."""
    fields: dict[str, Any] = dict(request.query)
    limit = request.app[settings_key].max_body_bytes
    refuse_declared_size(request, limit)
    if request.content_type in FORM_TYPES:
        posted = await request.post()
        fields |= {name: value for name, value in posted.items() if isinstance(value, str)}
    elif request.content_type == "application/json":
        data = parse_json(await read_body(request, limit))
        if not isinstance(data, dict):
            raise invalid(
                ["body"],
                'Send a flat object: {"t": 21.5, "weight_kg": 42.1}.',
                "type_error",
                "The body must be a JSON object.",
            )
        fields |= data
    return fields


MISSING_DEVICE_KEY = "Send your API key as a `key` field or 'Authorization: Bearer <key>'."


def key_field(fields: Mapping[str, Any]) -> str | None:
    """The `key` a device that cannot send headers puts in its query string or body."""
    key = fields.get("key")
    return key if isinstance(key, str) and key else None


@api_view
async def post_device_readings(request: web.Request) -> web.Response:
    """One flat post from a hive's device: `t=21.5&h=60&weight_kg=42.1&bv=3.9`.

    The key is checked before the body is read when it comes in a header or the query string;
    a device that can only put it in its (small, MAX_BODY_BYTES) body has that read first.
    """
    hive_id = path_id(request, "hive_id")
    key = presented_key(request) or key_field(request.query)
    holder = await key_holder(request, key) if key else None
    fields = await device_fields(request)
    if holder is None:
        holder = await key_holder(request, key_field(fields), missing=MISSING_DEVICE_KEY)
    with batch_slot(request, holder):
        await count_batch(request, holder)
        now = datetime.now(UTC)
        async with request.app[ingest_pool_key].acquire() as pg:
            if not await owns_hive(pg, holder.user_id, hive_id):
                raise Problem(404, f"You have no hive {hive_id}.")
            hive_sensors = await sensors_of_hive(pg, holder.user_id, hive_id)
            checked = check_device_fields(fields, hive_sensors, now)
            stored = await store(pg, checked)
            sensors = {sensor.id: sensor for sensor in hive_sensors}
            raised = await raise_alerts(request, pg, holder.user_id, sensors, stored)
        return await answer(request, raised, checked, stored, kept=True, device=True)


async def answer(
    request: web.Request,
    raised: Sequence[alerts.Raised],
    checked: Checked,
    stored: Stored,
    *,
    kept: bool,
    device: bool = False,
    status: int = 200,
) -> web.Response:
    """Count, send the new alerts on, and say what happened (a long list of refusals is
    written out off the event loop). A device post that holds no reading at all (every field
    ignored, or none) is not "stored": it is 422 and says so. `status` is a success's (BEEP's
    clients expect 201)."""
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
    empty = device and not checked.total and not checked.errors
    if not checked.refused and not checked.errors and not empty:
        return web.json_response({"batch": "stored", **counts}, status=status)
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
    if empty:
        detail = (
            "Nothing was stored: no field names a measurement ("
            + ", ".join(checked.ignored)
            + " ignored)."
            if checked.ignored
            else "Nothing was stored: the post holds no readings."
        )
    elif not checked.total:  # a device post with no readings, refused for its time, say
        detail = f"Nothing was stored: {checked.errors[0]['message']}"
    body = {
        "type": READINGS_REFUSED_TYPE,
        "title": HTTPStatus(422).phrase,
        "status": 422,
        "detail": detail,
        "batch": batch,
        **counts,
        "errors": checked.errors,
    }
    text = await off_the_loop(request.app, json.dumps, body)
    return web.json_response(text=text, status=422, content_type=PROBLEM_JSON)


async def raise_alerts(
    request: web.Request,
    pg: asyncpg.Connection,
    owner_id: int,
    sensors: Mapping[int, OwnedSensor],
    stored: Stored,
) -> list[alerts.Raised]:
    """The alerts the new readings call for (the rules' sleeping hours are the city's). The
    readings are stored whatever happens here: a failure is logged, not answered."""
    if not stored:
        return []
    zone = request.app[settings_key].zone
    try:
        return await alerts.after_readings(pg, owner_id, sensors, stored, zone)
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
    async with db_session(request) as db:
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
    async with db_session(request) as db:
        open_alerts = await queries.open_alerts_of(db, owner_id)
    answered = AlertList(items=[AlertOut.of(alert) for alert in open_alerts])
    return web.json_response(text=answered.model_dump_json())

"""Readings in: check a batch in plain Python, store it in one statement, say what happened.

Speed is the point here. A batch of 10,000 readings is checked by a loop with a fast path (a
well-formed reading costs a few dict lookups and one `datetime.fromisoformat`) and a slow path
that explains, field by field, only what was refused. The valid readings go to PostgreSQL in
one statement on a raw asyncpg connection, with no ORM object per reading: a COPY for large
batches, an INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING for small ones and for
batches that repeat stored readings. A trigger on `readings` notes each sensor's newest reading
on its row in the same statement (the hive page and the offline check read that).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from app.keys import batch_cpu_key
from app.models import AlertKind, RuleComparison, SensorKind, SensorPlacement
from app.sensors.schemas import (
    DEFAULT_RULES,
    DEVICE_FIELDS,
    DEVICE_RESERVED,
    EARLIEST,
    KINDS,
    MAX_BATCH,
    MAX_FUTURE,
    Rules,
    Sleep,
    UserRule,
)
from app.settings import INGEST_CONNECTIONS
from app.web.auth import members_hive_sql


@dataclass(frozen=True)
class OwnedSensor:
    """A sensor the key's owner may post to (its hive is one they may change: an owner or a
    keeper of its apiary), with what the alert checks need to know of it."""

    id: int
    hive_id: int
    hive_name: str
    name: str
    kind: SensorKind
    placement: SensorPlacement
    rules: Rules
    active_alerts: frozenset[AlertKind]  # alerts of this sensor whose condition lasts
    hive_offline: bool  # the hive has an open offline alert
    sleeps: Mapping[AlertKind, Sleep] = field(default_factory=dict)  # when its rules sleep
    user_rules: tuple[UserRule, ...] = ()  # the beekeeper's rules on this sensor, switched on
    active_rules: frozenset[int] = frozenset()  # those with an open alert of this sensor


_OWNED_SENSORS = """
    SELECT s.id, s.hive_id, h.name AS hive_name, s.name,
           s.kind::text AS kind, s.placement::text AS placement,
           r.hive_id IS NOT NULL AS has_rules, r.swarm_drop_kg, r.swarm_window_minutes,
           r.temperature_min, r.temperature_max, r.humidity_min, r.humidity_max,
           r.offline_hours, r.battery_min_volts,
           ARRAY(SELECT a.kind::text FROM alerts a
                 WHERE a.sensor_id = s.id AND a.resolved_at IS NULL
                   AND a.rule_id IS NULL) AS active_alerts,
           ARRAY(SELECT a.rule_id FROM alerts a
                 WHERE a.sensor_id = s.id AND a.resolved_at IS NULL
                   AND a.rule_id IS NOT NULL) AS active_rules,
           EXISTS (SELECT 1 FROM alerts a
                   WHERE a.hive_id = s.hive_id AND a.kind = 'offline'
                     AND a.sensor_id IS NULL AND a.resolved_at IS NULL) AS hive_offline,
           (SELECT json_agg(json_build_object('kind', z.kind, 'months', z.months,
                                              'hours', z.hours))::text
            FROM alert_sleeps z WHERE z.hive_id = s.hive_id) AS sleeps,
           (SELECT json_agg(json_build_object(
                       'id', u.id, 'comparison', u.comparison, 'threshold', u.threshold,
                       'window_minutes', u.window_minutes, 'months', u.months,
                       'hours', u.hours) ORDER BY u.id)::text
            FROM hive_rules u
            WHERE u.hive_id = s.hive_id AND u.sensor_kind = s.kind AND u.enabled
              AND (u.placement IS NULL OR u.placement = s.placement)) AS user_rules
    FROM sensors s
    JOIN hives h ON h.id = s.hive_id
    LEFT JOIN alert_rules r ON r.hive_id = s.hive_id
    WHERE {which}
"""
# The hives the user ($1) may change, as app/web/auth.py says: a keeper's key posts to the
# apiary's sensors, a viewer's to none.
MAY_CHANGE = members_hive_sql("h.apiary_id", "$1", change=True)
OWNED_SENSORS_OF_HIVE = _OWNED_SENSORS.format(which=f"{MAY_CHANGE} AND s.hive_id = $2")
OWNED_SENSORS_AMONG = _OWNED_SENSORS.format(which=f"{MAY_CHANGE} AND s.id = ANY($2::integer[])")
# A device's hive's sensors: the device's key (checked first, app/sensors/devices.py) opens it.
SENSORS_OF_DEVICE_HIVE = _OWNED_SENSORS.format(which="s.hive_id = $1")


def _owned(row: asyncpg.Record) -> OwnedSensor:
    rules = DEFAULT_RULES
    if row["has_rules"]:
        rules = Rules(**{rule.name: row[rule.name] for rule in fields(Rules)})
    return OwnedSensor(
        id=row["id"],
        hive_id=row["hive_id"],
        hive_name=row["hive_name"],
        name=row["name"],
        kind=SensorKind(row["kind"]),
        placement=SensorPlacement(row["placement"]),
        rules=rules,
        active_alerts=frozenset(AlertKind(kind) for kind in row["active_alerts"]),
        hive_offline=row["hive_offline"],
        sleeps=sleeps_of(row["sleeps"]),
        user_rules=user_rules_of(row["user_rules"]),
        active_rules=frozenset(row["active_rules"]),
    )


def sleeps_of(found: str | None) -> dict[AlertKind, Sleep]:
    """A hive's alert_sleeps rows, as json_agg gave them."""
    return {
        AlertKind(item["kind"]): Sleep(frozenset(item["months"]), frozenset(item["hours"]))
        for item in json.loads(found or "[]")
    }


def user_rules_of(found: str | None) -> tuple[UserRule, ...]:
    """A sensor's hive_rules rows, as json_agg gave them."""
    return tuple(
        UserRule(
            id=item["id"],
            comparison=RuleComparison(item["comparison"]),
            threshold=item["threshold"],
            window_minutes=item["window_minutes"],
            sleep=Sleep(frozenset(item["months"]), frozenset(item["hours"])),
        )
        for item in json.loads(found or "[]")
    )


async def sensors_among(
    pg: asyncpg.Connection, user_id: int, sensor_ids: Sequence[int]
) -> dict[int, OwnedSensor]:
    """Which of `sensor_ids` `user_id` may post to (on hives they may change), by id."""
    rows = await pg.fetch(OWNED_SENSORS_AMONG, user_id, list(sensor_ids))
    return {row["id"]: _owned(row) for row in rows}


async def sensors_of_hive(pg: asyncpg.Connection, user_id: int, hive_id: int) -> list[OwnedSensor]:
    """The hive's sensors, if `user_id` may change the hive (else none)."""
    rows = await pg.fetch(OWNED_SENSORS_OF_HIVE, user_id, hive_id)
    return [_owned(row) for row in rows]


async def sensors_of_device_hive(pg: asyncpg.Connection, hive_id: int) -> list[OwnedSensor]:
    """The sensors of a device's hive, for a post its key (and its user's) already opened."""
    rows = await pg.fetch(SENSORS_OF_DEVICE_HIVE, hive_id)
    return [_owned(row) for row in rows]


async def owns_hive(pg: asyncpg.Connection, user_id: int, hive_id: int) -> bool:
    """Whether `user_id` may post readings to the hive: they may change it."""
    found = await pg.fetchval(
        f"SELECT 1 FROM hives h WHERE h.id = $2 AND {MAY_CHANGE}",  # noqa: S608 - constants
        user_id,
        hive_id,
    )
    return found is not None


# --- checking -------------------------------------------------------------------------------


@dataclass
class Checked:
    """A batch after checking: the valid readings as three columns, and what was refused."""

    total: int
    sensor_ids: list[int] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    ignored: list[str] = field(default_factory=list)  # device fields that name no sensor

    def refuse(self, problems: list[dict[str, Any]]) -> None:
        self.refused += 1
        self.errors.extend(problems)


def problem(location: Sequence[str | int], message: str, kind: str) -> dict[str, Any]:
    return {"location": list(location), "message": message, "type": kind}


def value_problem(
    where: Sequence[str | int], value: Any, sensor: OwnedSensor
) -> dict[str, Any] | None:
    """What is wrong with `value` for this sensor, or None."""
    if type(value) not in (int, float):  # bool is a subclass of int, and not a number here
        return problem(where, "The value must be a number.", "type_error")
    if not math.isfinite(value):
        return problem(
            where, "The value must be a finite number (not NaN or infinity).", "value_not_finite"
        )
    info = KINDS[sensor.kind]
    if not info.low <= value <= info.high:
        return problem(
            where,
            f"A {info.label.lower()} reading must be between {info.low:g} and {info.high:g} "
            f"{info.unit}; {value:g} is not.",
            "value_range",
        )
    return None


def time_problem(where: Sequence[str | int], at: datetime, now: datetime) -> dict[str, Any] | None:
    if at.tzinfo is None:
        return problem(
            where, "The time needs a time zone, e.g. 2026-06-01T10:00:00Z.", "time_zone_missing"
        )
    if at > now + MAX_FUTURE:
        return problem(where, "The time is more than a day in the future.", "time_in_future")
    if at < EARLIEST:
        return problem(where, "The time is before 2000: is the device's clock set?", "time_too_old")
    return None


def _explain(
    index: int, item: Any, sensors: Mapping[int, OwnedSensor], now: datetime
) -> list[dict[str, Any]]:
    """Why a reading was refused, field by field (the slow path: only for refused readings)."""
    at = ("body", "readings", index)
    if not isinstance(item, dict):
        return [
            problem(
                at,
                "Each reading is an object with sensor_id, recorded_at and value.",
                "type_error",
            )
        ]
    problems = []
    missing = [name for name in ("sensor_id", "recorded_at", "value") if name not in item]
    problems += [problem((*at, name), "This field is required.", "missing") for name in missing]
    sensor = None
    if "sensor_id" in item:
        sensor_id = item["sensor_id"]
        if type(sensor_id) is not int:
            problems.append(
                problem((*at, "sensor_id"), "The sensor id must be an integer.", "type_error")
            )
        elif (sensor := sensors.get(sensor_id)) is None:
            problems.append(
                problem((*at, "sensor_id"), f"You have no sensor {sensor_id}.", "sensor_unknown")
            )
    if "recorded_at" in item:
        text = item["recorded_at"]
        try:
            when = datetime.fromisoformat(text) if isinstance(text, str) else None
        except ValueError:
            when = None
        if when is None:
            problems.append(
                problem(
                    (*at, "recorded_at"),
                    "The time must be an ISO 8601 string with a time zone, "
                    "e.g. 2026-06-01T10:00:00Z.",
                    "time_invalid",
                )
            )
        elif found := time_problem((*at, "recorded_at"), when, now):
            problems.append(found)
    if "value" in item and sensor is not None:
        if found := value_problem((*at, "value"), item["value"], sensor):
            problems.append(found)
    elif "value" in item and (found := _number_problem((*at, "value"), item["value"])):
        problems.append(found)
    return problems


def _number_problem(where: Sequence[str | int], value: Any) -> dict[str, Any] | None:
    """A value's problems that do not depend on its sensor (which is unknown)."""
    if type(value) not in (int, float):
        return problem(where, "The value must be a number.", "type_error")
    if not math.isfinite(value):
        return problem(
            where, "The value must be a finite number (not NaN or infinity).", "value_not_finite"
        )
    return None


def check_readings(
    items: Sequence[Any], sensors: Mapping[int, OwnedSensor], now: datetime
) -> Checked:
    """Sort a batch of readings into the valid ones and the refused (with every reason)."""
    checked = Checked(total=len(items))
    bounds = {id_: (KINDS[s.kind].low, KINDS[s.kind].high) for id_, s in sensors.items()}
    latest = now + MAX_FUTURE
    sensor_ids, times, values = checked.sensor_ids, checked.times, checked.values
    parse = datetime.fromisoformat
    for index, item in enumerate(items):
        # The fast path: any surprise (a missing key, a wrong type, a value out of range, NaN,
        # which fails every comparison) drops to _explain.
        try:
            sensor_id = item["sensor_id"]
            value = item["value"]
            if type(value) is int:
                value = float(value)
            low, high = bounds[sensor_id] if type(sensor_id) is int else (1.0, 0.0)
            if type(value) is not float or not low <= value <= high:
                raise ValueError
            recorded_at = parse(item["recorded_at"])
            if recorded_at.tzinfo is None or not EARLIEST <= recorded_at <= latest:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            checked.refuse(_explain(index, item, sensors, now))
            continue
        sensor_ids.append(sensor_id)
        times.append(recorded_at)
        values.append(value)
    return checked


UNIX_SECONDS = re.compile(r"^\d{9,11}(\.\d+)?$")


def device_time(text: Any, now: datetime) -> datetime | dict[str, Any]:
    """A device post's `time`: ISO 8601 with a zone, or Unix seconds; else its problem."""
    where = ("body", "time")
    if (isinstance(text, int | float) and not isinstance(text, bool)) or (
        isinstance(text, str) and UNIX_SECONDS.match(text)
    ):
        try:
            at = datetime.fromtimestamp(float(text), UTC)
        except (OverflowError, OSError, ValueError):
            return problem(where, "The time is not a usable Unix time.", "time_invalid")
    else:
        try:
            at = datetime.fromisoformat(str(text))
        except ValueError:
            return problem(
                where,
                "The time must be ISO 8601 with a time zone, or Unix seconds.",
                "time_invalid",
            )
    return time_problem(where, at, now) or at


def check_device_fields(
    fields: Mapping[str, Any], sensors: Sequence[OwnedSensor], now: datetime
) -> Checked:
    """A flat device post (t=21.5&h=60&weight_kg=42.1&bv=3.9) as readings of the hive's sensors.

    A name maps to the hive's one sensor of its kind (t_i and t_o choose by placement when the
    hive has one inside and one outside); `sensor_<id>` names a sensor exactly. Fields that name
    no kind (a device's rssi, say) are ignored and listed.
    """
    measured = {name: value for name, value in fields.items() if name not in DEVICE_RESERVED}
    checked = Checked(total=len(measured))
    at = device_time(fields["time"], now) if fields.get("time") not in (None, "") else now
    if isinstance(at, dict):
        checked.refused = checked.total
        checked.errors.append(at)
        return checked
    by_id = {sensor.id: sensor for sensor in sensors}
    for name, raw in measured.items():
        where = ("body", name)
        matched = _device_sensor(name, sensors, by_id)
        if matched is None:
            checked.ignored.append(name)
            checked.total -= 1
            continue
        if isinstance(matched, dict):
            checked.refuse([matched])
            continue
        value = _device_number(raw)
        if found := value_problem(where, value, matched):
            checked.refuse([found])
            continue
        checked.sensor_ids.append(matched.id)
        checked.times.append(at)
        checked.values.append(float(value))
    return checked


def _device_number(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            return raw
    return raw


SENSOR_FIELD = re.compile(r"^sensor_(\d{1,9})$")


def _device_sensor(
    name: str, sensors: Sequence[OwnedSensor], by_id: Mapping[int, OwnedSensor]
) -> OwnedSensor | dict[str, Any] | None:
    """The sensor a device field names; a problem if it names none or several; None if the
    name is not a measurement at all."""
    where = ("body", name)
    if match := SENSOR_FIELD.match(name):
        sensor = by_id.get(int(match.group(1)))
        if sensor is None:
            return problem(where, f"This hive has no sensor {match.group(1)}.", "sensor_unknown")
        return sensor
    if name not in DEVICE_FIELDS:
        return None
    kind, placement = DEVICE_FIELDS[name]
    candidates = [s for s in sensors if s.kind == kind]
    if placement is not None and len(candidates) > 1:
        candidates = [s for s in candidates if s.placement == placement]
    label = KINDS[kind].label.lower()
    if not candidates:
        return problem(where, f"This hive has no {label} sensor.", "field_unknown")
    if len(candidates) > 1:
        return problem(
            where,
            f"This hive has {len(candidates)} {label} sensors: name one with sensor_<id>.",
            "field_ambiguous",
        )
    return candidates[0]


# --- storing ----------------------------------------------------------------------------------

# Each sensor's newest reading is noted on its row by a trigger on `readings` (migration 0004),
# in the same statement, whichever of the two ways below stored the batch.
#
# Small batches (a device's post of a few values): one statement that skips the readings
# already stored and returns the new ones.
INSERT_NEW = """
    INSERT INTO readings (sensor_id, recorded_at, value)
    SELECT * FROM unnest($1::integer[], $2::timestamptz[], $3::float8[])
    ON CONFLICT DO NOTHING
    RETURNING sensor_id, recorded_at, value
"""
# Large batches: COPY, as fast as PostgreSQL takes rows, and atomic on its own. A batch holding
# a reading already stored (a replay, an overlap) fails the COPY on the primary key, having
# stored nothing, and takes the INSERT_NEW path instead, which skips those.
COPY_FROM = 100
COLUMNS = ("sensor_id", "recorded_at", "value")


@dataclass(frozen=True)
class Stored:
    """The readings a batch added, as three columns: no object per reading, of 10,000."""

    sensor_ids: list[int]
    times: list[datetime]
    values: list[float]

    def __len__(self) -> int:
        return len(self.sensor_ids)


async def store(pg: asyncpg.Connection, checked: Checked) -> Stored:
    """Store the valid readings; those already stored are skipped. Returns the new ones.

    Two batches that touch the same sensors in a different order can deadlock on the
    sensors' rows (the trigger's update); PostgreSQL then cancels one, which is simply run
    again (it changed nothing). A reading in a month without a partition makes the partition
    and tries again.
    """
    if not checked.sensor_ids:
        return Stored([], [], [])
    columns = (checked.sensor_ids, checked.times, checked.values)
    for attempt in range(3):
        try:
            if len(checked.sensor_ids) >= COPY_FROM:
                try:
                    return await _copy(pg, checked)
                except asyncpg.UniqueViolationError:
                    pass  # some were there already: skip them, below
            rows = await pg.fetch(INSERT_NEW, *columns)
            return Stored([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        except asyncpg.DeadlockDetectedError:
            if attempt == 2:
                raise
        except asyncpg.CheckViolationError as error:
            if "no partition" not in str(error) or attempt == 2:
                raise
            through = max(checked.times).date()
            await pg.execute("SELECT create_reading_partitions($1::date)", through)
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


async def _copy(pg: asyncpg.Connection, checked: Checked) -> Stored:
    await pg.copy_records_to_table(
        "readings",
        records=zip(checked.sensor_ids, checked.times, checked.values, strict=True),
        columns=COLUMNS,
    )
    return Stored(checked.sensor_ids, checked.times, checked.values)


# Ingestion's own small asyncpg pool, beside the app's SQLAlchemy one. A batch of a thousand
# readings costs about as much as a dozen round trips to PostgreSQL, so the ones that do not
# store anything are cut: no ping on checkout (SQLAlchemy's pre-ping is three round trips)
# and no reset query on release unless a transaction was left open. A connection that died
# with its server fails its request; storing a batch again is harmless (duplicates are
# skipped), so a device simply retries. create_app opens it (app[ingest_pool_key]); its size
# counts in the workers' connection budget (app/settings.py).
INGEST_POOL_SIZE = INGEST_CONNECTIONS


async def _reset(connection: asyncpg.Connection) -> None:
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def ingest_pool(database_url: str) -> asyncpg.Pool:
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    # min_size 0: the app starts even while PostgreSQL is away, as its SQLAlchemy pool does.
    return await asyncpg.create_pool(dsn, min_size=0, max_size=INGEST_POOL_SIZE, reset=_reset)


# --- each client's share of the process ---------------------------------------------------------
# A batch costs this process memory (its body, up to READINGS_MAX_BODY_BYTES) and CPU (parsing and
# checking up to MAX_BATCH readings, and more for a batch of bad ones, each explained). Three
# rules keep one client to its share (app/sensors/api.py applies them):
# - one batch in flight per key, BATCHES_AT_ONCE in all (Slots: a client over its share is refused
#   429 at once, before its body is read, and costs nothing);
# - the CPU work runs in a worker thread, one batch at a time in the process (asyncio's semaphore
#   is first come, first served, so clients take turns), and the event loop keeps answering
#   other requests meanwhile;
# - a body may hold no more JSON values than MAX_BATCH readings need (counted in C before it is
#   parsed), so no body costs more to parse than a full batch does.
BATCHES_AT_ONCE = 32
BATCHES_PARSED_AT_ONCE = 1
VALUES_PER_READING = 16  # a reading needs 7 ({"sensor_id":1,"recorded_at":"…","value":1},)
MAX_VALUES = MAX_BATCH * VALUES_PER_READING + 1000


def json_values_at_most(body: bytes) -> int:
    """An upper bound on how many values a JSON text holds: each value but the first follows a
    comma, a colon or an opening bracket. (Counting the bytes is cheap; parsing is not.)"""
    return body.count(b",") + body.count(b":") + body.count(b"[") + body.count(b"{") + 1


async def off_the_loop[T, *Args](
    app: web.Application, work: Callable[[*Args], T], *args: *Args
) -> T:
    """Run a batch's CPU work in a worker thread, one batch at a time in the process."""
    async with app[batch_cpu_key]:
        return await asyncio.to_thread(work, *args)

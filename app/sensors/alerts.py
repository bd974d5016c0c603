"""Alerts, computed as readings arrive: a swarm, a temperature or humidity out of range, a low
battery; and, from a periodic check, a device gone quiet.

Each is raised once per event. A lasting condition (too hot, low battery, offline) is one alert
until it clears: the partial unique index `ix_alerts_one_active` refuses a second while the
first is unresolved, acknowledged or not. A swarm is an instant: a weight drop of at least X kg
within Y minutes. Every reading of the drop, and those for Y minutes after it, satisfy that
test, so they are one event: one alert per Y-minute window, checked under a per-sensor lock.
Only readings new to the database are looked at, so a replayed batch raises nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import asyncpg
import structlog
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import db_key, metrics_key
from app.models import AlertKind, RuleComparison, SensorKind, SensorPlacement
from app.sensors.ingest import OwnedSensor, Stored
from app.sensors.schemas import DEFAULT_RULES, KINDS, Rules, UserRule
from app.web.formatting import number
from app.web.i18n import N_, _, ngettext, translate

log = structlog.get_logger(__name__)

SWARM_LOCK = 5  # the first key of pg_advisory_xact_lock(int, int): the swarm check's own


@dataclass(frozen=True)
class Raised:
    """A new alert, as the webhook and the toast tell of it."""

    id: int
    kind: AlertKind
    owner_id: int
    hive_id: int
    hive_name: str
    sensor_id: int | None
    message: str
    started_at: datetime
    raised_at: datetime


# --- lasting conditions: a range and its way back ------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """An allowed range (None: no limit on that side), and how far back inside it a reading
    must be for the condition to count as cleared (so a value hovering at a limit does not
    raise an alert with every other reading)."""

    low: float | None
    high: float | None
    margin: float

    def outside(self, value: float) -> bool:
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )

    def well_inside(self, value: float) -> bool:
        return (self.low is None or value >= self.low + self.margin) and (
            self.high is None or value <= self.high - self.margin
        )


# How far back inside its range a value of each kind must be for a condition to clear (other
# kinds: any value back inside clears it).
MARGINS = {SensorKind.battery: 0.1, SensorKind.temperature: 1.0, SensorKind.humidity: 3.0}


def limits_of(sensor: OwnedSensor) -> tuple[AlertKind, Limits] | None:
    """The lasting condition the default rules watch on this sensor, if any. Temperature and
    humidity are watched inside the hive only: outside, they are the weather."""
    rules = sensor.rules
    margin = MARGINS.get(sensor.kind, 0.0)
    if sensor.kind == SensorKind.battery:
        return AlertKind.battery, Limits(rules.battery_min_volts, None, margin)
    if sensor.placement != SensorPlacement.inside:
        return None
    if sensor.kind == SensorKind.temperature:
        return AlertKind.temperature, Limits(rules.temperature_min, rules.temperature_max, margin)
    if sensor.kind == SensorKind.humidity:
        return AlertKind.humidity, Limits(rules.humidity_min, rules.humidity_max, margin)
    return None


def user_limits(sensor: OwnedSensor, rule: UserRule) -> Limits:
    """The range an above or below rule allows."""
    margin = MARGINS.get(sensor.kind, 0.0)
    if rule.comparison == RuleComparison.above:
        return Limits(None, rule.threshold, margin)
    return Limits(rule.threshold, None, margin)


@dataclass(frozen=True)
class Episode:
    """A stretch of readings outside the range: when it began, its first value, and when it
    cleared (None: it goes on)."""

    started_at: datetime
    value: float
    cleared_at: datetime | None


Point = tuple[datetime, float]  # a reading of one sensor: when, what


def episodes(
    points: Sequence[Point], limits: Limits, active: bool
) -> tuple[datetime | None, list[Episode]]:
    """Walk a sensor's new readings in time order from the current state (`active`: an alert
    is open).

    Returns when the open alert cleared (None: it did not, or there was none) and the new
    episodes, the last of which may go on.
    """
    cleared_open: datetime | None = None
    found: list[Episode] = []
    start: Point | None = None
    for at, value in points:
        if active:
            if limits.well_inside(value):
                active = False
                if start is None:
                    cleared_open = at
                else:
                    found.append(Episode(start[0], start[1], at))
                    start = None
        elif limits.outside(value):
            active, start = True, (at, value)
    if start is not None:
        found.append(Episode(start[0], start[1], None))
    return cleared_open, found


def condition_message(kind: AlertKind, sensor: OwnedSensor, value: float, limits: Limits) -> str:
    info = KINDS[sensor.kind]
    shown = f"{value:.{info.decimals}f} {info.unit}"
    if kind == AlertKind.battery:
        return f"Battery at {shown} (below {limits.low:g} V): charge or replace it."
    if limits.high is not None and value > limits.high:
        return f"{info.label} inside reached {shown} (above {limits.high:g} {info.unit})."
    return f"{info.label} inside fell to {shown} (below {limits.low:g} {info.unit})."


# The checks below run on the ingest request's own asyncpg connection: reads on their own,
# writes (only when something changes) in one transaction.
RAISE = """
    INSERT INTO alerts (hive_id, sensor_id, kind, message, started_at, resolved_at)
    VALUES ($1, $2, $3::alert_kind, $4, $5, $6)
    ON CONFLICT (hive_id, kind, sensor_id) WHERE resolved_at IS NULL AND rule_id IS NULL
    DO NOTHING
    RETURNING id, raised_at
"""
RESOLVE = """
    UPDATE alerts SET resolved_at = $1
    WHERE sensor_id = $2 AND kind = $3::alert_kind AND resolved_at IS NULL
"""


@dataclass(frozen=True)
class Change:
    """What a lasting condition's new readings call for: clear the open alert, raise new ones."""

    sensor: OwnedSensor
    kind: AlertKind
    limits: Limits
    cleared: datetime | None
    found: list[Episode]


async def _apply(pg: asyncpg.Connection, owner_id: int, change: Change) -> list[Raised]:
    sensor, kind = change.sensor, change.kind
    if change.cleared is not None:
        await pg.execute(RESOLVE, change.cleared, sensor.id, kind.value)
    raised = []
    for episode in change.found:
        message = condition_message(kind, sensor, episode.value, change.limits)
        row = await pg.fetchrow(
            RAISE,
            sensor.hive_id,
            sensor.id,
            kind.value,
            message,
            episode.started_at,
            episode.cleared_at,
        )
        if row is not None:
            raised.append(_raised(row, kind, owner_id, sensor, message, episode.started_at))
    return raised


def _raised(
    row: asyncpg.Record,
    kind: AlertKind,
    owner_id: int,
    sensor: OwnedSensor,
    message: str,
    at: datetime,
) -> Raised:
    """A Raised from RAISE's or RAISE_SWARM's returned row (id, raised_at)."""
    return Raised(
        id=row["id"],
        kind=kind,
        owner_id=owner_id,
        hive_id=sensor.hive_id,
        hive_name=sensor.hive_name,
        sensor_id=sensor.id,
        message=message,
        started_at=at,
        raised_at=row["raised_at"],
    )


# --- swarms -------------------------------------------------------------------------------------

# For each reading from the batch's first minus the window on: the heaviest reading of the
# window before it (itself included). A drop is that peak minus the reading.
# $1 sensor, $2 window, $3 first and $4 last new reading, $5 the drop that counts.
DROPS = """
    SELECT recorded_at, value, peak
    FROM (
        SELECT recorded_at, value,
               max(value) OVER (ORDER BY recorded_at
                                RANGE BETWEEN $2::interval PRECEDING AND CURRENT ROW) AS peak
        FROM readings
        WHERE sensor_id = $1 AND recorded_at >= $3::timestamptz - $2::interval
          AND recorded_at <= $4
    ) AS series
    WHERE recorded_at >= $3 AND peak - value >= $5
    ORDER BY recorded_at
"""
LOCK_SWARMS = "SELECT pg_advisory_xact_lock($1, $2)"
# $1 hive, $2 sensor, $3 message, $4 when, $5 window: no swarm of this scale that close.
RAISE_SWARM = """
    INSERT INTO alerts (hive_id, sensor_id, kind, message, started_at, resolved_at)
    SELECT $1, $2, 'swarm', $3, $4, $4
    WHERE NOT EXISTS (
        SELECT 1 FROM alerts
        WHERE sensor_id = $2 AND kind = 'swarm'
          AND started_at > $4::timestamptz - $5::interval
          AND started_at < $4::timestamptz + $5::interval
    )
    RETURNING id, raised_at
"""


def swarm_message(peak: float, value: float, rules: Rules) -> str:
    return (
        f"Weight fell {peak - value:.1f} kg within {rules.swarm_window_minutes} minutes "
        f"(from {peak:.1f} to {value:.1f} kg): a swarm?"
    )


async def _drops(
    pg: asyncpg.Connection, sensor: OwnedSensor, points: Sequence[Point]
) -> list[asyncpg.Record]:
    rules = sensor.rules
    window = timedelta(minutes=rules.swarm_window_minutes)
    return list(
        await pg.fetch(DROPS, sensor.id, window, points[0][0], points[-1][0], rules.swarm_drop_kg)
    )


async def _swarms(
    pg: asyncpg.Connection, owner_id: int, sensor: OwnedSensor, drops: Sequence[asyncpg.Record]
) -> list[Raised]:
    """One alert per drop. The lock keeps two batches of the same scale, checked at once, from
    both raising the same swarm."""
    rules = sensor.rules
    window = timedelta(minutes=rules.swarm_window_minutes)
    await pg.execute(LOCK_SWARMS, SWARM_LOCK, sensor.id)
    raised = []
    last_event: datetime | None = None
    for at, value, peak in drops:
        if last_event is not None and at - last_event < window:
            continue  # the same drop, seen again from a later reading
        last_event = at
        message = swarm_message(peak, value, rules)
        row = await pg.fetchrow(RAISE_SWARM, sensor.hive_id, sensor.id, message, at, window)
        if row is not None:
            raised.append(_raised(row, AlertKind.swarm, owner_id, sensor, message, at))
    return raised


# --- the beekeeper's own rules -----------------------------------------------------------------

RULE_LOCK = 6  # pg_advisory_xact_lock(RULE_LOCK, rule id): a drop or rise rule's own
RAISE_RULE = """
    INSERT INTO alerts (hive_id, sensor_id, kind, rule_id, message, started_at, resolved_at)
    VALUES ($1, $2, 'rule', $3, $4, $5, $6)
    ON CONFLICT (rule_id, sensor_id) WHERE resolved_at IS NULL AND rule_id IS NOT NULL
        DO NOTHING
    RETURNING id, raised_at
"""
RESOLVE_RULE = """
    UPDATE alerts SET resolved_at = $1
    WHERE sensor_id = $2 AND rule_id = $3 AND resolved_at IS NULL
"""
# DROPS for either way: $6 is 1 for a drop (the peak of the window minus the reading) and -1
# for a rise (the reading minus the window's lowest).
CHANGES = """
    SELECT recorded_at, value, $6 * peak AS reference
    FROM (
        SELECT recorded_at, value,
               max($6 * value) OVER (ORDER BY recorded_at
                                     RANGE BETWEEN $2::interval PRECEDING AND CURRENT ROW)
                   AS peak
        FROM readings
        WHERE sensor_id = $1 AND recorded_at >= $3::timestamptz - $2::interval
          AND recorded_at <= $4
    ) AS series
    WHERE recorded_at >= $3 AND peak - $6 * value >= $5
    ORDER BY recorded_at
"""
# $1 hive, $2 sensor, $3 rule, $4 message, $5 when, $6 window: no alert of this rule that close.
RAISE_RULE_EVENT = """
    INSERT INTO alerts (hive_id, sensor_id, kind, rule_id, message, started_at, resolved_at)
    SELECT $1, $2, 'rule', $3, $4, $5, $5
    WHERE NOT EXISTS (
        SELECT 1 FROM alerts
        WHERE sensor_id = $2 AND rule_id = $3
          AND started_at > $5::timestamptz - $6::interval
          AND started_at < $5::timestamptz + $6::interval
    )
    RETURNING id, raised_at
"""


def shown_value(sensor: OwnedSensor, value: float) -> str:
    """A value in its kind's unit, as the stored (English) message writes it."""
    info = KINDS[sensor.kind]
    return f"{value:.{info.decimals}f} {info.unit}".rstrip()


def _limit(sensor: OwnedSensor, value: float) -> str:
    return f"{value:g} {KINDS[sensor.kind].unit}".rstrip()


def rule_message(sensor: OwnedSensor, rule: UserRule, value: float) -> str:
    """An above or below rule's alert: what, on which sensor, and the limit crossed."""
    what = f"{KINDS[sensor.kind].label} on {sensor.name}"
    if rule.comparison == RuleComparison.above:
        return (
            f"{what} reached {shown_value(sensor, value)} (above {_limit(sensor, rule.threshold)})."
        )
    return f"{what} fell to {shown_value(sensor, value)} (below {_limit(sensor, rule.threshold)})."


def change_message(sensor: OwnedSensor, rule: UserRule, value: float, reference: float) -> str:
    """A drop or rise rule's alert: by how much, within how long, from what to what."""
    way = "fell" if rule.comparison == RuleComparison.drops_by else "rose"
    return (
        f"{KINDS[sensor.kind].label} on {sensor.name} {way} by "
        f"{shown_value(sensor, abs(reference - value))} within {rule.window_minutes} minutes "
        f"(from {shown_value(sensor, reference)} to {shown_value(sensor, value)})."
    )


@dataclass(frozen=True)
class RuleChange:
    """What one rule's new readings on one sensor call for: a lasting condition's clearing and
    episodes (above, below), or the instants of a drop or rise."""

    sensor: OwnedSensor
    rule: UserRule
    cleared: datetime | None = None
    found: tuple[Episode, ...] = ()
    changes: tuple[asyncpg.Record, ...] = ()


async def _rule_changes(
    pg: asyncpg.Connection, sensor: OwnedSensor, rule: UserRule, series: Sequence[Point]
) -> RuleChange | None:
    if rule.window_minutes is None:  # above, below
        active = rule.id in sensor.active_rules
        cleared, found = episodes(series, user_limits(sensor, rule), active)
        return RuleChange(sensor, rule, cleared, tuple(found)) if cleared or found else None
    sign = 1 if rule.comparison == RuleComparison.drops_by else -1
    window = timedelta(minutes=rule.window_minutes)
    first, last = series[0][0], series[-1][0]
    rows = await pg.fetch(CHANGES, sensor.id, window, first, last, rule.threshold, sign)
    return RuleChange(sensor, rule, changes=tuple(rows)) if rows else None


async def _apply_rule(pg: asyncpg.Connection, owner_id: int, change: RuleChange) -> list[Raised]:
    sensor, rule = change.sensor, change.rule
    if change.cleared is not None:
        await pg.execute(RESOLVE_RULE, change.cleared, sensor.id, rule.id)
    raised = []
    for episode in change.found:
        message = rule_message(sensor, rule, episode.value)
        row = await pg.fetchrow(
            RAISE_RULE,
            sensor.hive_id,
            sensor.id,
            rule.id,
            message,
            episode.started_at,
            episode.cleared_at,
        )
        if row is not None:
            raised.append(
                _raised(row, AlertKind.rule, owner_id, sensor, message, episode.started_at)
            )
    if change.changes:
        raised += await _rule_events(pg, owner_id, change)
    return raised


async def _rule_events(pg: asyncpg.Connection, owner_id: int, change: RuleChange) -> list[Raised]:
    """One alert per drop or rise, as for swarms (_swarms)."""
    sensor, rule = change.sensor, change.rule
    window = timedelta(minutes=rule.window_minutes or 0)
    await pg.execute(LOCK_SWARMS, RULE_LOCK, rule.id)
    raised = []
    last_event: datetime | None = None
    for at, value, reference in change.changes:
        if last_event is not None and at - last_event < window:
            continue
        last_event = at
        message = change_message(sensor, rule, value, reference)
        row = await pg.fetchrow(
            RAISE_RULE_EVENT, sensor.hive_id, sensor.id, rule.id, message, at, window
        )
        if row is not None:
            raised.append(_raised(row, AlertKind.rule, owner_id, sensor, message, at))
    return raised


async def user_rule_changes(
    pg: asyncpg.Connection,
    sensors: Mapping[int, OwnedSensor],
    stored: Stored,
    zone: tzinfo,
) -> list[RuleChange]:
    """Each of the beekeeper's rules, on the new readings of the sensors it watches that it
    is awake for. The rules came with the sensors (OwnedSensor.user_rules): no query here
    but one per drop or rise rule with new readings."""
    series: dict[int, list[Point]] = defaultdict(list)
    for sensor_id, at, value in zip(stored.sensor_ids, stored.times, stored.values, strict=True):
        if sensors[sensor_id].user_rules:
            series[sensor_id].append((at, value))
    found = []
    for sensor_id, points in series.items():
        sensor = sensors[sensor_id]
        points.sort()
        for rule in sensor.user_rules:
            awake = [point for point in points if not rule.sleep.asleep(point[0], zone)]
            if awake and (change := await _rule_changes(pg, sensor, rule, awake)):
                found.append(change)
    return found


# --- after a batch ------------------------------------------------------------------------------

RESOLVE_OFFLINE = """
    UPDATE alerts SET resolved_at = now()
    WHERE hive_id = ANY($1::integer[]) AND kind = 'offline' AND sensor_id IS NULL
      AND resolved_at IS NULL
"""


def asleep(
    sensor: OwnedSensor, watching: tuple[AlertKind, Limits] | None, at: datetime, zone: tzinfo
) -> bool:
    """Whether the rule watching this sensor (None: the swarm rule) sleeps at `at`."""
    kind = AlertKind.swarm if watching is None else watching[0]
    sleep = sensor.sleeps.get(kind)
    return sleep is not None and sleep.asleep(at, zone)


async def after_readings(
    pg: asyncpg.Connection,
    owner_id: int,
    sensors: Mapping[int, OwnedSensor],
    stored: Stored,
    zone: tzinfo = UTC,
) -> list[Raised]:
    """Raise and clear the alerts that the newly stored readings call for, by the default
    rules and by the beekeeper's own, all here. A reading taken while its rule sleeps (its
    hive's alert_sleeps, or the rule's own months and hours, in the city's `zone`) is not
    looked at.

    When nothing changes, this costs one pass over the readings and one query per scale and
    per drop or rise rule: the rules and the alert state came with the sensors, in one query
    per batch (OwnedSensor.user_rules, active_alerts, hive_offline). What changes is written
    in one transaction.
    """
    watched: dict[int, tuple[AlertKind, Limits] | None] = {}  # None: a scale, for swarms
    for sensor_id, sensor in sensors.items():
        condition = limits_of(sensor)
        if condition is not None or sensor.kind == SensorKind.weight:
            watched[sensor_id] = condition
    points: dict[int, list[Point]] = defaultdict(list)
    for sensor_id, at, value in zip(stored.sensor_ids, stored.times, stored.values, strict=True):
        if sensor_id in watched and not asleep(sensors[sensor_id], watched[sensor_id], at, zone):
            points[sensor_id].append((at, value))
    back_online = sorted(
        {sensors[s].hive_id for s in set(stored.sensor_ids) if sensors[s].hive_offline}
    )
    swarms: dict[int, list[asyncpg.Record]] = {}
    changes: list[Change] = []
    for sensor_id, series in points.items():
        sensor = sensors[sensor_id]
        series.sort()
        watching = watched[sensor_id]
        if watching is None:
            if drops := await _drops(pg, sensor, series):
                swarms[sensor_id] = drops
            continue
        kind, limits = watching
        cleared, found = episodes(series, limits, kind in sensor.active_alerts)
        if cleared is not None or found:
            changes.append(Change(sensor, kind, limits, cleared, found))
    rule_changes = await user_rule_changes(pg, sensors, stored, zone)
    if not (back_online or swarms or changes or rule_changes):
        return []
    raised: list[Raised] = []
    async with pg.transaction():
        if back_online:
            await pg.execute(RESOLVE_OFFLINE, back_online)
        for sensor_id, drops in swarms.items():
            raised += await _swarms(pg, owner_id, sensors[sensor_id], drops)
        for change in changes:
            raised += await _apply(pg, owner_id, change)
        for rule_change in rule_changes:
            raised += await _apply_rule(pg, owner_id, rule_change)
    return raised


# --- devices gone quiet -------------------------------------------------------------------------

RAISE_OFFLINE = text(
    """
    WITH devices AS (
        SELECT s.hive_id, max(s.last_reading_at) AS last_reading_at
        FROM sensors s
        GROUP BY s.hive_id
    ), silent AS (
        SELECT d.hive_id, d.last_reading_at,
               COALESCE(r.offline_hours, :default_hours) AS hours
        FROM devices d
        LEFT JOIN alert_rules r ON r.hive_id = d.hive_id
        WHERE d.last_reading_at
              < CAST(:now AS timestamptz)
                - make_interval(hours => COALESCE(r.offline_hours, :default_hours))
    ), raised AS (
        INSERT INTO alerts (hive_id, sensor_id, kind, message, started_at)
        SELECT hive_id, NULL, 'offline',
               'No readings for more than '
               || CASE WHEN hours = 1 THEN 'an hour' ELSE hours || ' hours' END
               || ': is the device offline?',
               last_reading_at
        FROM silent
        ON CONFLICT (hive_id, kind, sensor_id) WHERE resolved_at IS NULL AND rule_id IS NULL
        DO NOTHING
        RETURNING id, hive_id, message, started_at, raised_at
    )
    SELECT raised.id, h.owner_id, raised.hive_id, h.name, raised.message, raised.started_at,
           raised.raised_at
    FROM raised JOIN hives h ON h.id = raised.hive_id
    ORDER BY raised.id
    """
)


async def check_offline(db: AsyncSession, now: datetime) -> list[Raised]:
    """Raise an offline alert for each hive whose sensors have all been silent for longer than
    its rule allows (hives whose sensors never sent anything are not offline: never online)."""
    rows = await db.execute(
        RAISE_OFFLINE, {"now": now, "default_hours": DEFAULT_RULES.offline_hours}
    )
    raised = [
        Raised(
            id=alert_id,
            kind=AlertKind.offline,
            owner_id=owner_id,
            hive_id=hive_id,
            hive_name=hive_name,
            sensor_id=None,
            message=message,
            started_at=started_at,
            raised_at=raised_at,
        )
        for alert_id, owner_id, hive_id, hive_name, message, started_at, raised_at in rows
    ]
    await db.commit()
    return raised


# --- an alert in the reader's language ----------------------------------------------------------

# The stored message is English (the webhook and the API hand it on as it is). A page shows it
# in the reader's language, built again from the alert's kind and the values the message holds,
# which the patterns below read back: they mirror condition_message, swarm_message and
# RAISE_OFFLINE, and a message they do not recognise is shown as stored.
_NUMBER = r"-?\d+(?:\.\d+)?"
_CONDITION = re.compile(
    rf"(?P<what>Temperature|Humidity) inside (?P<way>reached|fell to) (?P<value>{_NUMBER}) "
    rf"(?P<unit>°C|%) \((?:above|below) (?P<limit>{_NUMBER}) (?:°C|%)\)\."
)
_BATTERY = re.compile(
    rf"Battery at (?P<value>{_NUMBER}) V \(below (?P<limit>{_NUMBER}) V\): charge or replace it\."
)
_SWARM = re.compile(
    rf"Weight fell (?P<drop>{_NUMBER}) kg within (?P<minutes>\d+) minutes "
    rf"\(from (?P<peak>{_NUMBER}) to (?P<value>{_NUMBER}) kg\): a swarm\?"
)
_OFFLINE = re.compile(
    r"No readings for more than (?:an hour|(?P<hours>\d+) hours): is the device offline\?"
)

_LABELS = "|".join(re.escape(info.label) for info in KINDS.values())
_VALUE = rf"{_NUMBER}(?: [^\s()]+)?"
_RULE_LIMIT = re.compile(
    rf"(?P<what>{_LABELS}) on (?P<sensor>.+?) (?P<way>reached|fell to) (?P<value>{_VALUE}) "
    rf"\((?:above|below) (?P<limit>{_VALUE})\)\."
)
_RULE_CHANGE = re.compile(
    rf"(?P<what>{_LABELS}) on (?P<sensor>.+?) (?P<way>fell|rose) by (?P<change>{_VALUE}) "
    rf"within (?P<minutes>\d+) minutes \(from (?P<start>{_VALUE}) to (?P<end>{_VALUE})\)\."
)
RULE_LIMIT_MESSAGES = {
    "reached": N_("%(what)s on %(sensor)s reached %(value)s (above %(limit)s)."),
    "fell to": N_("%(what)s on %(sensor)s fell to %(value)s (below %(limit)s)."),
}
LABEL_OF = {info.label: info.label for info in KINDS.values()}  # the English label, to translate


def _measured(text: str) -> str:
    """A value with its unit read back from a stored message, as the reader writes it."""
    value, _space, unit = text.partition(" ")
    return f"{_decimal(value)} {unit}".rstrip()


def _rule_message(message: str) -> str:
    """A user rule's stored message in the current language (as stored if not recognised)."""
    if found := _RULE_LIMIT.fullmatch(message):
        return translate(RULE_LIMIT_MESSAGES[found["way"]]) % {
            "what": translate(LABEL_OF[found["what"]]),
            "sensor": found["sensor"],
            "value": _measured(found["value"]),
            "limit": _measured(found["limit"]),
        }
    if found := _RULE_CHANGE.fullmatch(message):
        values = {
            "what": translate(LABEL_OF[found["what"]]),
            "sensor": found["sensor"],
            "change": _measured(found["change"]),
            "start": _measured(found["start"]),
            "end": _measured(found["end"]),
        }
        minutes = int(found["minutes"])
        if found["way"] == "fell":
            return ngettext(
                "%(what)s on %(sensor)s fell by %(change)s within %(num)s minute "
                "(from %(start)s to %(end)s).",
                "%(what)s on %(sensor)s fell by %(change)s within %(num)s minutes "
                "(from %(start)s to %(end)s).",
                minutes,
                **values,
            )
        return ngettext(
            "%(what)s on %(sensor)s rose by %(change)s within %(num)s minute "
            "(from %(start)s to %(end)s).",
            "%(what)s on %(sensor)s rose by %(change)s within %(num)s minutes "
            "(from %(start)s to %(end)s).",
            minutes,
            **values,
        )
    return message


# The messages of temperature and humidity, by what the stored message says and which way.
CONDITION_MESSAGES = {
    ("Temperature", "reached"): N_("Temperature inside reached %(value)s (above %(limit)s)."),
    ("Temperature", "fell to"): N_("Temperature inside fell to %(value)s (below %(limit)s)."),
    ("Humidity", "reached"): N_("Humidity inside reached %(value)s (above %(limit)s)."),
    ("Humidity", "fell to"): N_("Humidity inside fell to %(value)s (below %(limit)s)."),
}


def _decimal(text: str) -> str:
    """A number read back from a stored message, with as many decimals, as the reader writes it
    (40.5; 40,5 in German)."""
    return number(float(text), len(text.partition(".")[2]))


def shown_message(kind: AlertKind, message: str) -> str:
    """The stored (English) message of an alert of `kind`, in the current language."""
    if kind == AlertKind.rule:
        return _rule_message(message)
    if kind == AlertKind.swarm and (found := _SWARM.fullmatch(message)):
        return ngettext(
            "Weight fell %(drop)s kg within %(num)s minute (from %(peak)s to %(value)s kg): "
            "a swarm?",
            "Weight fell %(drop)s kg within %(num)s minutes (from %(peak)s to %(value)s kg): "
            "a swarm?",
            int(found["minutes"]),
            drop=_decimal(found["drop"]),
            peak=_decimal(found["peak"]),
            value=_decimal(found["value"]),
        )
    if kind == AlertKind.offline and (found := _OFFLINE.fullmatch(message)):
        return ngettext(
            "No readings for more than an hour: is the device offline?",
            "No readings for more than %(num)s hours: is the device offline?",
            int(found["hours"] or 1),
        )
    if kind == AlertKind.battery and (found := _BATTERY.fullmatch(message)):
        return _(
            "Battery at %(value)s V (below %(limit)s V): charge or replace it.",
            value=_decimal(found["value"]),
            limit=_decimal(found["limit"]),
        )
    if kind in (AlertKind.temperature, AlertKind.humidity) and (
        found := _CONDITION.fullmatch(message)
    ):
        unit = found["unit"]
        return translate(CONDITION_MESSAGES[found["what"], found["way"]]) % {
            "value": f"{_decimal(found['value'])} {unit}",
            "limit": f"{_decimal(found['limit'])} {unit}",
        }
    return message


def count(app: web.Application, raised: Sequence[Raised]) -> None:
    metrics = app[metrics_key]
    for alert in raised:
        metrics.alerts_raised.labels(alert.kind.value).inc()
        log.info("alert_raised", alert_id=alert.id, kind=alert.kind.value, hive_id=alert.hive_id)


async def raise_offline_alerts(app: web.Application, now: datetime) -> list[Raised]:
    async with app[db_key]() as db:
        raised = await check_offline(db, now)
    count(app, raised)
    return raised

"""The sensors' SQL: sensors on a hive, the charts' downsampling, alerts, rules, the webhook.

Every query is scoped through the hive to the members of its apiary (app/web/auth.py): a
sensor or alert of a hive the user may not read is simply not found. An alert is raised once
per hive and shown to, and acknowledged by, each member who may read (change) it.
Storing readings is in ingest.py (raw asyncpg, one statement per batch); raising alerts is in
alerts.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Alert,
    AlertKind,
    AlertRules,
    AlertSleep,
    AlertWebhook,
    Device,
    Hive,
    HiveRule,
    Reading,
    Sensor,
    SensorKind,
    SensorPlacement,
    apiary_roles,
)
from app.sensors.alerts import shown_message
from app.sensors.schemas import (
    ALERT_LABELS,
    ALERT_OF_HIVE,
    DEFAULT_RULES,
    KINDS,
    RANGES,
    AlertRulesForm,
    ChartRange,
    DeviceForm,
    HiveRuleForm,
    KindInfo,
    Rules,
    SensorForm,
    SensorRenameForm,
    Sleep,
    chart_range,
)
from app.web.auth import apiaries_of, roles_for
from app.web.formatting import number
from app.web.i18n import _, ngettext, translate

# --- sensors --------------------------------------------------------------------------------


def members_hive(user_id: int, *, change: bool = False) -> Any:
    """The condition on `Hive` that `user_id` may read it (with `change`, change it)."""
    return Hive.apiary_id.in_(apiaries_of(user_id, roles_for(change=change)))


async def sensors_of_hive(db: AsyncSession, user_id: int, hive_id: int) -> list[Sensor]:
    """The sensors of the hive, if `user_id` may read it."""
    rows = await db.scalars(
        select(Sensor)
        .join(Hive, Hive.id == Sensor.hive_id)
        .where(Sensor.hive_id == hive_id, members_hive(user_id))
        .order_by(Sensor.kind, Sensor.name)
    )
    return list(rows)


async def may_change_hive(db: AsyncSession, user_id: int, hive_id: int) -> bool:
    """Whether `user_id` may change the hive: its pages offer them the forms that do."""
    found = await db.scalar(
        select(Hive.id).where(Hive.id == hive_id, members_hive(user_id, change=True))
    )
    return found is not None


async def sensors_of_owner(
    db: AsyncSession, user_id: int, hive_id: int | None = None
) -> list[Sensor]:
    """The sensors of the hives `user_id` may read (of one hive, if given)."""
    selection = (
        select(Sensor)
        .join(Hive, Hive.id == Sensor.hive_id)
        .where(members_hive(user_id))
        .order_by(Sensor.hive_id, Sensor.kind, Sensor.name)
    )
    if hive_id is not None:
        selection = selection.where(Sensor.hive_id == hive_id)
    return list(await db.scalars(selection))


async def sensor_of(db: AsyncSession, user_id: int, hive_id: int, sensor_id: int) -> Sensor | None:
    """The hive's sensor, if `user_id` may read the hive (a change checks the hive first)."""
    return await db.scalar(
        select(Sensor)
        .join(Hive, Hive.id == Sensor.hive_id)
        .where(Sensor.id == sensor_id, Sensor.hive_id == hive_id, members_hive(user_id))
    )


async def name_taken(db: AsyncSession, hive_id: int, name: str, but: int | None = None) -> bool:
    selection = select(Sensor.id).where(Sensor.hive_id == hive_id, Sensor.name == name)
    if but is not None:
        selection = selection.where(Sensor.id != but)
    return await db.scalar(selection) is not None


async def add_sensor(db: AsyncSession, hive_id: int, form: SensorForm) -> int:
    sensor = Sensor(hive_id=hive_id, name=form.name, kind=form.kind, placement=form.placement)
    db.add(sensor)
    await db.commit()
    return sensor.id


async def rename_sensor(db: AsyncSession, sensor_id: int, form: SensorRenameForm) -> None:
    await db.execute(
        update(Sensor)
        .where(Sensor.id == sensor_id)
        .values(name=form.name, placement=form.placement)
    )
    await db.commit()


async def remove_sensor(db: AsyncSession, sensor_id: int) -> None:
    """The sensor, its readings (through the foreign key) and its alerts go together."""
    await db.execute(delete(Sensor).where(Sensor.id == sensor_id))
    await db.commit()


# --- when the alert rules sleep ----------------------------------------------------------------


async def sleeps_of(db: AsyncSession, hive_id: int) -> dict[AlertKind, Sleep]:
    rows = await db.execute(
        select(AlertSleep.kind, AlertSleep.months, AlertSleep.hours).where(
            AlertSleep.hive_id == hive_id
        )
    )
    return {kind: Sleep(frozenset(months), frozenset(hours)) for kind, months, hours in rows}


async def save_sleeps(db: AsyncSession, hive_id: int, sleeps: dict[AlertKind, Sleep]) -> None:
    """Replace the hive's sleeping months and hours (a rule that never sleeps keeps no row)."""
    await db.execute(delete(AlertSleep).where(AlertSleep.hive_id == hive_id))
    for kind, sleep in sleeps.items():
        if sleep.months or sleep.hours:
            db.add(
                AlertSleep(
                    hive_id=hive_id,
                    kind=kind,
                    months=sorted(sleep.months),
                    hours=sorted(sleep.hours),
                )
            )
    await db.commit()


# --- the beekeeper's own rules --------------------------------------------------------------


async def hive_rules_of(db: AsyncSession, hive_id: int) -> list[HiveRule]:
    return list(
        await db.scalars(
            select(HiveRule)
            .where(HiveRule.hive_id == hive_id)
            .order_by(HiveRule.id)
            .execution_options(populate_existing=True)
        )
    )


async def hive_rule_of(db: AsyncSession, hive_id: int, rule_id: int) -> HiveRule | None:
    """The hive's rule; None for another hive's (or none)."""
    rule = await db.get(HiveRule, rule_id, populate_existing=True)
    return rule if rule is not None and rule.hive_id == hive_id else None


async def save_hive_rule(
    db: AsyncSession, hive_id: int, form: HiveRuleForm, rule: HiveRule | None = None
) -> None:
    """Add the rule, or change `rule` to what the form says."""
    if rule is None:
        rule = HiveRule(hive_id=hive_id)
        db.add(rule)
    rule.sensor_kind = form.sensor_kind
    rule.placement = form.placement
    rule.comparison = form.comparison
    rule.threshold = form.threshold
    rule.window_minutes = form.window_minutes
    rule.months = sorted(set(form.months))
    rule.hours = sorted(set(form.hours))
    await db.commit()


async def _resolve_rule_alerts(db: AsyncSession, rule: HiveRule) -> None:
    """A rule that watches no more ends its open alerts (they stay in the history)."""
    await db.execute(
        update(Alert)
        .where(Alert.rule_id == rule.id, Alert.resolved_at.is_(None))
        .values(resolved_at=func.now())
    )


async def switch_hive_rule(db: AsyncSession, rule: HiveRule) -> None:
    """Switch the rule off (it watches nothing more; its open alerts end), or back on."""
    rule.enabled = not rule.enabled
    if not rule.enabled:
        await _resolve_rule_alerts(db, rule)
    await db.commit()


async def delete_hive_rule(db: AsyncSession, rule: HiveRule) -> None:
    """The rule goes; its alerts stay, resolved, without it."""
    await _resolve_rule_alerts(db, rule)
    await db.delete(rule)
    await db.commit()


# --- devices --------------------------------------------------------------------------------


async def devices_of_hive(db: AsyncSession, hive_id: int) -> list[Device]:
    return list(
        await db.scalars(select(Device).where(Device.hive_id == hive_id).order_by(Device.name))
    )


async def device_of(db: AsyncSession, hive_id: int, device_id: int) -> Device | None:
    return await db.scalar(
        select(Device)
        .where(Device.id == device_id, Device.hive_id == hive_id)
        .execution_options(populate_existing=True)
    )


async def device_key_taken(db: AsyncSession, key: str) -> bool:
    return await db.scalar(select(Device.id).where(Device.key == key)) is not None


async def device_name_taken(db: AsyncSession, hive_id: int, name: str) -> bool:
    found = select(Device.id).where(Device.hive_id == hive_id, Device.name == name)
    return await db.scalar(found) is not None


async def add_device(db: AsyncSession, hive_id: int, form: DeviceForm, key: str) -> int:
    device = Device(hive_id=hive_id, name=form.device_name, type=form.device_type, key=key)
    db.add(device)
    await db.commit()
    return device.id


async def remove_device(db: AsyncSession, device_id: int) -> None:
    """The device goes; its sensors stay on the hive with their readings (no longer its)."""
    await db.execute(delete(Device).where(Device.id == device_id))
    await db.commit()


async def sensors_of_device(db: AsyncSession, device_id: int) -> list[Sensor]:
    return list(
        await db.scalars(
            select(Sensor).where(Sensor.device_id == device_id).order_by(Sensor.kind, Sensor.field)
        )
    )


RAW_WEIGHT_FIELD = "w_v"


async def raw_weight_of(db: AsyncSession, device_id: int) -> Sensor | None:
    """The device's raw weight sensor (its newest value is what calibration reads)."""
    return await db.scalar(
        select(Sensor)
        .where(Sensor.device_id == device_id, Sensor.field == RAW_WEIGHT_FIELD)
        .execution_options(populate_existing=True)
    )


async def calibrate(db: AsyncSession, device_id: int, offset: float, multiplier: float) -> None:
    """Set how the device's raw weight becomes kg from now on; stored readings stay as they are."""
    await db.execute(
        update(Device)
        .where(Device.id == device_id)
        .values(weight_offset=offset, weight_multiplier=multiplier, calibrated_at=func.now())
    )
    await db.commit()


MANUAL_WEIGHT_FIELD = "manual_weight"


async def record_weighing(
    db: AsyncSession, hive_id: int, kg: float, at: datetime, sensor_name: str
) -> int:
    """A weight read by hand, stored as a reading of the hive's hand-weighing sensor (made the
    first time). Returns the sensor's id. In the caller's transaction."""
    sensor_id = await db.scalar(
        select(Sensor.id).where(Sensor.hive_id == hive_id, Sensor.field == MANUAL_WEIGHT_FIELD)
    )
    if sensor_id is None:
        name = sensor_name
        if await name_taken(db, hive_id, name):
            name = f"{sensor_name} ({MANUAL_WEIGHT_FIELD})"
        sensor = Sensor(
            hive_id=hive_id,
            name=name,
            kind=SensorKind.weight,
            placement=SensorPlacement.inside,
            field=MANUAL_WEIGHT_FIELD,
        )
        db.add(sensor)
        await db.flush()
        sensor_id = sensor.id
    await db.execute(
        insert(Reading)
        .values(sensor_id=sensor_id, recorded_at=at, value=kg)
        .on_conflict_do_update(
            index_elements=[Reading.sensor_id, Reading.recorded_at], set_={"value": kg}
        )
    )
    return sensor_id


# --- the hive page's sensors panel ------------------------------------------------------------


@dataclass(frozen=True)
class Latest:
    """A sensor and its newest reading, as the panel shows it."""

    sensor: Sensor
    info: KindInfo
    age: timedelta | None


@dataclass
class Series:
    """One sensor's readings over a range, downsampled: per bucket its start, min, max, mean."""

    sensor_id: int
    times: list[int] = field(default_factory=list)  # Unix seconds
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    readings: int = 0
    weighted_mean: float = 0.0

    @property
    def summary(self) -> tuple[float, float, float] | None:
        """Lowest, mean and highest over the range (the mean of readings, not of buckets)."""
        if not self.times:
            return None
        return min(self.low), self.weighted_mean, max(self.high)


# Buckets start at fixed instants (multiples of the bucket since 2000-01-01 UTC), so a chart
# shows the same points whenever it is drawn. The primary key (sensor_id, recorded_at) serves
# the range; each month's partition outside it is skipped.
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
RAW_BUCKETS = """
    SELECT sensor_id,
           extract(epoch FROM date_bin(:bucket, recorded_at, TIMESTAMPTZ '2000-01-01 00:00Z'))
               ::bigint AS bucket_start,
           min(value) AS low, max(value) AS high, avg(value) AS mean, count(*) AS readings
    FROM readings
    WHERE sensor_id = ANY(:sensor_ids) AND recorded_at >= {since} AND recorded_at < {until}
    GROUP BY sensor_id, bucket_start
"""
DOWNSAMPLED = text(
    RAW_BUCKETS.format(since=":since", until=":until") + "ORDER BY sensor_id, bucket_start"
)
# The longer ranges read the rollups (hourly or daily, whichever is the coarsest that fits the
# chart's bucket; see ReadingHour in app/models.py) for the buckets wholly inside the range, and
# the raw readings for the part of a bucket at either end (the range starts `span` before now,
# seldom on a bucket's edge): each bucket comes whole from one of the two, so the chart is the
# same as from raw readings alone, but the year's reads 365 rows per sensor, not 105,120.
ROLLUPS = ((timedelta(days=1), "readings_daily"), (timedelta(hours=1), "readings_hourly"))
ROLLED_UP = """
    SELECT sensor_id,
           extract(epoch FROM date_bin(:bucket, bucket, TIMESTAMPTZ '2000-01-01 00:00Z'))
               ::bigint AS bucket_start,
           min(low) AS low, max(high) AS high, sum(total) / sum(readings) AS mean,
           sum(readings) AS readings
    FROM {table}
    WHERE sensor_id = ANY(:sensor_ids) AND bucket >= :inner_since AND bucket < :inner_until
    GROUP BY sensor_id, bucket_start
"""


def rollup_for(bucket: timedelta) -> str | None:
    """The rollup table a chart of this bucket reads, or None for the raw readings."""
    for width, table in ROLLUPS:
        if bucket % width == timedelta(0):
            return table
    return None


def _bucket_edge(at: datetime, bucket: timedelta, *, up: bool) -> datetime:
    """The start of `at`'s bucket (or of the next one, going up, unless `at` is on an edge)."""
    steps, rest = divmod(at - ORIGIN, bucket)
    return ORIGIN + bucket * (steps + (1 if up and rest else 0))


def downsampled_query(
    chart: ChartRange, since: datetime, until: datetime
) -> tuple[str, dict[str, datetime]]:
    """The chart's SQL and its parameters beside sensor_ids and bucket: from the rollups where
    one fits the bucket, else from the raw readings."""
    table = rollup_for(chart.bucket)
    inner_since = _bucket_edge(since, chart.bucket, up=True)
    inner_until = _bucket_edge(until, chart.bucket, up=False)
    if table is None or inner_since >= inner_until:
        return DOWNSAMPLED.text, {"since": since, "until": until}
    parts = [
        ROLLED_UP.format(table=table),
        RAW_BUCKETS.format(since=":since", until=":inner_since"),
        RAW_BUCKETS.format(since=":inner_until", until=":until"),
    ]
    sql = " UNION ALL ".join(f"({part})" for part in parts) + " ORDER BY sensor_id, bucket_start"
    values = {
        "since": since,
        "until": until,
        "inner_since": inner_since,
        "inner_until": inner_until,
    }
    return sql, values


async def downsampled(
    db: AsyncSession, sensor_ids: Sequence[int], chart: ChartRange, now: datetime
) -> dict[int, Series]:
    """Each sensor's series over the range ending now: at most span / bucket points."""
    series = {sensor_id: Series(sensor_id) for sensor_id in sensor_ids}
    if not sensor_ids:
        return series
    # `until`: the latest readings, from a clock a little fast
    sql, values = downsampled_query(chart, now - chart.span, now + timedelta(days=1))
    rows = await db.execute(
        text(sql), {"bucket": chart.bucket, "sensor_ids": list(sensor_ids), **values}
    )
    totals: dict[int, float] = {}
    for sensor_id, start, low, high, mean, count in rows:
        one = series[sensor_id]
        one.times.append(int(start))
        one.low.append(low)
        one.high.append(high)
        one.mean.append(mean)
        one.readings += count
        totals[sensor_id] = totals.get(sensor_id, 0.0) + mean * count
    for sensor_id, total in totals.items():
        series[sensor_id].weighted_mean = total / series[sensor_id].readings
    return series


@dataclass(frozen=True)
class AlertView:
    id: int
    kind: AlertKind
    message: str
    hive_id: int
    hive_name: str
    sensor_id: int | None
    sensor_name: str | None
    started_at: datetime
    raised_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    may_acknowledge: bool = True  # the reader may change the hive (a viewer only reads it)

    @property
    def label(self) -> str:
        """The kind of alert, in the reader's language."""
        return translate(ALERT_LABELS[self.kind])

    @property
    def text(self) -> str:
        """The message, in the reader's language (`message` is as stored: English)."""
        return shown_message(self.kind, self.message)

    @property
    def of_hive(self) -> str:
        """What the acknowledge button names for screen readers ("the swarm alert of …")."""
        return translate(ALERT_OF_HIVE[self.kind]) % {"hive": self.hive_name}


def _alerts_selection(user_id: int):  # type: ignore[no-untyped-def]  # a long Select[...]
    """The alerts of the hives `user_id` may read, and whether they may acknowledge each."""
    return (
        select(
            Alert.id,
            Alert.kind,
            Alert.message,
            Alert.hive_id,
            Hive.name,
            Alert.sensor_id,
            Sensor.name,
            Alert.started_at,
            Alert.raised_at,
            Alert.resolved_at,
            Alert.acknowledged_at,
            members_hive(user_id, change=True),
        )
        .join(Hive, Hive.id == Alert.hive_id)
        .outerjoin(Sensor, Sensor.id == Alert.sensor_id)
        .where(members_hive(user_id))
    )


async def open_alerts_of(
    db: AsyncSession, user_id: int, hive_id: int | None = None
) -> list[AlertView]:
    """The user's unacknowledged alerts, newest first, with their hive's name (Today, the hive
    page, the alerts page)."""
    selection = _alerts_selection(user_id).where(Alert.acknowledged_at.is_(None))
    if hive_id is not None:
        selection = selection.where(Alert.hive_id == hive_id)
    rows = await db.execute(selection.order_by(Alert.raised_at.desc(), Alert.id.desc()))
    return [AlertView(*row) for row in rows]


async def recent_acknowledged_alerts(
    db: AsyncSession, user_id: int, limit: int = 20
) -> list[AlertView]:
    rows = await db.execute(
        _alerts_selection(user_id)
        .where(Alert.acknowledged_at.is_not(None))
        .order_by(Alert.acknowledged_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    return [AlertView(*row) for row in rows]


async def alert_of(db: AsyncSession, user_id: int, alert_id: int) -> AlertView | None:
    row = (await db.execute(_alerts_selection(user_id).where(Alert.id == alert_id))).first()
    return None if row is None else AlertView(*row)


async def acknowledge_alert(db: AsyncSession, user_id: int, alert_id: int) -> bool:
    """Acknowledge an alert of a hive the user may change (for every member who reads it);
    False if there is no such alert for them."""
    owned = select(Hive.id).where(members_hive(user_id, change=True)).scalar_subquery()
    result = await db.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.hive_id.in_(owned))
        .values(acknowledged_at=func.coalesce(Alert.acknowledged_at, func.now()))
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def alerts_raised_since(
    db: AsyncSession, user_id: int, *, after_id: int | None, since: datetime
) -> tuple[int, int]:
    """How many of the user's open alerts are newer than `after_id` (or, not knowing one, were
    raised after `since`), and the newest alert id of theirs (0: none)."""
    newer = Alert.id > after_id if after_id is not None else Alert.raised_at > since
    row = (
        await db.execute(
            select(
                func.count().filter(newer, Alert.acknowledged_at.is_(None)),
                func.coalesce(func.max(Alert.id), 0),
            )
            .join(Hive, Hive.id == Alert.hive_id)
            .where(members_hive(user_id))
        )
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class SensorPanel:
    """What the hive page shows of its sensors: the latest values, the charts, open alerts."""

    hive_id: int
    chart: ChartRange
    latest: list[Latest]
    series: dict[int, Series]
    alerts: list[AlertView]

    @property
    def ranges(self) -> list[ChartRange]:
        return list(RANGES.values())

    def summary_text(self, latest: Latest) -> str:
        """The range in words: what the chart shows, for those who cannot see it."""
        series = self.series[latest.sensor.id]
        if series.summary is None:
            return _("no readings.")
        unit, decimals = latest.info.unit, latest.info.decimals
        low, mean, high = (f"{number(value, decimals)} {unit}" for value in series.summary)
        return ngettext(
            "lowest %(low)s, mean %(mean)s, highest %(high)s (%(num)s reading).",
            "lowest %(low)s, mean %(mean)s, highest %(high)s (%(num)s readings).",
            series.readings,
            num=number(series.readings),
            low=low,
            mean=mean,
            high=high,
        )

    def chart_data(self, latest: Latest) -> str:
        """A sensor's series as compact JSON for charts.js: times and min, max, mean."""
        series = self.series[latest.sensor.id]
        digits = latest.info.decimals + 1
        return json.dumps(
            {
                "label": f"{latest.sensor.name} ({latest.info.unit})",
                "unit": latest.info.unit,
                "decimals": latest.info.decimals,
                "t": series.times,
                "min": [round(v, digits) for v in series.low],
                "max": [round(v, digits) for v in series.high],
                "mean": [round(v, digits) for v in series.mean],
            },
            separators=(",", ":"),
        )


async def sensor_panel(
    db: AsyncSession,
    user_id: int,
    hive_id: int,
    range_key: str | None,
    now: datetime | None = None,
) -> SensorPanel:
    """The hive page's sensors panel for the range a URL asks for (?range=7d; else 24 h)."""
    now = now or datetime.now(UTC)
    chart = chart_range(range_key)
    sensors = await sensors_of_hive(db, user_id, hive_id)
    latest = [
        Latest(
            sensor,
            KINDS[sensor.kind],
            now - sensor.last_reading_at if sensor.last_reading_at else None,
        )
        for sensor in sensors
    ]
    series = await downsampled(db, [sensor.id for sensor in sensors], chart, now)
    alerts = await open_alerts_of(db, user_id, hive_id)
    return SensorPanel(hive_id, chart, latest, series, alerts)


# --- alert rules and the webhook ----------------------------------------------------------------


async def rules_of(db: AsyncSession, hive_id: int) -> Rules:
    stored = await db.get(AlertRules, hive_id, populate_existing=True)
    if stored is None:
        return DEFAULT_RULES
    return Rules(**{rule.name: getattr(stored, rule.name) for rule in fields(Rules)})


async def save_rules(db: AsyncSession, hive_id: int, form: AlertRulesForm) -> None:
    values = form.model_dump()
    await db.execute(
        insert(AlertRules)
        .values(hive_id=hive_id, **values)
        .on_conflict_do_update(index_elements=[AlertRules.hive_id], set_=values)
    )
    await db.commit()


async def webhook_of(db: AsyncSession, user_id: int) -> AlertWebhook | None:
    return await db.get(AlertWebhook, user_id, populate_existing=True)


async def save_webhook(db: AsyncSession, user_id: int, url: str) -> None:
    """Set the user's webhook URL; an empty one removes it."""
    if not url:
        await db.execute(delete(AlertWebhook).where(AlertWebhook.user_id == user_id))
    else:
        await db.execute(
            insert(AlertWebhook)
            .values(user_id=user_id, url=url, last_outcome="")
            .on_conflict_do_update(
                index_elements=[AlertWebhook.user_id],
                set_={"url": url, "last_outcome": "", "last_attempt_at": None},
            )
        )
    await db.commit()


async def note_delivery(db: AsyncSession, user_id: int, url: str, outcome: str) -> None:
    """How the last delivery to this URL went (nothing, if the user has changed it since)."""
    await db.execute(
        update(AlertWebhook)
        .where(AlertWebhook.user_id == user_id, AlertWebhook.url == url)
        .values(last_attempt_at=func.now(), last_outcome=outcome[:200])
    )
    await db.commit()


@dataclass(frozen=True)
class RaisedAlert:
    """An alert as a notification tells one member of its hive's apiary of it."""

    id: int
    user_id: int
    hive_id: int
    hive_name: str
    kind: AlertKind


async def alerts_to_push(db: AsyncSession, since: timedelta) -> list[RaisedAlert]:
    """Every hive's alerts raised in the last `since` and not yet acknowledged, oldest first,
    once for each member who may read the hive (gathered for Web Push by app/pages/)."""
    rows = await db.execute(
        select(Alert.id, apiary_roles.c.user_id, Hive.id, Hive.name, Alert.kind)
        .distinct()  # a member who also organises the apiary's club is told once
        .join(Hive, Hive.id == Alert.hive_id)
        .join(apiary_roles, apiary_roles.c.apiary_id == Hive.apiary_id)
        .where(
            Alert.raised_at > func.now() - since,
            Alert.acknowledged_at.is_(None),
            apiary_roles.c.role.in_(roles_for()),
        )
        .order_by(Alert.id, apiary_roles.c.user_id)
    )
    return [RaisedAlert(*row) for row in rows]


async def readers_of(db: AsyncSession, hive_ids: Sequence[int]) -> dict[int, list[int]]:
    """The members who may read each of these hives, by hive: whom its alerts are told to."""
    rows = await db.execute(
        select(Hive.id, apiary_roles.c.user_id)
        .distinct()
        .join(apiary_roles, apiary_roles.c.apiary_id == Hive.apiary_id)
        .where(Hive.id.in_(list(hive_ids)), apiary_roles.c.role.in_(roles_for()))
        .order_by(Hive.id, apiary_roles.c.user_id)
    )
    readers: dict[int, list[int]] = {hive_id: [] for hive_id in hive_ids}
    for hive_id, user_id in rows:
        readers[hive_id].append(user_id)
    return readers

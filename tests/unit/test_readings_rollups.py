"""Readings rollups (issue 21, item 3): every hour's and day's rollup is what SQL computes from
the raw readings, whatever way the readings came: a batch, a late reading, a replay, a weighing
by hand made again, a deletion, and after a rebuild of rollups that were tampered with.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import delete, select, text

from app import migrate
from app.__main__ import main
from app.models import Hive, Reading, ReadingDay, ReadingHour, Sensor, SensorKind
from app.sensors.queries import DOWNSAMPLED, downsampled, record_weighing
from app.sensors.rollups import rebuild_rollups
from app.sensors.schemas import RANGES
from tests.conftest import throwaway_database
from tests.unit.conftest import engine_session, make_user
from tests.unit.test_sensors import api_key, make_hive, make_sensor, post

# Not on any hour's edge, so a chart's range starts inside a bucket.
NOW = datetime.now(UTC).replace(minute=37, second=0, microsecond=0) - timedelta(hours=1)
UNITS = {"readings_hourly": "hour", "readings_daily": "day"}


def reading(sensor_id: int, before: timedelta, value: float) -> dict:
    return {"sensor_id": sensor_id, "recorded_at": (NOW - before).isoformat(), "value": value}


def every(sensor_id: int, step: timedelta, count: int, base: float = 40.0) -> list[dict]:
    """`count` readings of the sensor, `step` apart, ending at NOW, values that go up and down."""
    return [reading(sensor_id, step * n, base + (n * 7 % 11) / 4) for n in range(count)]


async def rollups(db, table: str) -> list[tuple]:
    rows = await db.execute(
        text(
            f"SELECT sensor_id, bucket, low, high, total, readings FROM {table} "  # noqa: S608
            "ORDER BY sensor_id, bucket"
        )
    )
    return [tuple(row) for row in rows]


async def from_raw(db, table: str) -> list[tuple]:
    """What the table should hold: the raw readings' aggregates per sensor and UTC bucket."""
    rows = await db.execute(
        text(
            f"SELECT sensor_id, date_trunc('{UNITS[table]}', recorded_at, 'UTC') AS bucket, "  # noqa: S608
            "min(value), max(value), sum(value), count(*) FROM readings "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )
    )
    return [tuple(row) for row in rows]


async def assert_rollups_match_raw(db) -> None:
    """Both tables, row for row: the same buckets, min, max and count exactly, the sum as near
    as adding floats in another order allows."""
    await db.commit()  # a fresh snapshot
    for table in UNITS:
        kept, computed = await rollups(db, table), await from_raw(db, table)
        assert [row[:4] + row[5:] for row in kept] == [row[:4] + row[5:] for row in computed]
        assert [row[4] for row in kept] == pytest.approx([row[4] for row in computed], rel=1e-12)


@pytest.fixture
async def owner(db, user):
    headers, _ = await api_key(db, user.id)
    hive = await make_hive(db, user.id)
    return headers, hive


@pytest.fixture
async def sensors(db, owner) -> list[int]:
    _, hive = owner
    return [
        await make_sensor(db, hive, SensorKind.weight, name="Scale"),
        await make_sensor(db, hive, SensorKind.temperature, name="Brood"),
        await make_sensor(db, hive, SensorKind.humidity, name="Humidity"),
    ]


async def stored(client, auth, batch: list[dict]) -> int:
    response = await post(client, auth, batch)
    assert response.status == 200, await response.text()
    return (await response.json())["stored"]


async def test_a_batch_of_several_sensors_is_rolled_up_by_hour_and_day(client, db, owner, sensors):
    auth, _ = owner
    scale, brood, humidity = sensors
    # Three days of 5-minute weights (the COPY path), and a small batch (the INSERT path).
    big = every(scale, timedelta(minutes=5), 3 * 288)
    small = every(brood, timedelta(minutes=20), 30, 34.0) + every(humidity, timedelta(hours=1), 5)
    assert await stored(client, auth, big) == len(big)
    assert await stored(client, auth, small) == len(small)
    await assert_rollups_match_raw(db)
    hours = await db.scalars(select(ReadingHour.readings).where(ReadingHour.sensor_id == scale))
    assert sum(hours) == 3 * 288
    days = list(await db.scalars(select(ReadingDay.sensor_id).distinct()))
    assert sorted(days) == sorted(sensors)


async def test_a_late_reading_joins_its_earlier_hour(client, db, owner, sensors):
    auth, _ = owner
    scale = sensors[0]
    assert await stored(client, auth, every(scale, timedelta(minutes=10), 60)) == 60
    five_hours_ago = (NOW - timedelta(hours=5)).replace(minute=3)
    hour = five_hours_ago.replace(minute=0)
    before = await db.scalar(
        select(ReadingHour.readings).where(
            ReadingHour.sensor_id == scale, ReadingHour.bucket == hour
        )
    )
    assert before
    # Arrives after the later readings, lower and higher than any in its hour.
    late = [
        {"sensor_id": scale, "recorded_at": five_hours_ago.isoformat(), "value": 10.0},
        {"sensor_id": scale, "recorded_at": (five_hours_ago.replace(minute=4)).isoformat(),
         "value": 90.0},
    ]  # fmt: skip
    assert await stored(client, auth, late) == 2
    await assert_rollups_match_raw(db)
    after = await db.get(ReadingHour, (scale, hour), populate_existing=True)
    assert (after.low, after.high, after.readings) == (10.0, 90.0, before + 2)


async def test_a_replayed_batch_is_not_counted_twice(client, db, owner, sensors):
    auth, _ = owner
    scale, brood, _ = sensors
    big = every(scale, timedelta(minutes=5), 400)  # COPY, refused on the key, then INSERT
    small = every(brood, timedelta(minutes=30), 12, 34.0)  # INSERT ... ON CONFLICT DO NOTHING
    assert await stored(client, auth, big) == 400
    assert await stored(client, auth, small) == 12
    first = {table: await rollups(db, table) for table in UNITS}
    assert await stored(client, auth, big) == 0
    assert await stored(client, auth, small) == 0
    assert {table: await rollups(db, table) for table in UNITS} == first
    # A batch that repeats some readings and adds some: only the new ones count.
    overlap = big[:50] + every(scale, timedelta(minutes=5), 20, 45.0)[:0]
    overlap += [reading(scale, timedelta(minutes=5 * n + 2), 47.5) for n in range(100, 130)]
    assert await stored(client, auth, overlap) == 30
    await assert_rollups_match_raw(db)


async def test_readings_posted_at_once_by_two_clients_all_count(client, db, user, sensors):
    auth, _ = await api_key(db, user.id)
    other_auth, _ = await api_key(db, user.id)  # one batch at a time per key
    scale, brood, _ = sensors
    one = every(scale, timedelta(minutes=2), 300) + every(brood, timedelta(minutes=2), 300, 34.0)
    other = [reading(r["sensor_id"], NOW - datetime.fromisoformat(r["recorded_at"])
                     + timedelta(minutes=1), r["value"] + 1) for r in one]  # fmt: skip
    counts = await asyncio.gather(
        stored(client, auth, one), stored(client, other_auth, other[::-1])
    )
    assert counts == [600, 600]
    await assert_rollups_match_raw(db)


async def test_a_day_is_a_utc_day(client, db, owner, sensors):
    """23:30 and 00:30 UTC are one day in Berlin, two in the rollups (see ReadingDay)."""
    auth, _ = owner
    scale = sensors[0]
    midnight = NOW.replace(hour=0, minute=0) - timedelta(days=2)
    batch = [
        {"sensor_id": scale, "recorded_at": (midnight - timedelta(minutes=30)).isoformat(),
         "value": 41.0},
        {"sensor_id": scale, "recorded_at": (midnight + timedelta(minutes=30)).isoformat(),
         "value": 42.0},
    ]  # fmt: skip
    assert await stored(client, auth, batch) == 2
    days = await db.execute(select(ReadingDay.bucket, ReadingDay.total).order_by(ReadingDay.bucket))
    assert [tuple(day) for day in days] == [(midnight - timedelta(days=1), 41.0), (midnight, 42.0)]


async def test_a_weighing_made_again_and_deleted_readings_are_taken_out(db, owner, sensors):
    _, hive = owner
    scale = sensors[0]
    at = NOW - timedelta(hours=3)
    await record_weighing(db, hive, 30.0, at, "By hand")
    await record_weighing(db, hive, 31.0, at + timedelta(minutes=1), "By hand")
    await db.commit()
    await assert_rollups_match_raw(db)
    await record_weighing(db, hive, 35.0, at, "By hand")  # the same instant: the value changes
    await db.commit()
    await assert_rollups_match_raw(db)
    manual = await db.scalar(select(Sensor.id).where(Sensor.field == "manual_weight"))
    hour = await db.get(ReadingHour, (manual, at.replace(minute=0)), populate_existing=True)
    assert (hour.low, hour.high, hour.readings) == (31.0, 35.0, 2)

    await db.execute(
        text("UPDATE readings SET value = value + 1 WHERE sensor_id = :s"), {"s": manual}
    )
    await db.execute(delete(Reading).where(Reading.recorded_at == at + timedelta(minutes=1)))
    await db.commit()
    await assert_rollups_match_raw(db)
    await db.execute(delete(Reading).where(Reading.sensor_id == manual))
    await db.commit()
    await assert_rollups_match_raw(db)
    assert await rollups(db, "readings_hourly") == []
    assert scale  # the hive's other sensors had nothing to take out


async def test_removing_a_sensor_or_its_hive_removes_its_rollups(client, db, owner, sensors):
    auth, hive = owner
    batch = [r for sensor in sensors for r in every(sensor, timedelta(minutes=30), 10)]
    assert await stored(client, auth, batch) == len(batch)
    await db.execute(delete(Sensor).where(Sensor.id == sensors[0]))
    await db.commit()
    await assert_rollups_match_raw(db)
    assert {row[0] for row in await rollups(db, "readings_daily")} == set(sensors[1:])
    await db.execute(delete(Hive).where(Hive.id == hive))
    await db.commit()
    for table in UNITS:
        assert await rollups(db, table) == []


async def tamper(db, scale: int) -> None:
    """Rollups wrong in every way: a value, a missing row, a row without readings, a cleared
    table."""
    await db.execute(text("UPDATE readings_hourly SET high = high + 5, readings = 1"))
    first_hour = "(SELECT min(bucket) FROM readings_hourly)"
    await db.execute(text(f"DELETE FROM readings_hourly WHERE bucket = {first_hour}"))  # noqa: S608
    await db.execute(
        text(
            "INSERT INTO readings_hourly VALUES (:s, TIMESTAMPTZ '2025-03-01 10:00Z', 1, 1, 1, 1)"
        ),
        {"s": scale},
    )
    await db.execute(text("DELETE FROM readings_daily"))
    await db.commit()


async def test_a_rebuild_puts_tampered_rollups_right(client, db, owner, sensors):
    auth, _ = owner
    batch = [r for sensor in sensors for r in every(sensor, timedelta(minutes=15), 300)]
    assert await stored(client, auth, batch) == len(batch)
    await tamper(db, sensors[0])
    assert await rollups(db, "readings_daily") == []
    assert await rebuild_rollups(db) == 3
    await assert_rollups_match_raw(db)


async def test_a_rebuild_from_a_day_leaves_the_days_before_alone(client, db, owner, sensors):
    """With raw readings dropped for old months, their rollups are all the history left: a
    rebuild --since the oldest kept day does not touch them."""
    auth, _ = owner
    scale = sensors[0]
    assert await stored(client, auth, every(scale, timedelta(hours=1), 24 * 5)) == 120
    since = (NOW - timedelta(days=2)).replace(hour=0, minute=0)
    await db.execute(text("UPDATE readings_daily SET low = -1"))
    await db.execute(text("UPDATE readings_hourly SET readings = 7"))
    await db.commit()
    await rebuild_rollups(db, since + timedelta(hours=5), [scale])  # rounded down to the day
    old = await db.scalars(select(ReadingDay.low).where(ReadingDay.bucket < since))
    assert set(old) == {-1}
    old_hours = await db.scalars(select(ReadingHour.readings).where(ReadingHour.bucket < since))
    assert set(old_hours) == {7}
    await db.execute(text("DELETE FROM readings_daily WHERE bucket < :since"), {"since": since})
    await db.execute(text("DELETE FROM readings_hourly WHERE bucket < :since"), {"since": since})
    await db.execute(text("DELETE FROM readings WHERE recorded_at < :since"), {"since": since})
    await db.commit()
    await assert_rollups_match_raw(db)


async def test_a_rebuild_waits_for_a_batch_in_flight_and_counts_it(db, database_url, sensors):
    """A batch not yet committed when the rebuild reads the readings: the rebuild waits for it
    on the rollups' rows, then reads it; and the other way round, a batch that arrives while a
    rebuild is open waits, then adds to what the rebuild computed."""
    scale = sensors[0]
    hour = NOW.replace(minute=0) - timedelta(hours=2)
    insert = "INSERT INTO readings VALUES ($1, $2, $3)"
    writer, rebuilder = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        await writer.execute(insert, scale, hour, 40.0)
        async with writer.transaction():
            await writer.execute(insert, scale, hour + timedelta(minutes=5), 41.0)
            rebuild = asyncio.create_task(
                rebuilder.execute("SELECT rebuild_reading_rollups($1, '-infinity')", scale)
            )
            await waiting_on_a_lock(db, rebuilder)
        await rebuild
        await assert_rollups_match_raw(db)

        async with rebuilder.transaction():
            await rebuilder.execute("SELECT rebuild_reading_rollups($1, '-infinity')", scale)
            late = asyncio.create_task(
                writer.execute(insert, scale, hour + timedelta(minutes=10), 42.0)
            )
            await waiting_on_a_lock(db, writer)
        await late
        await assert_rollups_match_raw(db)
        assert (await db.get(ReadingHour, (scale, hour), populate_existing=True)).readings == 3
    finally:
        await writer.close()
        await rebuilder.close()


async def waiting_on_a_lock(db, connection: asyncpg.Connection) -> None:
    """Until the connection's statement waits for another transaction's lock (a condition
    polled, not a guess at how long it takes)."""
    pid = connection.get_server_pid()
    query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    while (await db.scalar(query, {"pid": pid})) != "Lock":
        await db.commit()
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("key", ["30d", "1y"])
async def test_the_long_charts_read_the_rollups_and_say_what_raw_readings_say(
    client, db, owner, sensors, key
):
    auth, _ = owner
    chart = RANGES[key]
    span = chart.span + timedelta(days=2)  # readings before the range as well
    step = span / 2000
    batch = [r for sensor in sensors[:2] for r in every(sensor, step, 2000)]
    for start in range(0, len(batch), 1000):
        await stored(client, auth, batch[start : start + 1000])
    from_rollups = await downsampled(db, sensors, chart, NOW)
    rows = await db.execute(
        DOWNSAMPLED,
        {
            "bucket": chart.bucket,
            "sensor_ids": sensors,
            "since": NOW - chart.span,
            "until": NOW + timedelta(days=1),
        },
    )
    raw: dict[int, list[tuple]] = {sensor: [] for sensor in sensors}
    for sensor_id, start, low, high, mean, count in rows:
        raw[sensor_id].append((start, low, high, mean, count))
    for sensor in sensors:
        series = from_rollups[sensor]
        assert series.times == [row[0] for row in raw[sensor]]
        assert series.low == [row[1] for row in raw[sensor]]
        assert series.high == [row[2] for row in raw[sensor]]
        assert series.mean == pytest.approx([row[3] for row in raw[sensor]], rel=1e-12)
        assert series.readings == sum(row[4] for row in raw[sensor])
    assert from_rollups[sensors[0]].readings > 0
    assert from_rollups[sensors[2]].times == []


def test_the_rebuild_command_rebuilds_every_sensor(monkeypatch, database_url, clean_database):
    monkeypatch.setenv("DATABASE_URL", database_url)
    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)

    async def set_up() -> None:
        async with engine_session(url) as db:
            user = await make_user(db)
            hive = await make_hive(db, user.id)
            scale = await make_sensor(db, hive)
            db.add_all(
                Reading(sensor_id=scale, recorded_at=NOW - timedelta(minutes=7 * n), value=n)
                for n in range(100)
            )
            await db.commit()
            await tamper(db, scale)

    async def check() -> None:
        async with engine_session(url) as db:
            await assert_rollups_match_raw(db)

    asyncio.run(set_up())
    assert main(["sensors", "rebuild-rollups"]) == 0
    asyncio.run(check())
    assert main(["sensors", "rebuild-rollups", "--since", "2026-01-01", "--sensor", "1"]) == 0
    asyncio.run(check())


def test_the_migration_rolls_up_the_readings_already_stored(database_server_url):
    async def store_readings(url: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            user = await conn.fetchval(
                "INSERT INTO users (name, email, password_hash) "
                "VALUES ('Ada', 'ada@example.org', 'x') RETURNING id"
            )
            hive = await conn.fetchval(
                "INSERT INTO hives (owner_id, name, location, frame_type) VALUES "
                "($1, 'Roof', ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326), 'dadant') RETURNING id",
                user,
            )
            for name in ("Scale", "Brood"):
                sensor = await conn.fetchval(
                    "INSERT INTO sensors (hive_id, name, kind, placement) "
                    "VALUES ($1, $2, 'weight', 'inside') RETURNING id",
                    hive,
                    name,
                )
                await conn.copy_records_to_table(
                    "readings",
                    records=[(sensor, NOW - timedelta(minutes=13 * n), n / 3) for n in range(500)],
                    columns=["sensor_id", "recorded_at", "value"],
                )
        finally:
            await conn.close()

    async def check(url: str) -> None:
        async with engine_session(url.replace("postgresql://", "postgresql+asyncpg://", 1)) as db:
            assert len(await rollups(db, "readings_daily")) > 2
            await assert_rollups_match_raw(db)

    with throwaway_database(database_server_url, "cityhive_rollups_fill") as url:
        asyncpg_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        migrate.downgrade(asyncpg_url, "0016")
        asyncio.run(store_readings(url))
        migrate.upgrade(asyncpg_url)
        asyncio.run(check(url))

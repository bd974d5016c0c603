"""The hive page's charts: a year of 5-minute readings of one sensor, downsampled in SQL, per range.

    make bench        # also runs the other benchmarks
    uv run --locked python bench/charts.py

What the issues ask to know: the time of the chart query for each range (24 h, 7 d, 30 d, 1 y)
over a year of 5-minute readings of one sensor; since issue 21, the 30-day and 1-year charts
under 15 ms each, read from the hourly and daily rollups. The reference, in the same run: the
same chart's buckets computed from the raw readings (the query every range ran before the
rollups, `app.sensors.queries.DOWNSAMPLED`).

1. a throwaway database migrated to head (see bench/_common.py), one hive with one scale and,
   as neighbours in the same table, nine more sensors with the same year of readings (so the
   index and the partitions hold more than the one series: 1,051,200 rows in all);
2. the rows go in by COPY (the rollups' trigger keeps the rollups as it does for the API),
   then VACUUM (ANALYZE);
3. per range, after a warm-up, `--repeat` runs each of `app.sensors.queries.downsampled` (the
   app's own function, on the app's SQLAlchemy engine settings) and of the raw-readings query
   for the same buckets on the same session; the medians are reported, with the points each
   returns and the rows the chart reads (rollup rows, and raw readings at the range's ends).

It prints a table and rewrites the `<!-- bench:charts -->` section of docs/benchmarks.md
(`--no-write` to leave it alone). The database is gone afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import DOC, ROOT, bench_database, busy, load_average, machine_facts, write_section

BEGIN = "<!-- bench:charts -->"
END = "<!-- /bench:charts -->"
STEP = timedelta(minutes=5)
YEAR = timedelta(days=365)
NEIGHBOURS = 9


@dataclass
class Timing:
    key: str
    label: str
    bucket: timedelta
    source: str
    rows_read: str
    downsampled_ms: float
    raw_ms: float
    points: int
    readings: int
    chart_bytes: int

    @property
    def ratio(self) -> float:
        return self.downsampled_ms / self.raw_ms


@dataclass
class Report:
    machine: dict[str, str]
    postgres: str
    rows: int
    repeat: int
    timings: list[Timing]
    elapsed: float


async def fill(url: str, now: datetime) -> tuple[int, int, str]:
    """One scale and its neighbours, a year of 5-minute readings each; (sensor id, rows)."""
    import math

    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        user_id = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash) "
            "VALUES ('Bench', 'bench@example.org', 'never logs in') RETURNING id"
        )
        hive_id = await conn.fetchval(
            "INSERT INTO hives (owner_id, apiary_id, name, location, frame_type) SELECT $1,"
            " apiary_for($1, NULL, at, 'Bench'), 'Rooftop', at, 'dadant'"
            " FROM ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326) AS at RETURNING id",
            user_id,
        )
        sensor_ids = [
            await conn.fetchval(
                "INSERT INTO sensors (hive_id, name, kind, placement) "
                "VALUES ($1, $2, 'weight', 'inside') RETURNING id",
                hive_id,
                f"Scale {number}",
            )
            for number in range(1 + NEIGHBOURS)
        ]
        steps = int(YEAR / STEP)
        start = now - YEAR
        rows = 0
        for sensor_id in sensor_ids:
            records = [
                (
                    sensor_id,
                    start + STEP * step,
                    40 + 8 * math.sin(step / 8000) + math.sin(step / 12) / 4,
                )
                for step in range(steps)
            ]
            await conn.copy_records_to_table(
                "readings", records=records, columns=["sensor_id", "recorded_at", "value"]
            )
            rows += len(records)
        await conn.execute("VACUUM (ANALYZE) readings")
        postgres = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return sensor_ids[0], rows, postgres.split()[0]


async def rows_read(db: Any, sensor_id: int, chart: Any, now: datetime) -> tuple[str, str]:
    """Where the chart reads from, and how many rows: rollup rows, and raw readings."""
    from sqlalchemy import text

    from app.sensors.queries import downsampled_query, rollup_for

    table = rollup_for(chart.bucket)
    _, values = downsampled_query(chart, now - chart.span, now + timedelta(days=1))
    count_raw = text(
        "SELECT count(*) FROM readings WHERE sensor_id = :sensor_id "
        "AND recorded_at >= :since AND recorded_at < :until"
    )
    if table is None:
        raw = await db.scalar(count_raw, {"sensor_id": sensor_id, **values})
        return "`readings`", f"{raw:,}"
    ends = 0
    for since, until in (("since", "inner_since"), ("inner_until", "until")):
        window = {"sensor_id": sensor_id, "since": values[since], "until": values[until]}
        ends += int(await db.scalar(count_raw, window))
    rolled = await db.scalar(
        text(
            f"SELECT count(*) FROM {table} WHERE sensor_id = :sensor_id "  # noqa: S608
            "AND bucket >= :since AND bucket < :until"
        ),
        {"sensor_id": sensor_id, "since": values["inner_since"], "until": values["inner_until"]},
    )
    return f"`{table}`, `readings` at the ends", f"{rolled:,} + {ends:,}"


async def measure(url: str, sensor_id: int, now: datetime, repeat: int) -> list[Timing]:
    from sqlalchemy import text

    from app.db import make_engine
    from app.sensors.queries import DOWNSAMPLED, Latest, SensorPanel, downsampled
    from app.sensors.schemas import KINDS, RANGES

    count = text(
        "SELECT count(*) FROM readings "
        "WHERE sensor_id = :sensor_id AND recorded_at >= :since AND recorded_at < :until"
    )
    engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    timings = []
    try:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        async with async_sessionmaker(engine)() as db:
            from app.models import Sensor

            sensor = await db.get(Sensor, sensor_id)
            assert sensor is not None
            for chart in RANGES.values():
                raw_buckets = {
                    "bucket": chart.bucket,
                    "sensor_ids": [sensor_id],
                    "since": now - chart.span,
                    "until": now + timedelta(days=1),
                }
                for _ in range(3):  # warm-up: caches, prepared statements
                    series = await downsampled(db, [sensor_id], chart, now)
                    (await db.execute(DOWNSAMPLED, raw_buckets)).all()
                fast, slow = [], []
                for _ in range(repeat):
                    started = time.perf_counter()
                    series = await downsampled(db, [sensor_id], chart, now)
                    fast.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    from_raw = (await db.execute(DOWNSAMPLED, raw_buckets)).all()
                    slow.append(time.perf_counter() - started)
                assert len(from_raw) == len(series[sensor_id].times)
                panel = SensorPanel(sensor.hive_id, chart, [], series, [])
                latest = Latest(sensor, KINDS[sensor.kind], None)
                source, read = await rows_read(db, sensor_id, chart, now)
                window = {"sensor_id": sensor_id, "since": now - chart.span, "until": now}
                timings.append(
                    Timing(
                        key=chart.key,
                        label=chart.label,
                        bucket=chart.bucket,
                        source=source,
                        rows_read=read,
                        downsampled_ms=statistics.median(fast) * 1000,
                        raw_ms=statistics.median(slow) * 1000,
                        points=len(series[sensor_id].times),
                        readings=int(await db.scalar(count, window)),
                        chart_bytes=len(panel.chart_data(latest).encode()),
                    )
                )
                print(
                    f"{chart.label:10} chart {timings[-1].downsampled_ms:7.1f} ms "
                    f"({timings[-1].points} points, {read} rows of {source}), from raw "
                    f"{timings[-1].raw_ms:7.1f} ms ({timings[-1].readings} readings)",
                    flush=True,
                )
    finally:
        await engine.dispose()
    return timings


def run(args: argparse.Namespace) -> Report:
    sys.path.insert(0, str(ROOT))
    begun = time.perf_counter()
    machine = machine_facts(["asyncpg", "sqlalchemy"])
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with bench_database() as url:
        sensor_id, rows, postgres = asyncio.run(fill(url, now))
        timings = asyncio.run(measure(url, sensor_id, now, args.repeat))
    machine["load average at the end"] = load_average()
    return Report(machine, postgres, rows, args.repeat, timings, time.perf_counter() - begun)


def bucket_text(bucket: timedelta) -> str:
    minutes = int(bucket.total_seconds() // 60)
    if minutes >= 24 * 60 and minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} d"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


def table(report: Report) -> list[str]:
    lines = [
        "| range | bucket | points | reads from | rows read | chart query | raw readings of the "
        "range | same buckets from raw readings | ratio | chart data sent |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in report.timings:
        lines.append(
            f"| {t.label} | {bucket_text(t.bucket)} | {t.points:,} | {t.source} "
            f"| {t.rows_read} | {t.downsampled_ms:.1f} ms | {t.readings:,} "
            f"| {t.raw_ms:.1f} ms | {t.ratio:.2f} | {t.chart_bytes / 1024:.1f} KB |"
        )
    return lines


TARGET_MS = 15.0  # issue 21: the 30-day and 1-year charts, each


def interpretation(report: Report) -> list[str]:
    long = [t for t in report.timings if t.key in ("30d", "1y")]
    most = max(t.points for t in report.timings)
    met = all(t.downsampled_ms < TARGET_MS for t in long)
    lines = [
        f"- Every range stays under 1,000 points per series ({most} at most), whatever the "
        "number of readings behind it.",
        f"- The target, the 30-day and 1-year charts each under {TARGET_MS:.0f} ms: "
        + ("met" if met else "missed")
        + " ("
        + ", ".join(f"{t.label} {t.downsampled_ms:.1f} ms" for t in long)
        + ").",
    ]
    for t in long:
        lines.append(
            f"- {t.label}: the chart reads {t.rows_read} rows ({t.source}) instead of "
            f"{t.readings:,} readings, in {t.ratio:.2f}x the time of the same buckets computed "
            f"from the raw readings ({t.downsampled_ms:.1f} against {t.raw_ms:.1f} ms)."
        )
    lines.append(
        "- The 24-hour and 7-day charts read the raw readings, as before (288 and 2,016 per "
        "sensor). A chart's bucket at either end of its range is computed from the raw "
        "readings, so every chart says what the raw readings say (tests/unit/"
        "test_readings_rollups.py compares them)."
    )
    return lines


def command_line() -> str:
    """How this run was started, for the section to say (its options included)."""
    return " ".join(["uv run --locked python", f"bench/{Path(__file__).name}", *sys.argv[1:]])


def section(report: Report) -> str:
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    machine = {**report.machine, "PostgreSQL": report.postgres}
    machine.pop("wrk", None)
    facts = "\n".join(f"- {name}: {value}" for name, value in machine.items())
    return "\n".join(
        [
            BEGIN,
            "## Sensor charts: a year of 5-minute readings, per range",
            "",
            f"Measured {when} with `make bench` (`{command_line()}`), "
            f"which wrote this section in {report.elapsed:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            f"Data: one scale with a year of readings 5 minutes apart (105,120), and "
            f"{NEIGHBOURS} neighbours with as many, {report.rows:,} rows in the monthly "
            "partitions of `readings`, loaded by COPY (which keeps the hourly and daily rollups, "
            "as every insert does), then `VACUUM (ANALYZE)`. The chart query is "
            "`app.sensors.queries.downsampled` (`date_bin` buckets, min, max and mean per "
            "bucket; from the rollups where one fits the bucket, and from the raw readings for "
            "the buckets at the range's ends) on a SQLAlchemy session with the app's engine "
            "settings; the reference is the same buckets computed from the raw readings "
            "(`DOWNSAMPLED`, what every range ran before the rollups) on the same session. "
            f"Each is the median of {report.repeat} runs after 3 warm-up runs. 'Rows read': "
            "rollup rows + raw readings. 'Chart data sent' is the JSON the hive page carries "
            "for the chart.",
            "",
            *table(report),
            "",
            *interpretation(report),
            END,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per query and range")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    report = run(args)
    print("\n" + "\n".join([*table(report), "", *interpretation(report)]))
    if not args.no_write:
        write_section(section(report), BEGIN, END, args.doc)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

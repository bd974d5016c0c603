"""Sensor readings in: CityHive's POST /api/v1/readings against asyncpg's COPY of the same rows.

    make bench        # also runs the other benchmarks
    uv run --locked python bench/ingest.py

The target (from the issue): committed readings per second through the API, in batches of
1,000 and of 10,000 with several clients at once, at least 0.5x those of asyncpg's
`copy_records_to_table` of the same rows into the same table, measured in the same run.

1. a throwaway database migrated to head (see bench/_common.py); one beekeeper with an API key
   and one hive per client, each with five sensors (a scale, two temperature probes inside, a
   humidity probe inside, a battery): every client is one device posting its own sensors;
2. the rows: for each client, its sensors' readings one minute apart over the past weeks,
   values in range and steady (no alert is raised, but every batch is checked for them);
3. the real app, `python -m app serve` at LOG_LEVEL=WARNING; the JSON bodies are made before
   the clock starts, so the clients cost little CPU while it runs;
4. for each batch size, `--rounds` rounds of: the API (the clients post their batches one after
   another, all clients at once, until every reading is stored), then TRUNCATE, then COPY of
   the same rows by as many asyncpg connections at once, then TRUNCATE; every other round the
   COPY goes first. Each run checks the table holds every row afterwards.

The figure is committed readings per second: all rows divided by the wall time from the first
request to the last answer (the API answers once its one statement has committed).
It prints a table and rewrites the `<!-- bench:ingest -->` section of docs/benchmarks.md
(`--no-write` to leave it alone). Everything it starts, and the database, is gone afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    DOC,
    HOST,
    ROOT,
    bench_database,
    busy,
    load_average,
    machine_facts,
    server,
    wait_ready,
    write_section,
)

BEGIN = "<!-- bench:ingest -->"
END = "<!-- /bench:ingest -->"
SENSORS_PER_DEVICE = (  # (kind, placement, a steady value)
    ("weight", "inside", 42.0),
    ("temperature", "inside", 34.5),
    ("temperature", "inside", 35.5),
    ("humidity", "inside", 62.0),
    ("battery", "outside", 3.9),
)

Row = tuple[int, datetime, float]


@dataclass
class Device:
    hive_id: int
    sensor_ids: list[int]


@dataclass
class Setup:
    url: str
    key: str
    devices: list[Device]
    postgres: str


@dataclass
class Result:
    label: str
    batch: int
    seconds: list[float] = field(default_factory=list)
    reference_seconds: list[float] = field(default_factory=list)
    rows: int = 0

    @property
    def rate(self) -> float:
        return self.rows / statistics.median(self.seconds)

    @property
    def reference_rate(self) -> float:
        return self.rows / statistics.median(self.reference_seconds)

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios: each round's two runs were side by side in time,
        so a disturbance from another tenant of the machine falls on both."""
        return statistics.median(self.ratios)

    @property
    def ratios(self) -> list[float]:
        return [ref / api for api, ref in zip(self.seconds, self.reference_seconds, strict=True)]


@dataclass
class Report:
    machine: dict[str, str]
    setup: Setup
    clients: int
    per_client: int
    rounds: int
    results: list[Result]
    elapsed: float


# --- set-up -------------------------------------------------------------------------------------


async def prepare(url: str, clients: int) -> Setup:
    import asyncpg

    from app.web.api import new_key

    key = new_key()
    conn = await asyncpg.connect(url)
    try:
        user_id = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash) "
            "VALUES ('Bench', 'bench@example.org', 'never logs in') RETURNING id"
        )
        await conn.execute(
            "INSERT INTO api_keys (user_id, name, prefix, hash) VALUES ($1, 'bench', $2, $3)",
            user_id,
            key.prefix,
            key.hash,
        )
        devices = []
        for number in range(clients):
            hive_id = await conn.fetchval(
                "INSERT INTO hives (owner_id, name, location, frame_type) VALUES "
                "($1, $2, ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326), 'dadant') RETURNING id",
                user_id,
                f"Device {number}",
            )
            sensor_ids = []
            for index, (kind, placement, _) in enumerate(SENSORS_PER_DEVICE):
                sensor_ids.append(
                    await conn.fetchval(
                        "INSERT INTO sensors (hive_id, name, kind, placement) "
                        "VALUES ($1, $2, $3, $4) RETURNING id",
                        hive_id,
                        f"{kind} {index}",
                        kind,
                        placement,
                    )
                )
            devices.append(Device(hive_id, sensor_ids))
        postgres = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return Setup(url=url, key=key.key, devices=devices, postgres=postgres.split()[0])


def rows_of(device: Device, count: int, end: datetime) -> list[Row]:
    """`count` readings of the device's sensors, a minute apart per sensor, ending at `end`."""
    steps = -(-count // len(device.sensor_ids))
    rows: list[Row] = []
    for step in range(steps):
        at = end - timedelta(minutes=steps - step)
        for sensor_id, (_, _, value) in zip(device.sensor_ids, SENSORS_PER_DEVICE, strict=True):
            rows.append((sensor_id, at, value + (step % 7) / 100))
    return rows[:count]


def bodies(rows: Sequence[Row], batch: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "readings": [
                    {"sensor_id": s, "recorded_at": at.isoformat(), "value": v}
                    for s, at, v in rows[start : start + batch]
                ]
            }
        ).encode()
        for start in range(0, len(rows), batch)
    ]


# --- the two ways in -----------------------------------------------------------------------------


async def through_the_api(port: int, key: str, per_client: list[list[bytes]]) -> float:
    import aiohttp

    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=300)

    async def client(session: aiohttp.ClientSession, batches: list[bytes]) -> int:
        stored = 0
        for body in batches:
            async with session.post(
                f"http://{HOST}:{port}/api/v1/readings", data=body, headers=headers
            ) as response:
                answer = await response.json()
                if response.status != 200:
                    raise SystemExit(f"the API answered {response.status}: {answer}")
                stored += answer["stored"]
        return stored

    connector = aiohttp.TCPConnector(limit=len(per_client))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session, batches) for batches in per_client))
        return time.perf_counter() - started


async def by_copy(url: str, per_client: list[list[list[Row]]]) -> float:
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=len(per_client), max_size=len(per_client))
    try:

        async def client(batches: list[list[Row]]) -> None:
            async with pool.acquire() as conn:
                for records in batches:
                    await conn.copy_records_to_table(
                        "readings", records=records, columns=["sensor_id", "recorded_at", "value"]
                    )

        started = time.perf_counter()
        await asyncio.gather(*(client(batches) for batches in per_client))
        return time.perf_counter() - started
    finally:
        await pool.close()


async def stored_count_then_empty(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM readings")
        await conn.execute("TRUNCATE readings")
        await conn.execute("UPDATE sensors SET last_reading_at = NULL, last_value = NULL")
        await conn.execute("VACUUM ANALYZE sensors")
        return int(count)
    finally:
        await conn.close()


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> Report:
    sys.path.insert(0, str(ROOT))
    begun = time.perf_counter()
    machine = machine_facts(["aiohttp", "asyncpg", "sqlalchemy"])
    results = []
    with bench_database() as url, tempfile.TemporaryDirectory() as logs:
        setup = asyncio.run(prepare(url, args.clients))
        env = os.environ | {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-" + "k" * 40,
            "DEMO_DATA": "false",
            "LOG_LEVEL": "WARNING",
            "HOST": HOST,
        }
        end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
        rows = [rows_of(device, args.per_client, end) for device in setup.devices]
        total = sum(len(r) for r in rows)
        command = [sys.executable, "-m", "app", "serve"]
        with server("cityhive", command, env, Path(logs)) as app:
            wait_ready([app], "/health/ready")
            for batch in args.batches:
                result = Result(f"batches of {batch:,}", batch, rows=total)
                encoded = [bodies(device_rows, batch) for device_rows in rows]
                records = [
                    [r[start : start + batch] for start in range(0, len(r), batch)] for r in rows
                ]
                # A warm-up: the app's pools and prepared statements, PostgreSQL's caches.
                asyncio.run(through_the_api(app.port, setup.key, [b[:1] for b in encoded]))
                asyncio.run(stored_count_then_empty(url))
                for number in range(args.rounds):
                    order = ("api", "copy") if number % 2 == 0 else ("copy", "api")
                    for way in order:
                        if way == "api":
                            seconds = asyncio.run(through_the_api(app.port, setup.key, encoded))
                            result.seconds.append(seconds)
                        else:
                            seconds = asyncio.run(by_copy(url, records))
                            result.reference_seconds.append(seconds)
                        stored = asyncio.run(stored_count_then_empty(url))
                        if stored != total:
                            raise SystemExit(f"{way}: {stored} rows stored, not {total}")
                        print(
                            f"{result.label:20} {way:4} {total / seconds:10,.0f} readings/s "
                            f"({seconds:.2f} s)",
                            flush=True,
                        )
                results.append(result)
    machine["load average at the end"] = load_average()
    return Report(
        machine=machine,
        setup=setup,
        clients=args.clients,
        per_client=args.per_client,
        rounds=args.rounds,
        results=results,
        elapsed=time.perf_counter() - begun,
    )


def table(report: Report) -> list[str]:
    lines = [
        "| batches | API readings/s | COPY readings/s | ratio API / COPY | ratio by round |",
        "|---|---:|---:|---:|---|",
    ]
    for result in report.results:
        lines.append(
            f"| {result.batch:,} readings | {result.rate:,.0f} | {result.reference_rate:,.0f} "
            f"| {result.ratio:.2f} | {', '.join(f'{r:.2f}' for r in result.ratios)} |"
        )
    return lines


def interpretation(report: Report) -> list[str]:
    lines = []
    for result in report.results:
        verdict = "meets" if result.ratio >= 0.5 else "misses"
        lines.append(
            f"- Batches of {result.batch:,}: the API commits {result.ratio:.2f}x the readings "
            f"per second of COPY, which {verdict} the target of 0.5x."
        )
    lines.append(
        "- The API does more than COPY for each batch: it authenticates the key, finds the "
        "sensors and their alert state, parses and checks every reading in Python, and checks "
        "the alerts (for a scale, one query over the new readings' window); COPY only writes "
        "rows. Both pay for the primary key, the foreign key, the partition routing and the "
        "trigger that notes each sensor's newest reading on its row (it belongs to the table)."
    )
    return lines


def section(report: Report) -> str:
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    machine = {**report.machine, "PostgreSQL": report.setup.postgres}
    machine.pop("wrk", None)  # not used here
    facts = "\n".join(f"- {name}: {value}" for name, value in machine.items())
    total = report.clients * report.per_client
    return "\n".join(
        [
            BEGIN,
            "## Sensor readings in: the API against COPY",
            "",
            f"Measured {when} with `make bench` (`uv run --locked python bench/ingest.py`), "
            f"which wrote this section in {report.elapsed:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            f"Rows: {report.clients} clients, each one device with 5 sensors of its own (a "
            f"scale, two temperature probes and a humidity probe inside, a battery), "
            f"{report.per_client:,} readings per client, {total:,} in all, one minute apart "
            "per sensor over the past weeks. The API: `python -m app serve` at "
            "`LOG_LEVEL=WARNING`, each client posting its batches one after another over one "
            "keep-alive connection, all clients at once; the JSON bodies are made before the "
            "clock starts. COPY: `asyncpg.copy_records_to_table` of the same rows as tuples, one "
            f"pooled connection per client, all at once. {report.rounds} rounds per batch size, "
            "each running both (every other round COPY first), with the table emptied (TRUNCATE) "
            "and checked to hold every row after each run. The table gives the medians of the "
            "rounds: of each way's readings per second, and of the rounds' ratios (a round's two "
            "runs ran side by side in time, so their ratio is the steadier figure on a shared "
            "machine). Two CPUs are shared by the benchmark's clients, the app and PostgreSQL.",
            "",
            *table(report),
            "",
            *interpretation(report),
            END,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=4, help="devices posting at once")
    parser.add_argument(
        "--per-client", type=int, default=50_000, help="readings each client sends per run"
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--rounds", type=int, default=5)
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

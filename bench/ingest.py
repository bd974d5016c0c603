"""Sensor readings in: CityHive's POST /api/v1/readings against asyncpg's COPY of the same rows.

    make bench        # also runs the other benchmarks
    uv run --locked python bench/ingest.py

The target (from the issue): committed readings per second through the API, in batches of
1,000 and of 10,000 with several clients at once, at least 0.5x those of asyncpg's
`copy_records_to_table` of the same rows into the same table, measured in the same run. Since
issue 21 the table keeps its hourly and daily rollups in the statement that inserts (a trigger,
which COPY fires too), so each round also runs the API and COPY with the rollups' trigger
switched off, the table as it was before them: the API is held to 0.5x of that COPY as well,
and each way with the rollups against itself without them is what keeping them costs.

1. a throwaway database migrated to head (see bench/_common.py); one beekeeper with an API key
   per client (the API takes one batch at a time per key) and one hive per client, each with
   five sensors (a scale, two temperature probes inside, a humidity probe inside, a battery):
   every client is one device posting its own sensors;
2. the rows: for each client, its sensors' readings one minute apart over the past weeks,
   values in range and steady (no alert is raised, but every batch is checked for them);
3. the real app, `python -m app serve` at LOG_LEVEL=WARNING; the JSON bodies are made before
   the clock starts, so the clients cost little CPU while it runs;
4. for each batch size, `--rounds` rounds of: the API (the clients post their batches one after
   another, all clients at once, until every reading is stored), COPY of the same rows by as
   many asyncpg connections at once, and both again with the rollups' trigger off, each
   followed by TRUNCATE (of the rollups too); the order turns by one each round. Each run
   checks the table holds every row afterwards, and the rollups count each exactly once.

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
    keys: list[str]  # one per client
    devices: list[Device]
    postgres: str


API, COPY = "api", "copy"
BARE_API, BARE_COPY = "api, no rollups", "copy, no rollups"  # the rollups' trigger off
WAYS = (API, COPY, BARE_API, BARE_COPY)


@dataclass
class Result:
    label: str
    batch: int
    seconds: dict[str, list[float]] = field(default_factory=lambda: {way: [] for way in WAYS})
    rows: int = 0

    def rate(self, way: str) -> float:
        return self.rows / statistics.median(self.seconds[way])

    def ratios(self, way: str, reference: str) -> list[float]:
        """`way`'s readings per second against `reference`'s, round by round: a round's runs
        were side by side in time, so a disturbance from another tenant of the machine falls
        on both."""
        return [
            ref / it for it, ref in zip(self.seconds[way], self.seconds[reference], strict=True)
        ]

    def ratio(self, way: str, reference: str) -> float:
        return statistics.median(self.ratios(way, reference))


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

    keys = [new_key() for _ in range(clients)]
    conn = await asyncpg.connect(url)
    try:
        user_id = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash) "
            "VALUES ('Bench', 'bench@example.org', 'never logs in') RETURNING id"
        )
        for number, key in enumerate(keys):
            await conn.execute(
                "INSERT INTO api_keys (user_id, name, prefix, hash) VALUES ($1, $2, $3, $4)",
                user_id,
                f"bench {number}",
                key.prefix,
                key.hash,
            )
        devices = []
        for number in range(clients):
            hive_id = await conn.fetchval(
                "INSERT INTO hives (owner_id, apiary_id, name, location, frame_type) SELECT $1,"
                " apiary_for($1, NULL, at, 'Bench'), $2, at, 'dadant'"
                " FROM ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326) AS at RETURNING id",
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
    return Setup(
        url=url, keys=[key.key for key in keys], devices=devices, postgres=postgres.split()[0]
    )


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


async def through_the_api(port: int, keys: list[str], per_client: list[list[bytes]]) -> float:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=300)

    async def client(session: aiohttp.ClientSession, key: str, batches: list[bytes]) -> int:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
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
        await asyncio.gather(
            *(client(session, key, batches) for key, batches in zip(keys, per_client, strict=True))
        )
        return time.perf_counter() - started


ROLLUP_TRIGGER = "readings_roll_up"  # migration 0017


async def rollups_trigger(url: str, *, enabled: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        switch = "ENABLE" if enabled else "DISABLE"
        await conn.execute(f"ALTER TABLE readings {switch} TRIGGER {ROLLUP_TRIGGER}")
    finally:
        await conn.close()


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


async def stored_count_then_empty(url: str, *, rolled_up: bool = True) -> int:
    """How many rows the run stored (after checking that the rollups count each of them once,
    if they were kept), then the table and its rollups emptied."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM readings")
        for table in ("readings_hourly", "readings_daily") if rolled_up else ():
            counted = await conn.fetchval(f"SELECT coalesce(sum(readings), 0) FROM {table}")  # noqa: S608
            if counted != count:
                raise SystemExit(f"{table} counts {counted} readings of {count}")
        await conn.execute("TRUNCATE readings, readings_hourly, readings_daily")
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
            # The rounds post more batches per key than a device may in five minutes: what is
            # measured is throughput, not the per-key limit.
            "READINGS_BATCHES_PER_KEY": "1000000",
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
                asyncio.run(through_the_api(app.port, setup.keys, [b[:1] for b in encoded]))
                asyncio.run(stored_count_then_empty(url))
                for number in range(args.rounds):
                    turn = number % len(WAYS)
                    for way in WAYS[turn:] + WAYS[:turn]:
                        rolled_up = way in (API, COPY)
                        asyncio.run(rollups_trigger(url, enabled=rolled_up))
                        if way in (API, BARE_API):
                            seconds = asyncio.run(through_the_api(app.port, setup.keys, encoded))
                        else:
                            seconds = asyncio.run(by_copy(url, records))
                        result.seconds[way].append(seconds)
                        asyncio.run(rollups_trigger(url, enabled=True))
                        stored = asyncio.run(stored_count_then_empty(url, rolled_up=rolled_up))
                        if stored != total:
                            raise SystemExit(f"{way}: {stored} rows stored, not {total}")
                        print(
                            f"{result.label:20} {way:16} {total / seconds:10,.0f} readings/s "
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


def by_round(ratios: list[float]) -> str:
    return ", ".join(f"{r:.2f}" for r in ratios)


def table(report: Report) -> list[str]:
    lines = [
        "| batches | API readings/s | COPY readings/s | API, no rollups | COPY, no rollups |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report.results:
        rates = " | ".join(f"{r.rate(way):,.0f}" for way in WAYS)
        lines.append(f"| {r.batch:,} readings | {rates} |")
    lines += [
        "",
        "| batches | API / COPY | API / COPY without the rollups | API with the rollups / "
        "without | COPY with the rollups / without |",
        "|---|---|---|---|---|",
    ]
    pairs = ((API, COPY), (API, BARE_COPY), (API, BARE_API), (COPY, BARE_COPY))
    for r in report.results:
        cells = " | ".join(
            f"**{r.ratio(way, ref):.2f}** ({', '.join(f'{x:.2f}' for x in r.ratios(way, ref))})"
            for way, ref in pairs
        )
        lines.append(f"| {r.batch:,} readings | {cells} |")
    return lines


def interpretation(report: Report) -> list[str]:
    lines = []
    for r in report.results:
        same, bare = r.ratio(API, COPY), r.ratio(API, BARE_COPY)
        verdict = "meets" if min(same, bare) >= 0.5 else "misses"
        lines.append(
            f"- Batches of {r.batch:,}: the API commits {same:.2f}x the readings per second of "
            f"COPY into the same table, and {bare:.2f}x those of COPY into the table without "
            f"its rollups, which {verdict} the target of 0.5x. Without the rollups the API "
            f"made {r.ratio(BARE_API, BARE_COPY):.2f}x COPY in the same rounds. Keeping the "
            f"rollups, the API runs at {r.ratio(API, BARE_API):.2f}x its speed without them, "
            f"COPY at {r.ratio(COPY, BARE_COPY):.2f}x."
        )
    if any(r.ratio(BARE_API, BARE_COPY) < 0.5 for r in report.results):
        lines.append(
            "- The API misses the target without the rollups as well, in the same rounds: what "
            "it misses by is not the rollups' cost. The rounds' ratios spread widely when other "
            "work shares the machine (see the load average above); compare on a quiet machine."
        )
    lines.append(
        "- The API does more than COPY for each batch: it authenticates the key, finds the "
        "sensors and their alert state, parses and checks every reading in Python, and checks "
        "the alerts (for a scale, one query over the new readings' window); COPY only writes "
        "rows. Both pay for the primary key, the foreign key, the partition routing, the "
        "trigger that notes each sensor's newest reading on its row and, since issue 21, the "
        "one that adds the statement's new readings to their hourly and daily rollups (two "
        "INSERT ... ON CONFLICT DO UPDATE per statement); both belong to the table."
    )
    return lines


def command_line() -> str:
    """How this run was started, for the section to say (its options included)."""
    return " ".join(["uv run --locked python", f"bench/{Path(__file__).name}", *sys.argv[1:]])


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
            f"Measured {when} with `make bench` (`{command_line()}`), "
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
            f"pooled connection per client, all at once; and both again with the rollups' "
            f"trigger off (`ALTER TABLE readings DISABLE TRIGGER {ROLLUP_TRIGGER}`: the table as "
            f"it was before them). {report.rounds} rounds per batch size, each running the four "
            "(the order turning by one each round), with the table and its rollups emptied "
            "(TRUNCATE) and checked after each run: every row stored, and counted once in the "
            "hourly and in the daily rollups. The table gives the medians of the rounds: of each "
            "way's readings per second, and of the rounds' ratios (a round's runs ran side by "
            "side in time, so their ratio is the steadier figure on a shared machine). Two CPUs "
            "are shared by the benchmark's clients, the app and PostgreSQL.",
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

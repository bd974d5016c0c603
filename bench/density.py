"""The public density layer: GET /city/density.geojson for the whole seeded city at 100,000
hives, time per request cold and warm, against references measured in the same run.

    make bench        # every benchmark, this one last
    uv run --locked python bench/density.py

One run, loopback only, about two minutes with the defaults:

1. a throwaway database migrated to head (see bench/_common.py) with 100,000 Berlin hives from
   `app.seed.add_city_hives` (12,500 generated beekeepers), then VACUUM (ANALYZE);
2. checks: the app's layer has no count under 3, and its hexagons and counts are the same as
   those of the reference statement below (which puts hives in hexagons by a spatial join);
3. cold: `--restarts` times, the real app (`python -m app serve`, LOG_LEVEL=WARNING) is started,
   a visitor's session cookie is fetched from /city (no database work), and the first
   GET /city/density.geojson is timed: a new pooled connection, so a new PostgreSQL backend
   that loads PostGIS and plans the statement for the first time. The second request follows;
4. warm: `--requests` sequential requests to the last server, which answers from its cache
   (DENSITY_CACHE_SECONDS=60, the default), and /health/live timed the same way, the app's
   floor for any request; then as many to a server with DENSITY_CACHE_SECONDS=0, which makes
   the layer every time, in turns with runs of the statement alone on asyncpg;
5. the statements alone: `app.city.queries.DENSITY`, and a reference that does what a first
   design would: the hexagons from `ST_HexagonGrid` over the service area, joined to the hives
   through their GiST index (`&&` and `ST_Intersects`), with DISTINCT ON per hive so that a
   hive on an edge counts once, then the same GeoJSON. Cold is a first run on a new
   connection; warm runs take turns with the app's requests (step 4).

It prints a table and rewrites the `<!-- bench:density -->` section of docs/benchmarks.md
(`--no-write` to leave it alone). Everything it starts, and the database, is gone afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    DOC,
    HOST,
    ROOT,
    Reply,
    Server,
    bench_database,
    busy,
    cookie_from,
    get,
    load_average,
    machine_facts,
    server,
    wait_ready,
    write_section,
)

BEGIN = "<!-- bench:density -->"
END = "<!-- /bench:density -->"
HIVES = 100_000
PATH = "/city/density.geojson"
PACKAGES = ("aiohttp", "asyncpg", "sqlalchemy", "structlog")


def positional(sql: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """`sql` with its :name parameters as asyncpg's $1, $2, ..., and the values in that order."""
    import re

    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", number, sql), [values[n] for n in names]


def join_reference() -> str:
    """The first design: ST_HexagonGrid's cells joined to the hives through the GiST index,
    each hive kept in one cell, then the app's own GeoJSON ending."""
    from app.city.queries import DENSITY, PUBLISH

    ending = DENSITY.text[DENSITY.text.index("    SELECT json_build_object(") :]
    cells = """
    WITH area AS (
        SELECT ST_MakeEnvelope(:west, :south, :east, :north, 4326) AS box
    ), cells AS MATERIALIZED (
        SELECT grid.i, grid.j,
               ST_SetSRID(ST_Scale(grid.geom, 1 / CAST(:kx AS float8), 1 / CAST(:ky AS float8)),
                          4326) AS geom
        FROM area, ST_HexagonGrid(CAST(:edge AS float8),
                                  ST_Scale(area.box, CAST(:kx AS float8), CAST(:ky AS float8)))
             AS grid
    ), placed AS (
        SELECT DISTINCT ON (hives.id) cells.i, cells.j, hives.owner_id
        FROM cells
        JOIN hives ON hives.location && cells.geom AND ST_Intersects(cells.geom, hives.location)
        WHERE hives.status = 'active' AND hives.location && (SELECT box FROM area)
        ORDER BY hives.id, cells.i, cells.j
    ), counted AS (
        SELECT i, j, NULL::float8 AS cx, NULL::float8 AS cy, count(*) AS colonies,
               count(DISTINCT owner_id) AS beekeepers
        FROM placed GROUP BY i, j
    ),"""
    return cells + PUBLISH + "\n" + ending


@dataclass
class Statement:
    label: str
    sql: str
    args: list[Any]
    cold_ms: list[float] = field(default_factory=list)
    warm_ms: list[float] = field(default_factory=list)
    body: str = ""


async def time_cold(database_url: str, statements: Sequence[Statement]) -> None:
    """Each statement's first run on a new connection, three times."""
    import asyncpg

    for _ in range(3):
        for statement in statements:
            connection = await asyncpg.connect(database_url)
            try:
                started = time.perf_counter()
                rows = await connection.fetch(statement.sql, *statement.args)
                statement.cold_ms.append((time.perf_counter() - started) * 1000)
                statement.body = rows[0][0]
            finally:
                await connection.close()


async def time_warm(
    database_url: str, statements: Sequence[Statement], app: Server, rounds: int
) -> list[float]:
    """Warm runs of each statement on its own connection, interleaved with requests to the
    app that makes the layer every time, so that the machine's ups and downs fall on all of
    them alike. Returns the app's milliseconds."""
    import asyncpg

    headers = visitor(app)
    connections = [await asyncpg.connect(database_url) for _ in statements]
    app_ms: list[float] = []
    try:
        timed_get(app.port, headers)
        for statement, connection in zip(statements, connections, strict=True):
            await connection.fetch(statement.sql, *statement.args)  # prepared, and run once
        for _ in range(rounds):
            app_ms.append(timed_get(app.port, headers)[0])
            for statement, connection in zip(statements, connections, strict=True):
                started = time.perf_counter()
                await connection.fetch(statement.sql, *statement.args)
                statement.warm_ms.append((time.perf_counter() - started) * 1000)
    finally:
        for connection in connections:
            await connection.close()
    return app_ms


@dataclass
class Setup:
    postgres: str
    postgis: str
    statements: list[Statement]
    hexagons: int
    counted: int  # hexagons with an exact count (4 or more beekeepers)
    active: int


async def prepare(database_url: str) -> Setup:
    import asyncpg
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.city.grid import HexGrid
    from app.city.queries import DENSITY
    from app.db import make_engine
    from app.seed import add_city_hives
    from app.settings import Settings

    engine = make_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        await add_city_hives(db, HIVES)
    await engine.dispose()
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("VACUUM (ANALYZE)")
        postgres = await connection.fetchval("SHOW server_version")
        postgis = await connection.fetchval("SELECT postgis_lib_version()")
        active = await connection.fetchval("SELECT count(*) FROM hives WHERE status = 'active'")
    finally:
        await connection.close()

    bounds = Settings().service_bounds
    values = {
        **HexGrid.for_area(bounds).parameters(),
        **dict(zip(("west", "south", "east", "north"), bounds, strict=True)),
    }
    statements = [
        Statement("the app's statement", *positional(DENSITY.text, values)),
        Statement(
            "ST_HexagonGrid joined through the GiST index", *positional(join_reference(), values)
        ),
    ]
    await time_cold(database_url, statements)
    app_cells, join_cells = (cells_of(s.body) for s in statements)
    if app_cells != join_cells:
        raise SystemExit("the app's hexagons differ from the spatial join's")
    counts = [count for count, _ in app_cells.values()]
    if any(count is not None and count < 3 for count in counts):
        raise SystemExit("a hexagon says fewer than 3 colonies")
    return Setup(
        postgres=postgres,
        postgis=postgis,
        statements=statements,
        hexagons=len(counts),
        counted=sum(count is not None for count in counts),
        active=active,
    )


def cells_of(body: str) -> dict[str, tuple[int | None, str]]:
    return {
        feature["id"]: (feature["properties"]["count"], feature["properties"]["band"])
        for feature in json.loads(body)["features"]
    }


# --- the app ------------------------------------------------------------------------------------


def app_env(database_url: str, cache_seconds: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        HOST=HOST,
        SECRET_KEY=secrets.token_urlsafe(36),
        DEMO_DATA="false",
        LOG_LEVEL="WARNING",
        DENSITY_CACHE_SECONDS=str(cache_seconds),
    )
    return env


def timed_get(port: int, headers: dict[str, str], path: str = PATH) -> tuple[float, Reply]:
    """One GET and its wall-clock milliseconds."""
    started = time.perf_counter()
    reply = get(port, headers, path, timeout=60)
    return (time.perf_counter() - started) * 1000, reply


@contextlib.contextmanager
def started_app(name: str, database_url: str, cache_seconds: int, logs: Path) -> Iterator[Server]:
    """The app, ready, without having touched the database (/health/live does not)."""
    command = [sys.executable, "-m", "app", "serve"]
    with server(name, command, app_env(database_url, cache_seconds), logs) as app:
        wait_ready([app], "/health/live")
        yield app


def visitor(app: Server) -> dict[str, str]:
    """A visitor's session cookie, from the map page (no database work)."""
    return {"Cookie": cookie_from(get(app.port, path="/city")) or ""}


@dataclass
class Report:
    machine: dict[str, str]
    setup: Setup
    cold_ms: list[float]  # the first request after a start
    second_ms: list[float]  # the one after it, from the app's cache
    cached_ms: list[float]  # warm, from the app's cache
    uncached_ms: list[float]  # warm, with DENSITY_CACHE_SECONDS=0: made every time
    live_ms: list[float]
    size: int
    cache_control: str
    requests: int
    seconds: float


def run(args: argparse.Namespace) -> Report:
    started = time.monotonic()
    machine = machine_facts(PACKAGES)
    with bench_database("cityhive_bench_density") as database_url:
        print(f"seeding {HIVES:,} hives and timing the statements ...", flush=True)
        setup = asyncio.run(prepare(database_url))
        expected = setup.statements[0].body.encode()
        cold: list[float] = []
        second: list[float] = []
        cached: list[float] = []
        live: list[float] = []
        with tempfile.TemporaryDirectory(prefix="bench-density-") as logs:
            for restart in range(args.restarts):
                with started_app(f"app-{restart}", database_url, 60, Path(logs)) as app:
                    headers = visitor(app)
                    ms, reply = timed_get(app.port, headers)
                    if reply.status != 200 or reply.body != expected:
                        raise SystemExit(f"{PATH}: {reply.status}, not the statement's body")
                    cold.append(ms)
                    second.append(timed_get(app.port, headers)[0])
                    print(f"[{restart + 1}/{args.restarts}] cold {ms:.0f} ms", flush=True)
                    if restart == args.restarts - 1:
                        size = len(reply.body)
                        cache_control = next(iter(reply.all("Cache-Control")), "")
                        for _ in range(args.requests):
                            cached.append(timed_get(app.port, headers)[0])
                            live.append(timed_get(app.port, headers, "/health/live")[0])
            with started_app("app-uncached", database_url, 0, Path(logs)) as app:
                print("warm: the app made every time, and the statements alone ...", flush=True)
                uncached = asyncio.run(
                    time_warm(database_url, setup.statements, app, args.requests)
                )
    machine["load average at the end"] = load_average()
    return Report(
        machine=machine,
        setup=setup,
        cold_ms=cold,
        second_ms=second,
        cached_ms=cached,
        uncached_ms=uncached,
        live_ms=live,
        size=size,
        cache_control=cache_control,
        requests=args.requests,
        seconds=time.monotonic() - started,
    )


# --- the report ---------------------------------------------------------------------------------


def p90(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def table(report: Report) -> list[str]:
    app_sql, join = report.setup.statements
    reference = median(app_sql.warm_ms)
    rows: list[tuple[str, float | None, Sequence[float]]] = [
        (f"CityHive, GET {PATH}, kept for 60 s", median(report.cold_ms), report.cached_ms),
        (f"CityHive, GET {PATH}, made every time", None, report.uncached_ms),
        (f"statement alone: {app_sql.label}", median(app_sql.cold_ms), app_sql.warm_ms),
        (f"statement alone: {join.label}", median(join.cold_ms), join.warm_ms),
        ("CityHive, GET /health/live (no database)", None, report.live_ms),
    ]
    lines = [
        "| target | cold | warm, median | warm, p90 | warm, ratio to the app's statement |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, cold, warm in rows:
        shown = "n/a" if cold is None else ms(cold)
        ratio = median(warm) / reference
        lines.append(f"| {label} | {shown} | {ms(median(warm))} | {ms(p90(warm))} | {ratio:.2f} |")
    return lines


def interpretation(report: Report) -> list[str]:
    app_sql, join = report.setup.statements
    statement = median(app_sql.warm_ms)
    cold, cached, uncached = (
        median(report.cold_ms),
        median(report.cached_ms),
        median(report.uncached_ms),
    )
    starts = ", ".join(f"{value:,.0f}" for value in report.cold_ms)
    return [
        f"- Cold: the first request after a start took {ms(cold)} (starts: {starts} ms), "
        f"{cold / statement:.2f}x the statement's warm time. The second took "
        f"{ms(median(report.second_ms))}: it came from the app's cache, as every request does "
        f"for the next 60 s ({ms(cached)} warm, {cached / median(report.live_ms):.1f}x an empty "
        "/health/live request).",
        f"- Made every time (DENSITY_CACHE_SECONDS=0), a warm request took {ms(uncached)}, "
        f"{uncached / statement:.2f}x the statement alone, measured in turns with it: "
        + (
            f"around the database's work, the app adds the request, the pool and "
            f"{report.size:,} bytes to send."
            if uncached > statement
            else "the app's own part (the request, the pool, "
            f"{report.size:,} bytes to send) was lost in the run-to-run differences."
        ),
        f"- Alone, the statement's first run on a new connection took "
        f"{median(app_sql.cold_ms) / statement:.2f}x its warm runs: "
        + (
            "loading PostGIS into a new backend and planning the statement cost more than the "
            "run-to-run differences."
            if median(app_sql.cold_ms) > p90(app_sql.warm_ms)
            else "loading PostGIS into a new backend and planning the statement were lost in "
            "the run-to-run differences (warm p90 "
            f"{ms(p90(app_sql.warm_ms))})."
        ),
        f"- The design: the spatial join over ST_HexagonGrid's cells took "
        f"{median(join.warm_ms) / statement:.2f}x the app's statement, for the same hexagons and "
        "counts (checked). It probes the GiST index once per cell and then sorts every hive to "
        f"keep each in one cell; the app's statement reads the {report.setup.active:,} hives once "
        "and puts each in its hexagon by arithmetic on its coordinates.",
    ]


def section(report: Report) -> str:
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    machine = {
        **report.machine,
        "PostgreSQL": f"{report.setup.postgres}, PostGIS {report.setup.postgis}",
    }
    facts = "\n".join(f"- {name}: {value}" for name, value in machine.items())
    setup = report.setup
    banded = setup.hexagons - setup.counted
    return "\n".join(
        [
            BEGIN,
            "## City density layer: the whole city at 100,000 hives, cold and warm",
            "",
            f"Measured {when} with `make bench` (`uv run --locked python bench/density.py`), "
            f"which wrote this section in {report.seconds:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            f"Data: {HIVES:,} hives of 12,500 generated beekeepers from "
            f"`app.seed.add_city_hives` ({setup.active:,} active) in a throwaway database, then "
            f"`VACUUM (ANALYZE)`. The layer for the whole service area has {setup.hexagons:,} "
            f'hexagons, {setup.counted:,} with a count and {banded:,} shown as "a few" (fewer '
            f"than 4 beekeepers); the answer "
            f"is {report.size:,} bytes, sent to a visitor with a session with "
            f"`Cache-Control: {report.cache_control}`.",
            "",
            "Cold: the app (`python -m app serve`, `LOG_LEVEL=WARNING`, the default "
            f"`DENSITY_CACHE_SECONDS=60`) was started {len(report.cold_ms)} times; each time a "
            "visitor's cookie came from `/city` (no database work) and the first "
            f"`GET {PATH}` was timed: an empty cache, a new pooled connection and so a new "
            "PostgreSQL backend. PostgreSQL's own buffers were warm throughout (the seeding had "
            "just read every hive, and the shared cluster is not restarted for a benchmark). "
            f"Warm: {report.requests} sequential requests to the last of those servers, and as "
            "many to one started with `DENSITY_CACHE_SECONDS=0`, in turns with runs of each "
            "statement alone on asyncpg (one connection each; prepared, so after five runs "
            "PostgreSQL may use a generic plan, as for the app's pooled connections). Cold for "
            "a statement alone is its first run on a new connection (median of 3). Wall-clock "
            "times, one request at a time, on loopback.",
            "",
            *table(report),
            "",
            *interpretation(report),
            END,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--restarts", type=int, default=5, help="server starts for cold requests")
    parser.add_argument("--requests", type=int, default=30, help="warm requests and statement runs")
    parser.add_argument("--doc", type=Path, default=DOC, help="the results file to update")
    parser.add_argument("--no-write", action="store_true", help="leave the results file alone")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    with contextlib.suppress(ValueError):
        import signal

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run(args)
    print("\n" + "\n".join([*table(report), "", *interpretation(report)]))
    if not args.no_write:
        write_section(section(report), BEGIN, END, args.doc)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

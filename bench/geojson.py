"""The map's GeoJSON: CityHive's endpoint against bare aiohttp + asyncpg running the same SQL.

    make bench        # also runs bench/home_page.py
    uv run --locked python bench/geojson.py

The target (from the issue): with 100,000 hives seeded, GET /hives.geojson for a bounding box
holding about 10,000 hives serves at least 0.8x the requests per second of a bare aiohttp +
asyncpg handler running the same SQL, measured in the same run. One run, loopback only, about
three minutes with the defaults:

1. a throwaway database migrated to head (see bench/_common.py), one beekeeper account with a
   known password, 100,000 Berlin hives from `app.seed.add_city_hives`, all of them given to
   that account (the worst case for the owner filter: one association holding the whole city),
   then VACUUM (ANALYZE); a box around Kreuzberg grown or shrunk until it holds about 10,000;
2. the real app, `python -m app serve` with MAP_FEATURE_CAP=20000 (so nothing is cut), at
   LOG_LEVEL=WARNING and at LOG_LEVEL=INFO, logged in through its own /login form;
3. a bare aiohttp server (this file, `bare-server`) with two handlers: /sql runs exactly
   `app.hives.queries.GEOJSON` on an asyncpg pool (its named parameters turned into $1..$6,
   all rows fetched at once as SQLAlchemy does) and sends the text on; /orm selects the same
   hives as ORM rows through SQLAlchemy and builds the same FeatureCollection in Python;
4. checks before measuring: the app answers 200 application/geo+json with every hive in the
   box and `truncated: false`; /sql sends the app's body byte for byte; /orm's parses equal;
5. wrk against each target: a warm-up, then `--rounds` interleaved rounds. Each run also reads
   from /proc the CPU time of the server process and of the PostgreSQL backends serving it,
   waiting before and after for both to be idle (wrk stops with slow requests in flight).

It prints a table and rewrites the `<!-- bench:geojson -->` section of docs/benchmarks.md
(`--no-write` to leave it alone). Everything it starts, and the database, is gone afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import (
    HOST,
    ROOT,
    Load,
    Reply,
    Server,
    Target,
    bench_database,
    busy,
    cookie_from,
    get,
    interleaved,
    load_arguments,
    load_average,
    machine_facts,
    measure_and_report,
    process_cpu_seconds,
    request,
    server,
    wait_ready,
)

BEGIN = "<!-- bench:geojson -->"
END = "<!-- /bench:geojson -->"
GEOJSON_TYPE = "application/geo+json"
HIVES = 100_000
WANTED = 10_000  # hives in the bounding box
CLOSE_ENOUGH = (9_900, 10_100)  # stop searching inside this
ACCEPTABLE = (9_000, 11_000)
CAP = 20_000  # MAP_FEATURE_CAP for the run: above WANTED, so nothing is cut
TARGET_RATIO = 0.8
EMAIL = "association@bench.example"
PASSWORD = secrets.token_urlsafe(12)  # this run's account only
# The middle of tests/unit/test_geojson.py's KREUZBERG box, and its shape (2:1 in degrees).
CENTRE = (13.405, 52.4975)
ASPECT = 0.5
LEVELS = ("WARNING", "INFO")
PACKAGES = ("aiohttp", "asyncpg", "sqlalchemy", "geoalchemy2", "structlog")
DSN_VARIABLE = "BENCH_DATABASE_URL"  # how the bare server learns the database (not argv)


# --- the bare references ----------------------------------------------------------------------


def positional(sql: str) -> tuple[str, list[str]]:
    """`sql` with its :name parameters as asyncpg's $1, $2, ... (one number per name, in order of
    first use), and the names in that order. `::type` casts are left alone."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", number, sql), names


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    west, south, east, north = (float(part) for part in text.split(","))
    return west, south, east, north


def serve_bare(port: int, owner_id: int, cap: int) -> None:
    """/sql: the app's GeoJSON statement on a plain asyncpg pool. /orm: the same hives as ORM
    rows, the FeatureCollection built in Python. Both read ?bbox=west,south,east,north."""
    import asyncpg
    from aiohttp import web
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.db import make_engine
    from app.hives.queries import GEOJSON

    dsn = os.environ[DSN_VARIABLE]
    answered = {"sql": 0, "orm": 0}  # requests answered, for CPU per request
    # The last /orm requests' milliseconds in select + ORM rows, building the dicts, json.dumps
    phases: deque[list[float]] = deque(maxlen=3)
    sql, names = positional(GEOJSON.text)
    pool_key = web.AppKey("pool", asyncpg.Pool)
    sessions_key = web.AppKey("sessions", async_sessionmaker)

    async def connections(app: web.Application) -> AsyncIterator[None]:
        # Opened as needed, up to the app's SQLAlchemy pool (app.db.make_engine: 10 + 10).
        app[pool_key] = await asyncpg.create_pool(dsn, min_size=1, max_size=20)
        engine = make_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
        app[sessions_key] = async_sessionmaker(engine, expire_on_commit=False)
        yield
        await app[pool_key].close()
        await engine.dispose()

    async def by_sql(request: web.Request) -> web.Response:
        west, south, east, north = parse_bbox(request.query["bbox"])
        values = {"owner_id": owner_id, "cap": cap, "west": west, "south": south}
        values |= {"east": east, "north": north}
        # fetch, not fetchval: all rows at once, as SQLAlchemy's asyncpg dialect asks for them.
        # (fetchval asks for one row at a time, and PostgreSQL then runs no parallel workers.)
        rows = await request.app[pool_key].fetch(sql, *(values[n] for n in names))
        collection = rows[0][0]
        answered["sql"] += 1
        return web.Response(text=collection, content_type=GEOJSON_TYPE)

    async def by_orm(request: web.Request) -> web.Response:
        selection = orm_selection(owner_id, Bbox(*parse_bbox(request.query["bbox"])), cap)
        started = time.perf_counter()
        async with request.app[sessions_key]() as db:
            rows = (await db.execute(selection)).all()
        selected = time.perf_counter()
        features = [
            {
                "type": "Feature",
                "id": hive.id,
                "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
                "properties": {"name": hive.name, "site": hive.site, "status": hive.status.value},
            }
            for hive, x, y in rows[:cap]
        ]
        collection = {
            "type": "FeatureCollection",
            "features": features,
            "numberReturned": len(features),
            "truncated": len(rows) > cap,
        }
        built = time.perf_counter()
        body = json.dumps(collection)
        dumped = time.perf_counter()
        answered["orm"] += 1
        phases.append(
            [(b - a) * 1000 for a, b in [(started, selected), (selected, built), (built, dumped)]]
        )
        return web.Response(text=body, content_type=GEOJSON_TYPE)

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def count(request: web.Request) -> web.Response:
        return web.json_response({**answered, "orm_phases_ms": list(phases)})

    app = web.Application()
    app.cleanup_ctx.append(connections)
    app.router.add_get("/sql", by_sql)
    app.router.add_get("/orm", by_orm)
    app.router.add_get("/ready", ready)
    app.router.add_get("/count", count)
    web.run_app(app, host=HOST, port=port, access_log=None, print=None)


# --- the database -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bbox:
    west: float
    south: float
    east: float
    north: float

    @property
    def query(self) -> str:
        return f"{self.west},{self.south},{self.east},{self.north}"

    @staticmethod
    def around(centre: tuple[float, float], half_width: float) -> Bbox:
        lon, lat = centre
        half_height = half_width * ASPECT
        return Bbox(
            round(lon - half_width, 4),
            round(lat - half_height, 4),
            round(lon + half_width, 4),
            round(lat + half_height, 4),
        )


@dataclass(frozen=True)
class Plan:
    """PostgreSQL's plan for a prepared statement: EXPLAIN ANALYZE EXECUTE, median of 3."""

    ms: float
    index: bool  # uses ix_hives_location
    workers: int  # parallel workers launched

    @property
    def said(self) -> str:
        how = "the GiST index" if self.index else "no index, a sequential scan"
        if self.workers:
            how += f" with {self.workers} parallel workers"
        return f"{self.ms:,.0f} ms ({how})"


@dataclass
class Setup:
    owner_id: int
    bbox: Bbox
    inside: int  # hives in the bbox
    searched: int  # boxes tried
    postgres: str
    postgis: str
    plans: dict[str, Plan]  # "sql" or "orm", "-custom" or "-generic"
    plan_counts: tuple[int, int]  # custom and generic plans after PREPARED_RUNS executions
    fetching_ms: dict[str, float]  # PostgreSQL CPU per generic run: "fetch", "fetchval"
    sql_matches_sqlalchemy: bool  # our $n statement is the one SQLAlchemy sends


PREPARED_RUNS = 8  # executions of the prepared statement, to see which plan PostgreSQL settles on
FETCH_RUNS = 10  # executions for PostgreSQL's CPU per run, fetching all rows or one at a time


def orm_selection(owner_id: int, bbox: Bbox, cap: int) -> Any:
    """What /orm selects: the ORM rows of the owner's hives in the box, by id, capped."""
    from sqlalchemy import func, select

    from app.models import Hive

    envelope = func.ST_MakeEnvelope(bbox.west, bbox.south, bbox.east, bbox.north, 4326)
    return (
        select(Hive, func.ST_X(Hive.location), func.ST_Y(Hive.location))
        .where(Hive.owner_id == owner_id, Hive.location.op("&&")(envelope))
        .order_by(Hive.id)
        .limit(cap + 1)
    )


async def explain(connection: Any, sql: str, args: Sequence[Any]) -> dict[str, Plan]:
    """The statement's custom plan (planned for these values) and generic plan (for any), as
    PostgreSQL chooses between them for a prepared statement, such as asyncpg's."""
    literals = ", ".join(repr(arg) for arg in args)  # numbers only
    plans = {}
    for kind in ("custom", "generic"):
        await connection.execute(f"SET plan_cache_mode = force_{kind}_plan")
        await connection.execute(f"PREPARE bench_plan AS {sql}")
        times, text = [], ""
        for _ in range(3):
            rows = await connection.fetch(f"EXPLAIN (ANALYZE) EXECUTE bench_plan({literals})")
            text = "\n".join(row[0] for row in rows)
            found = re.search(r"Execution Time: ([\d.]+) ms", text)
            times.append(float(found.group(1)) if found else float("nan"))
        workers = re.search(r"Workers Launched: (\d+)", text)
        plans[kind] = Plan(
            statistics.median(times),
            "ix_hives_location" in text,
            int(workers.group(1)) if workers else 0,
        )
        await connection.execute("DEALLOCATE bench_plan")
    await connection.execute("RESET plan_cache_mode")
    return plans


async def prepare(database_url: str) -> Setup:
    """The account, the city's hives given to it, the bounding box, the plans."""
    import asyncpg
    from sqlalchemy import func, select, text
    from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.accounts.passwords import hash_password
    from app.db import make_engine
    from app.hives.queries import GEOJSON
    from app.models import Hive, User
    from app.seed import add_city_hives

    engine = make_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    connection = await asyncpg.connect(database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as db:
            user = User(
                name="City beekeeping association",
                email=EMAIL,
                password_hash=await hash_password(PASSWORD),
            )
            db.add(user)
            await db.commit()
            await add_city_hives(db, HIVES)
            await db.execute(text("UPDATE hives SET owner_id = :owner"), {"owner": user.id})
            await db.commit()
        # Not just ANALYZE: the UPDATE left a dead row per hive, which autovacuum would
        # otherwise clean up in the middle of the measurements.
        await connection.execute("VACUUM (ANALYZE)")

        async with async_sessionmaker(engine, expire_on_commit=False)() as db:

            async def inside(box: Bbox) -> int:
                envelope = func.ST_MakeEnvelope(box.west, box.south, box.east, box.north, 4326)
                counting = select(func.count()).where(
                    Hive.owner_id == user.id, Hive.location.op("&&")(envelope)
                )
                return int(await db.scalar(counting) or 0)

            # Bisect the half-width (degrees of longitude) of a box centred on Kreuzberg.
            low, high, searched = 0.001, 0.5, 0
            while True:
                searched += 1
                box = Bbox.around(CENTRE, (low + high) / 2)
                count = await inside(box)
                if CLOSE_ENOUGH[0] <= count <= CLOSE_ENOUGH[1] or searched >= 30:
                    break
                low, high = (low, (low + high) / 2) if count > WANTED else ((low + high) / 2, high)
            if not ACCEPTABLE[0] <= count <= ACCEPTABLE[1]:
                raise SystemExit(f"no box near {WANTED:,} hives: {box} holds {count:,}")

        values = {"owner_id": user.id, "cap": CAP, **box.__dict__}
        sql, names = positional(GEOJSON.text)
        args = [values[name] for name in names]
        dialect = asyncpg_dialect.dialect()
        orm = orm_selection(user.id, box, CAP).compile(dialect=dialect)
        orm_args = [orm.params[name] for name in orm.positiontup or []]
        plans = {
            f"{statement}-{kind}": plan
            for statement, found in [
                ("sql", await explain(connection, sql, args)),
                ("orm", await explain(connection, orm.string, orm_args)),
            ]
            for kind, plan in found.items()
        }
        # What PostgreSQL does with the statement prepared once and run again and again, as
        # asyncpg and SQLAlchemy's asyncpg dialect run it (each keeps it prepared per connection).
        prepared = await connection.prepare(sql)
        for _ in range(PREPARED_RUNS):
            await prepared.fetch(*args)
        counts = await connection.fetchrow(
            "SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE name = $1",
            prepared.get_name(),
        )
        # Now on the generic plan: PostgreSQL's CPU per run when the client asks for all rows
        # at once (asyncpg's fetch, SQLAlchemy) and when it asks for one (asyncpg's fetchval).
        own = await connection.fetchval("SELECT pg_backend_pid()")
        fetching: dict[str, float] = {}
        for way, run_it in (("fetch", prepared.fetch), ("fetchval", prepared.fetchval)):
            before = postgres_cpu([own])
            for _ in range(FETCH_RUNS):
                await run_it(*args)
            after = postgres_cpu([own])
            if before is not None and after is not None:
                fetching[way] = (after - before) / FETCH_RUNS * 1000
        return Setup(
            owner_id=user.id,
            bbox=box,
            inside=count,
            searched=searched,
            postgres=str(await connection.fetchval("SHOW server_version")).split()[0],
            postgis=str(await connection.fetchval("SELECT postgis_lib_version()")),
            plans=plans,
            plan_counts=(counts["custom_plans"], counts["generic_plans"]),
            fetching_ms=fetching,
            sql_matches_sqlalchemy=sql == GEOJSON.compile(dialect=dialect).string,
        )
    finally:
        await connection.close()
        await engine.dispose()


def stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after "pid (comm)": state, ppid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def postgres_cpu(backends: Sequence[int]) -> float | None:
    """CPU seconds so far of these PostgreSQL backends (the first one alive), plus the
    postmaster's own time and the time of its children that have exited, which is where the
    short-lived parallel workers' time ends up (and, alas, that of any other database's
    connections that close meanwhile). None if they are not on this machine."""
    try:
        postmaster = int(stat(backends[0])[1])  # the parent
        for pid in (backends[0], postmaster):
            if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                return None
        total = 0.0
        for pid in backends:
            with contextlib.suppress(OSError):  # gone meanwhile: its time is the postmaster's
                total += process_cpu_seconds(pid)
        # utime, stime, cutime, cstime: the 14th to 17th fields of /proc/PID/stat
        ticks = sum(int(field) for field in stat(postmaster)[11:15])
    except (OSError, IndexError, ValueError):
        return None
    return total + ticks / os.sysconf("SC_CLK_TCK")


class DatabaseCpu:
    """CPU seconds so far of PostgreSQL's work for the bench database (see postgres_cpu): its
    backends are found in pg_stat_activity, the postmaster through this connection's."""

    def __init__(self, runner: asyncio.Runner, database_url: str) -> None:
        import asyncpg

        self.runner = runner
        self.connection = runner.run(asyncpg.connect(database_url))
        self.own = runner.run(self.connection.fetchval("SELECT pg_backend_pid()"))
        self.works = postgres_cpu([self.own]) is not None

    def pids(self) -> list[int]:
        query = (
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row["pid"] for row in self.runner.run(self.connection.fetch(query))]

    def __call__(self) -> float:
        # This connection's backend leads (it finds the postmaster); its few queries count too.
        total = postgres_cpu([self.own, *self.pids()]) if self.works else None
        if total is None:
            self.works = False
            return float("nan")
        return total

    def others(self) -> int:
        """Connections to other databases on the same server (whose exits would blur this)."""
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND datname IS DISTINCT FROM current_database()"
        )
        return int(self.runner.run(self.connection.fetchval(query)))

    def active(self) -> int:
        """Statements running in the bench database, other than this connection's."""
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND pid <> pg_backend_pid()"
        )
        return int(self.runner.run(self.connection.fetchval(query)))

    def close(self) -> None:
        self.runner.run(self.connection.close())


def settle(server: Server, database: DatabaseCpu, timeout: float = 120) -> None:
    """Wait until the server and the database have finished what wrk left in flight: no
    statement running and the server's CPU time still for 0.3 s."""
    deadline = time.monotonic() + timeout
    cpu = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = server.cpu_seconds()
        if now - cpu <= 0.01 and database.active() == 0:
            return
        cpu = now
    raise SystemExit(f"{server.name} still busy {timeout:.0f} s after wrk stopped")


def app_answered(app: Server) -> int:
    """GeoJSON requests the app has answered, from its Prometheus counter (/metrics)."""
    text = get(app.port, path="/metrics").body.decode()
    samples = re.findall(
        r'^cityhive_http_requests_total\{[^}]*route="hives_geojson"[^}]*\} ([\d.e+]+)$', text, re.M
    )
    return int(sum(float(sample) for sample in samples))


def bare_answered(bare: Server, handler: str) -> int:
    return int(json.loads(get(bare.port, path="/count").body)[handler])


# --- the run ----------------------------------------------------------------------------------


def app_env(database_url: str, log_level: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        HOST=HOST,
        SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        DEMO_DATA="false",
        LOG_LEVEL=log_level,
        MAP_FEATURE_CAP=str(CAP),
    )
    return env


def log_in(app: Server) -> str:
    """Log in through the app's own form; the session cookie of the signed-in user."""
    page = get(app.port, path="/login")
    cookie = cookie_from(page)
    token = re.search(rb'name="_csrf" value="([^"]+)"', page.body)
    if page.status != 200 or token is None:
        raise SystemExit(f"{app.name}: GET /login gave no form with a CSRF token")
    form = {"email": EMAIL, "password": PASSWORD, "_csrf": token.group(1).decode()}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie is not None:  # a visitor without a session has none (a stateless CSRF token)
        headers["Cookie"] = cookie
    reply = request(app.port, "POST", "/login", headers, urlencode(form).encode(), timeout=30)
    signed_in = cookie_from(reply)
    if reply.status != 303 or signed_in is None:
        raise SystemExit(f"{app.name}: POST /login answered {reply.status}: {reply.body[:300]!r}")
    return signed_in


def check_targets(
    apps: Mapping[str, Server], cookies: Mapping[str, str], bare: Server, setup: Setup
) -> Reply:
    """What every target answers is right and the same; returns the app's reply."""
    path = f"/hives.geojson?bbox={setup.bbox.query}"
    replies = {
        level: get(app.port, {"Cookie": cookies[level]}, path, 60) for level, app in apps.items()
    }
    reply = replies[LEVELS[0]]
    for level, each in replies.items():
        if each.status != 200 or not (each.content_type or "").startswith(GEOJSON_TYPE):
            raise SystemExit(
                f"app at {level}: {each.status} {each.content_type}: {each.body[:300]!r}"
            )
        if each.body != reply.body:
            raise SystemExit(f"the app at {level} and at {LEVELS[0]} answered differently")
    collection = json.loads(reply.body)
    features = len(collection["features"])
    said = (collection["numberReturned"], collection["truncated"])
    if features != setup.inside or said != (setup.inside, False):
        raise SystemExit(
            f"the app sent {features:,} features, numberReturned and truncated {said}, "
            f"for {setup.inside:,} hives in the box"
        )
    sql = get(bare.port, path=f"/sql?bbox={setup.bbox.query}", timeout=60)
    if (sql.status, sql.content_type, sql.body) != (200, reply.content_type, reply.body):
        raise SystemExit(
            f"/sql is not the app's answer: {sql.status} {sql.content_type}, "
            f"{len(sql.body):,} bytes against {len(reply.body):,}"
        )
    orm = get(bare.port, path=f"/orm?bbox={setup.bbox.query}", timeout=60)
    if orm.status != 200 or orm.content_type != reply.content_type:
        raise SystemExit(f"/orm answered {orm.status} {orm.content_type}: {orm.body[:300]!r}")
    built = json.loads(orm.body)
    if built != collection:
        differing = [
            (a.get("id"), b.get("id"))
            for a, b in zip(built["features"], collection["features"], strict=False)
            if a != b
        ]
        raise SystemExit(
            f"/orm's FeatureCollection is not the app's: {len(built['features']):,} features "
            f"against {features:,}, {len(differing):,} differ, first {differing[:3]}"
        )
    return reply


def alone_ms(target: Target, times: int = 3) -> float:
    """The median time that one request takes when it is the only one."""
    each = []
    for _ in range(times):
        started = time.perf_counter()
        reply = get(target.server.port, target.headers, target.path, timeout=60)
        each.append((time.perf_counter() - started) * 1000)
        if reply.status != 200:
            raise SystemExit(f"{target.label}: {reply.status}")
    return statistics.median(each)


@dataclass
class Report:
    load: Load
    targets: list[Target]
    setup: Setup
    sizes: dict[str, int]  # bytes of the body: app (== sql), orm
    alone_ms: dict[str, float]  # by target: the median time of one request with none other
    orm_phases_ms: list[float]  # alone, /orm's select + ORM rows, dicts, json.dumps (medians)
    db_cpu: bool  # whether PostgreSQL's CPU was measured
    other_connections: tuple[int, int]  # to other databases on the server, before and after
    machine: dict[str, str]
    seconds: float = 0.0

    def target(self, key: str) -> Target:
        return next(t for t in self.targets if t.key == key)

    def ratio(self, key: str) -> float:
        return self.target(key).rps / self.target("sql").rps


def plan(
    bare: Server,
    apps: Mapping[str, Server],
    cookies: Mapping[str, str],
    bbox: Bbox,
    database: DatabaseCpu,
) -> list[Target]:
    query = f"?bbox={bbox.query}"

    def target(key: str, label: str, on: Server, path: str, headers: dict[str, str]) -> Target:
        return Target(
            key,
            label,
            "geojson",
            on,
            headers,
            None if key == "sql" else "sql",
            path + query,
            settle=lambda: settle(on, database),
            answered=(lambda: bare_answered(on, key)) if on is bare else (lambda: app_answered(on)),
        )

    return [
        target("sql", "bare aiohttp + asyncpg, same SQL", bare, "/sql", {}),
        *(
            target(
                f"app-{level}",
                f"CityHive, {level}",
                apps[level],
                "/hives.geojson",
                {"Cookie": cookies[level]},
            )
            for level in LEVELS
        ),
        target("orm", "bare aiohttp, ORM rows + json.dumps", bare, "/orm", {}),
    ]


def run(load: Load) -> Report:
    """Set up, warm up, measure every target `load.rounds` times, tear down."""
    started = time.monotonic()
    machine = machine_facts(PACKAGES)
    logs = Path(tempfile.mkdtemp(prefix="cityhive-bench-geojson-"))
    try:
        with contextlib.ExitStack() as stack:
            print("database: a throwaway database, migrated ...", flush=True)
            database_url = stack.enter_context(bench_database("cityhive_bench_geojson"))
            runner = stack.enter_context(asyncio.Runner())
            print(f"seeding {HIVES:,} hives for one account, finding a box ...", flush=True)
            setup = runner.run(prepare(database_url))
            print(
                f"  bbox={setup.bbox.query}: {setup.inside:,} hives ({setup.searched} boxes "
                f"tried). PostgreSQL alone: the app's statement {setup.plans['sql-custom'].said} "
                f"with a custom plan, {setup.plans['sql-generic'].said} with the generic plan "
                f"(custom, generic plans after {PREPARED_RUNS} runs: {setup.plan_counts}); "
                f"the ORM select {setup.plans['orm-custom'].said}, generic "
                f"{setup.plans['orm-generic'].said}; PostgreSQL CPU per generic run: "
                + ", ".join(f"{way} {ms:,.0f} ms" for way, ms in setup.fetching_ms.items()),
                flush=True,
            )
            db_cpu = DatabaseCpu(runner, database_url)
            stack.callback(db_cpu.close)

            print("app: python -m app serve at LOG_LEVEL=WARNING and INFO ...", flush=True)
            command = [sys.executable, "-m", "app", "serve"]
            apps = {
                level: stack.enter_context(
                    server(f"app-{level}", command, app_env(database_url, level), logs)
                )
                for level in LEVELS
            }
            bare_command = [sys.executable, __file__, "bare-server", "--port", "{port}"]
            bare_command += ["--owner", str(setup.owner_id), "--cap", str(CAP)]
            bare_env = {**os.environ, DSN_VARIABLE: database_url}
            bare = stack.enter_context(server("bare", bare_command, bare_env, logs))
            wait_ready(list(apps.values()), "/health/ready")
            wait_ready([bare], "/ready")
            cookies = {level: log_in(app) for level, app in apps.items()}
            reply = check_targets(apps, cookies, bare, setup)
            orm_size = len(get(bare.port, path=f"/orm?bbox={setup.bbox.query}", timeout=60).body)
            print(
                f"  checked: {setup.inside:,} features, {len(reply.body):,} bytes, /sql byte "
                "for byte the app's, /orm parses equal",
                flush=True,
            )

            targets = plan(bare, apps, cookies, setup.bbox, db_cpu)
            others = [db_cpu.others()]
            interleaved(targets, load, db_cpu, width=40, extra_name="PostgreSQL")
            others.append(db_cpu.others())
            alone = {target.key: alone_ms(target) for target in targets}
            print(
                "one request alone: "
                + ", ".join(f"{t.label} {alone[t.key]:,.0f} ms" for t in targets),
                flush=True,
            )
            phases = json.loads(get(bare.port, path="/count").body)["orm_phases_ms"]
            return Report(
                load=load,
                targets=targets,
                setup=setup,
                sizes={"app": len(reply.body), "orm": orm_size},
                alone_ms=alone,
                orm_phases_ms=[statistics.median(each) for each in zip(*phases, strict=True)],
                db_cpu=db_cpu.works,
                other_connections=(others[0], others[1]),
                machine=machine,
                seconds=time.monotonic() - started,
            )
    finally:
        shutil.rmtree(logs, ignore_errors=True)
        machine["load average at the end"] = load_average()


# --- the report -------------------------------------------------------------------------------


def table(report: Report) -> list[str]:
    lines = [
        "| target | req/s | ratio to bare SQL | p50 | p99 | one request alone "
        "| server CPU per request | PostgreSQL CPU per request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in report.targets:
        known = report.db_cpu and t.extra_cpu_us is not None
        database = f"{(t.extra_cpu_us or 0) / 1000:,.1f} ms" if known else "n/a"
        lines.append(
            f"| {t.label} | {t.rps:,.1f} | {report.ratio(t.key):.2f} | {t.p50:,.0f} ms "
            f"| {t.p99:,.0f} ms | {report.alone_ms[t.key]:,.0f} ms | {t.cpu_us / 1000:,.1f} ms "
            f"| {database} |"
        )
    return lines


def round_ratios(report: Report, key: str) -> list[float]:
    """`key`'s req/s over the bare SQL handler's, round by round."""
    pairs = zip(report.target(key).runs, report.target("sql").runs, strict=True)
    return [a.requests_per_second / b.requests_per_second for a, b in pairs]


def fetching(setup: Setup) -> str:
    """What asking for all rows at once, or for one, costs PostgreSQL on the generic plan."""
    if set(setup.fetching_ms) != {"fetch", "fetchval"}:
        return ""
    return (
        " Its parallel workers only start when the client asks for all rows at once, as "
        "SQLAlchemy does (and the bare handler, with asyncpg's `fetch`): run one after the "
        f"other that costs PostgreSQL {setup.fetching_ms['fetch']:,.0f} ms of CPU per run, "
        f"against {setup.fetching_ms['fetchval']:,.0f} ms with asyncpg's `fetchval`, which "
        "asks for one row (a row limit, so no workers)."
    )


def interpretation(report: Report) -> list[str]:
    """What the run says, computed from it."""
    sql, orm = report.target("sql"), report.target("orm")
    apps = {level: report.target(f"app-{level}") for level in LEVELS}
    ratios = {level: report.ratio(f"app-{level}") for level in LEVELS}
    met = all(r >= TARGET_RATIO for r in ratios.values())
    said = f"{ratios['WARNING']:.2f} (WARNING) and {ratios['INFO']:.2f} (INFO)"
    verdict = (
        f"- Target met: the app serves {said} of the bare SQL handler's requests per second, "
        f"at least the {TARGET_RATIO} the issue asks for."
        if met
        else f"- Target not met: the app serves {said} of the bare SQL handler's requests per "
        f"second, where the issue asks for at least {TARGET_RATIO}."
    )
    if report.load.rounds > 1:
        each = [r for level in LEVELS for r in round_ratios(report, f"app-{level}")]
        verdict += f" Round by round the ratio ranged from {min(each):.2f} to {max(each):.2f}."
    lines = [verdict]
    app_cpu = statistics.fmean(a.cpu_us for a in apps.values())

    def capacity(level: str) -> str:
        """The bare handler's server + database CPU per request over the app's at `level`."""
        app = apps[level]
        bare = sql.cpu_us + (sql.extra_cpu_us or 0)
        return f"{bare / (app.cpu_us + (app.extra_cpu_us or 0)):.2f}"

    database = [sql.extra_cpu_us, *(a.extra_cpu_us for a in apps.values())]
    if report.db_cpu and all(d is not None for d in database):
        lines.append(
            f"- Both are bound by PostgreSQL, which spends "
            f"{statistics.fmean(d or 0 for d in database) / 1000:,.0f} ms of CPU per request "
            f"building the {report.sizes['app'] / 1e6:.1f} MB of JSON, against "
            f"{sql.cpu_us / 1000:,.1f} ms in the bare server process and "
            f"{apps['WARNING'].cpu_us / 1000:,.1f} ms (WARNING) and "
            f"{apps['INFO'].cpu_us / 1000:,.1f} ms (INFO) in the app's. The app's middleware "
            f"stack, session, current-user query and log line add about "
            f"{(app_cpu - sql.cpu_us) / 1000:,.1f} ms to the server's part. Server and database "
            f"CPU together, the bare handler's per request over the app's is "
            f"{capacity('WARNING')} (WARNING) and {capacity('INFO')} (INFO): the req/s ratio "
            "to expect when CPU is the limit, and steadier on a shared machine than req/s."
        )
    custom, generic = report.setup.plans["sql-custom"], report.setup.plans["sql-generic"]
    if report.setup.plan_counts[1] and not generic.index:
        lines.append(
            "- Both run the statement prepared (asyncpg, and SQLAlchemy's asyncpg dialect, keep "
            "it prepared per connection), so after five runs on a connection PostgreSQL "
            "switches to its generic plan, planned without the parameters' values. That plan "
            "cannot use the GiST index, because of the `CAST(:west AS float8) IS NULL OR` "
            f"branch for a missing bbox: alone it takes {generic.said}, against "
            f"{custom.said} for the custom plan. The measurements above are all with the "
            "generic plan." + fetching(report.setup)
        )
    else:
        lines.append(
            f"- Server CPU per request: bare SQL {sql.cpu_us / 1000:,.1f} ms, the app "
            f"{apps['WARNING'].cpu_us / 1000:,.1f} ms (WARNING) and "
            f"{apps['INFO'].cpu_us / 1000:,.1f} ms (INFO)."
        )
    select_ms, build_ms, dump_ms = report.orm_phases_ms
    moved = (
        f"It moves the work out of PostgreSQL ({(orm.extra_cpu_us or 0) / 1000:,.0f} ms of "
        f"backend CPU per request) into the Python process ({orm.cpu_us / 1000:,.0f} ms). "
        if report.db_cpu and orm.extra_cpu_us is not None
        else f"It costs {orm.cpu_us / 1000:,.0f} ms of server CPU per request. "
    )
    lines.append(
        f"- Built in Python from ORM rows, the same FeatureCollection serves "
        f"{report.ratio('orm'):.2f} of the bare SQL handler's requests per second. {moved}"
        f"One request alone spent {select_ms:,.0f} ms in the session (`execute(...).all()` "
        f"and closing it: the query and {report.setup.inside:,} `Hive` objects, of which "
        f"PostgreSQL's part is about {report.setup.plans['orm-generic'].ms:,.0f} ms), "
        f"{build_ms:,.0f} ms building the dicts and "
        f"{dump_ms:,.0f} ms in `json.dumps`."
        + (
            f" With {report.load.connections} requests in flight its median latency is "
            f"{orm.p50 / 1000:,.1f} s: each request's row loading runs on the event loop in one "
            "synchronous piece, so every request waits for the others'."
            if orm.p50
            else ""
        )
    )
    fewest = min(r.requests for r in orm.runs)
    if report.load.rounds > 1:
        cpu = max(t.cpu_spread / t.cpu_us for t in report.targets)
        rps = max(
            (max(each) - min(each)) / t.rps
            for t in report.targets
            if (each := [r.requests_per_second for r in t.runs])
        )
        noise = (
            f"- The rounds of one target differed by up to {cpu:.0%} of its median server CPU "
            f"per request and {rps:.0%} of its median req/s: differences smaller than that "
            "may be noise."
        )
    else:
        noise = "- One round only: this run says nothing about its own noise."
    if fewest < 20:
        noise += (
            f" The ORM handler completed as few as {fewest} requests in a "
            f"{report.load.duration} s run, so its req/s and latencies are coarse."
        )
    lines.append(noise)
    return lines


def section(report: Report) -> str:
    load, setup = report.load, report.setup
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    machine = {
        **report.machine,
        "PostgreSQL": f"{setup.postgres}, PostGIS {setup.postgis}",
    }
    facts = "\n".join(f"- {name}: {value}" for name, value in machine.items())
    rounds = "; ".join(
        f"{t.label} " + ", ".join(f"{r.requests_per_second:,.1f} ({r.requests})" for r in t.runs)
        for t in report.targets
    )
    errors = sum(r.errors for t in report.targets for r in t.runs)
    box = setup.bbox
    plans = setup.plans
    custom, generic = setup.plan_counts
    warmups = ", ".join(f"{t.label} {t.warmup_requests}" for t in report.targets)
    enough = all(
        t.warmup_requests >= 6 * load.connections for t in report.targets if t.key != "orm"
    )
    others = (
        f" Other databases on the same PostgreSQL server had {report.other_connections[0]} "
        f"and {report.other_connections[1]} connections at the start and the end of the "
        "measurements: their exits, if any, count in the PostgreSQL CPU."
        if any(report.other_connections)
        else ""
    )
    same_sql = (
        "it is the very text SQLAlchemy's asyncpg dialect sends for the app"
        if setup.sql_matches_sqlalchemy
        else "it differs in text from what SQLAlchemy's asyncpg dialect sends"
    )
    database_cpu = (
        "PostgreSQL CPU per request is the same for the backends connected to the bench "
        "database (from pg_stat_activity and /proc), plus the postmaster's own time and that "
        "of its exited children: the parallel workers, which live for one query each." + others
        if report.db_cpu
        else "PostgreSQL's CPU could not be read (not on this machine)."
    )
    return "\n".join(
        [
            BEGIN,
            "## Map GeoJSON: CityHive vs bare aiohttp + asyncpg, same SQL",
            "",
            f"Measured {when} with `make bench` (`uv run --locked python bench/geojson.py`), "
            f"which wrote this section in {report.seconds:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            f"Data: {HIVES:,} hives from `app.seed.add_city_hives` in a throwaway database, all "
            "given to one account (the worst case for the owner filter), then `VACUUM "
            f"(ANALYZE)`. The box `bbox={box.query}` (around Kreuzberg) holds "
            f"{setup.inside:,} of them; every answer is {report.sizes['app']:,} bytes from "
            f"PostgreSQL ({report.sizes['orm']:,} bytes from json.dumps).",
            "",
            "Plans: PostgreSQL alone, `EXPLAIN (ANALYZE) EXECUTE` of the prepared statement "
            "(median of 3) with `plan_cache_mode` forcing either plan. The app's statement: "
            f"custom plan {plans['sql-custom'].said}, generic plan {plans['sql-generic'].said}. "
            f"The ORM select: custom {plans['orm-custom'].said}, generic "
            f"{plans['orm-generic'].said}. Prepared once and run {PREPARED_RUNS} times, as "
            "asyncpg runs it, the app's statement got "
            f"{custom} custom and {generic} generic plans (`pg_prepared_statements`).",
            "",
            f"Load: `wrk -t{load.threads} -c{load.connections} -d{load.duration}s "
            f"--timeout {load.timeout}s --latency 'http://127.0.0.1:PORT/PATH?bbox=…'` per run, "
            f"on loopback. Each target first gets a warm-up of {load.warmup} s ({warmups} "
            "requests: "
            + (
                "enough for every pooled connection to reach the generic plan"
                if enough
                else "maybe too few for every pooled connection to reach the generic plan"
            )
            + f"), then {load.rounds} rounds run every target once, every other round in "
            "reverse order; the table gives the median of the rounds. Before and after each "
            "run the benchmark waits until the server and the database are idle again, since "
            "wrk stops with requests in flight. Two CPUs are shared by wrk, the server process "
            "and PostgreSQL, so the database's work competes with the server's.",
            "",
            "Targets: CityHive is `python -m app serve` with `MAP_FEATURE_CAP=20000` (nothing "
            "is cut), `DEMO_DATA=false`, at `LOG_LEVEL=WARNING` and at `LOG_LEVEL=INFO`, "
            "logged in through its /login form: `GET /hives.geojson?bbox=…` with the session "
            "cookie. The bare SQL handler is one aiohttp handler on an asyncpg pool running "
            "`app.hives.queries.GEOJSON` with $1..$6 for its named parameters "
            f"({same_sql}) with asyncpg's `fetch` (all rows at once, as SQLAlchemy asks), "
            f"and sending the text on as `{GEOJSON_TYPE}`; its body was checked "
            "byte for byte against the app's. The ORM handler, in the same bare server, "
            "selects `Hive, ST_X, ST_Y` with the same owner and `&&` envelope, ordered by id "
            "and capped, through SQLAlchemy (the app's engine settings) and builds the "
            "FeatureCollection in Python; it was checked to parse equal. Server CPU per "
            "request is the server process's user and system time during the runs divided "
            "by the requests it answered (its own count: the app's Prometheus counter, the "
            f"bare server's). {database_cpu} One request alone: the median of 3 requests one "
            "after the other, after the measurements.",
            "",
            *table(report),
            "",
            f"Req/s by round (requests that wrk saw completed): {rounds}. Socket errors and "
            f"non-2xx responses in the measured runs: {errors}.",
            "",
            *interpretation(report),
            END,
        ]
    )


def summary(report: Report) -> list[str]:
    return [*table(report), "", *interpretation(report)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = load_arguments(
        __doc__.split("\n", 1)[0], duration=6, rounds=3, warmup=8, connections=8
    )
    commands = parser.add_subparsers(dest="command")
    bare = commands.add_parser("bare-server", help="(used by the benchmark) the bare handlers")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--owner", type=int, required=True)
    bare.add_argument("--cap", type=int, required=True)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    if args.command == "bare-server":
        serve_bare(args.port, args.owner, args.cap)
        return 0
    load = Load(args.threads, args.connections, args.duration, args.warmup, args.rounds, 60)
    return measure_and_report(args, lambda: run(load), summary, section, (BEGIN, END))


if __name__ == "__main__":
    sys.exit(main())

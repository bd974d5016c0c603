"""The Today view: CityHive's whole stack against a bare aiohttp + asyncpg + Jinja2 handler.

    make bench        # also runs bench/home_page.py and bench/geojson.py
    uv run --locked python bench/today.py

What the issue asks for: the Today view (GET /, signed in) for a user with 200 hives and five
years of inspections, as the full page and as the htmx fragment, through the whole stack,
against a bare aiohttp handler that runs the same queries with asyncpg and renders the same
template, in one run. One run, loopback only, about two minutes with the defaults:

1. a throwaway database migrated to head (see bench/_common.py), one beekeeper account with a
   known password and 200 active hives on eight Berlin sites; five seasons of recorded
   inspections per hive (every eight to twelve days from April to September, with the whole
   checklist, some with queen cells or a high varroa count), one open inspection per hive
   (some overdue, some due today, some this week, the rest later), two harvests a season
   per site with a share per hive, sensors on 20 hives with a few open alerts; all
   bulk-inserted with asyncpg's COPY, then VACUUM (ANALYZE);
2. the app's own queries for Today run once through SQLAlchemy, to record the statements it
   sends and what Today holds (the due lists, the flags, the season's honey);
3. the real app, `python -m app serve`, at LOG_LEVEL=WARNING and at LOG_LEVEL=INFO, signed in
   through its own /login form;
4. a bare aiohttp server (this file, `bare-server`): one handler on an asyncpg pool that runs
   the statements app/home/views.py runs (see `statements()`: the owner's hives,
   `TODAY_SCHEDULE`, `TODAY_LATEST`, `TODAY_SEASON`, the open alerts, the swarm reports near
   the user), builds the same context (with the app's own `worries`, `split_schedule` and
   dataclasses, but plain objects instead of ORM ones) and renders templates/home/apiary.html,
   or the partial for `HX-Request: true`, in a Jinja2 environment made like the app's (same
   options, filters and globals). When the home page changes, change `statements()` and
   `serve_bare` with it: the check below fails until the pages agree again;
5. checks before measuring: both shapes of both servers answer 200 text/html with every due
   item, alert and flag; the bare server's body is the app's byte for byte once the CSRF token
   (the bare server has no session) and the static files' hashes are set aside;
6. wrk against each target: a warm-up, then `--rounds` interleaved rounds, reading the server
   process's CPU time and its PostgreSQL backends' from /proc around each run.

It prints a table and rewrites the `<!-- bench:today -->` section of docs/benchmarks.md
(`--no-write` to leave it alone). Everything it starts, and the database, is gone afterwards.
The machine is shared and noisy: compare ratios to the bare reference, not raw req/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import json
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from _common import (
    HOST,
    ROOT,
    Load,
    Reply,
    Run,
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

BEGIN = "<!-- bench:today -->"
END = "<!-- /bench:today -->"
FRAGMENT = {"HX-Request": "true"}
SHAPES: dict[str, dict[str, str]] = {"full": {}, "fragment": FRAGMENT}
NAMES = {"full": "full page", "fragment": "fragment"}
LEVELS = ("WARNING", "INFO")
PACKAGES = (
    "aiohttp",
    "aiohttp-jinja2",
    "aiohttp-session",
    "asyncpg",
    "jinja2",
    "sqlalchemy",
    "structlog",
)
EMAIL = "apiaries@bench.example"
PASSWORD = secrets.token_urlsafe(12)  # this run's account only
ACCOUNT_NAME = "Stadtimkerei Berlin"
HIVES = 200
SEASONS = 5  # this year's and the four before
SITE_COUNT = 8  # apiaries of 25 hives, on the first places of app.seed.BERLIN_PLACES
# The open inspections, one per hive: how many are overdue, due today, this week; the rest later.
OPEN = {"overdue": 18, "today": 12, "week": 50}
SEED = 2026  # the same data every run (relative to today)
DSN_VARIABLE = "BENCH_DATABASE_URL"  # how the bare server learns the database (not argv)
BARE_CSRF_TOKEN = "bare-server-has-no-session"  # noqa: S105 - a placeholder, not a secret

SWARM_REPORTS_LIMIT = 20  # app.swarms.queries.open_reports_near's default, as Today calls it


# --- the bare reference -----------------------------------------------------------------------


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


@dataclass(slots=True)
class HiveRow:
    """What the page reads of a hive (the app passes SQLAlchemy rows)."""

    id: int
    name: str
    site: str | None
    status: Any  # HiveStatus


@dataclass(frozen=True)
class Statement:
    """One of Today's statements as asyncpg takes it: $n parameters, named in `names`."""

    sql: str
    names: list[str]
    fetch: str = "fetch"  # or "fetchrow"

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[name] for name in self.names]


def statements(owner_id: int) -> tuple[dict[str, Statement], dict[str, Any]]:
    """Today's statements, in the order app/home/views.py runs them, and the values of their
    parameters that do not change between requests. The plain-SQL ones come from their
    constants; the ORM ones (the hives, the alerts) are the app's selections, built the same
    way and compiled once by SQLAlchemy's asyncpg dialect, as the app's engine does on every
    request. prepare() checks that each is the very text the app sends."""
    from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

    from app.inspections.queries import TODAY_LATEST, TODAY_SCHEDULE, TODAY_SEASON
    from app.models import Alert
    from app.pages.today import overview_selection
    from app.sensors.queries import _alerts_selection
    from app.swarms.queries import OPEN_REPORTS_NEAR

    dialect = asyncpg_dialect.dialect()
    constant: dict[str, Any] = {}

    def compiled(selection: Any) -> Statement:
        done = selection.compile(dialect=dialect)
        names = list(done.positiontup or [])
        constant.update({name: done.params[name] for name in names})
        return Statement(done.string, names)

    def plain(sql: str, fetch: str = "fetch") -> Statement:
        return Statement(*positional(sql), fetch=fetch)

    found = {
        # app.pages.today.hives_overview
        "hives": compiled(overview_selection(owner_id)),
        # app.inspections.queries.today
        "schedule": plain(TODAY_SCHEDULE),
        "latest": plain(TODAY_LATEST),
        "season": plain(TODAY_SEASON, "fetchrow"),
        # app.sensors.queries.open_alerts_of
        "alerts": compiled(
            _alerts_selection(owner_id)
            .where(Alert.acknowledged_at.is_(None))
            .order_by(Alert.raised_at.desc(), Alert.id.desc())
        ),
        # app.swarms.queries.open_reports_near
        "swarms": plain(OPEN_REPORTS_NEAR.text),
    }
    return found, constant


def plain_latest_of(varroa_limit: float) -> Callable[[Mapping[str, Any]], Any]:
    """What app.inspections.queries.latest_from_row makes of a TODAY_LATEST row, from asyncpg's
    mapping rows (the app's function reads SQLAlchemy rows by attribute)."""
    from app.inspections.queries import Glance, LatestInspection, worries
    from app.models import QueenCells, VarroaMethod

    def latest(row: Mapping[str, Any]) -> LatestInspection:
        glance = Glance(
            id=row["id"],
            done_at=row["done_at"],
            queen_seen=row["queen_seen"],
            eggs_seen=row["eggs_seen"],
            queen_cells=QueenCells(row["queen_cells"]) if row["queen_cells"] else None,
            queen_cell_count=row["queen_cell_count"],
            varroa_count=row["varroa_count"],
            varroa_method=VarroaMethod(row["varroa_method"]) if row["varroa_method"] else None,
            varroa_sample=row["varroa_sample"],
        )
        return LatestInspection(
            row["hive_id"], row["hive_name"], glance, worries(glance, varroa_limit)
        )

    return latest


def template_environment(zone: ZoneInfo) -> Any:
    """A Jinja2 environment made as app.main.create_app makes the app's (aiohttp_jinja2.setup
    adds `url` and `app` globals, which no template here uses)."""
    import jinja2

    from app.assets import StaticAssets
    from app.main import STATIC, TEMPLATE_OPTIONS, configure_templates
    from app.settings import Settings

    env = jinja2.Environment(**TEMPLATE_OPTIONS)  # noqa: S701 - autoescape is in the options
    settings = Settings.model_construct(time_zone=str(zone))
    configure_templates(env, settings, StaticAssets(STATIC))
    return env


def serve_bare(port: int, owner_id: int) -> None:
    """GET /: Today for `owner_id`, the full page or (for htmx) the fragment. No session, no
    middleware: the user is read once at start-up."""
    import asyncpg
    from aiohttp import web

    from app.inspections.queries import DueInspection, Today, season_of, split_schedule
    from app.models import AlertKind, HiveStatus, SwarmHeight, SwarmSize
    from app.sensors.queries import AlertView
    from app.settings import Settings
    from app.swarms.queries import NearbyReport

    settings = Settings()
    zone, varroa_limit = settings.zone, settings.varroa_alert_per_100
    env = template_environment(zone)
    plain_latest = plain_latest_of(varroa_limit)
    dsn = os.environ[DSN_VARIABLE]
    today_statements, constant = statements(owner_id)
    constant |= {"owner_id": owner_id, "user_id": owner_id, "limit": SWARM_REPORTS_LIMIT}
    from app.web.auth import roles_for

    constant |= {"roles": list(roles_for())}  # the roles that read the user's hives
    pool_key = web.AppKey("pool", asyncpg.Pool)
    user_key = web.AppKey("user", dict)
    answered = {"count": 0}
    # The last requests' milliseconds in the queries, building the context, rendering; by shape.
    phases: dict[str, deque[list[float]]] = {shape: deque(maxlen=5) for shape in SHAPES}

    async def connections(app: web.Application) -> AsyncIterator[None]:
        # Opened as needed, up to the app's SQLAlchemy pool (app.db.make_engine: 10 + 10).
        app[pool_key] = pool = await asyncpg.create_pool(dsn, min_size=1, max_size=20)
        row = await pool.fetchrow("SELECT id, name FROM users WHERE id = $1", owner_id)
        app[user_key] = dict(row)
        yield
        await pool.close()

    async def home(request: web.Request) -> web.Response:
        started = time.perf_counter()
        day = datetime.now(zone).date()
        first, last = season_of(day)
        values = constant | {"horizon": day + timedelta(days=7), "first": first, "last": last}
        found = {}
        async with request.app[pool_key].acquire() as connection:
            for name, statement in today_statements.items():
                run = getattr(connection, statement.fetch)
                found[name] = await run(statement.sql, *statement.args(values))
        queried = time.perf_counter()
        hive_rows, schedule_rows, latest_rows = found["hives"], found["schedule"], found["latest"]
        season = found["season"]
        hives = [HiveRow(r[0], r[1], r[2], HiveStatus(r[3])) for r in hive_rows]
        due = [DueInspection(*row) for row in schedule_rows]
        latest = [plain_latest(row) for row in latest_rows]
        overdue, due_today, this_week = split_schedule(day, due)
        agenda = Today(day, overdue, due_today, this_week, latest, season["kg"], season["harvests"])
        alerts = [AlertView(row[0], AlertKind(row[1]), *row[2:]) for row in found["alerts"]]
        swarm_reports = [
            NearbyReport(
                id=row["id"],
                distance_m=row["distance_m"],
                seen_at=row["seen_at"],
                size=SwarmSize(row["size"]),
                height=SwarmHeight(row["height"]),
                hanging_on=row["hanging_on"],
                description=row["description"],
            )
            for row in found["swarms"]
        ]
        headers = request.headers
        fragment = (
            headers.get("HX-Request") == "true"
            and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true"
        )
        context = {
            "request": request,
            "user": request.app[user_key],
            "csrf_token": BARE_CSRF_TOKEN,
            "current_path": request.path,
            "hives": hives,
            "today": agenda,
            "alerts": alerts,
            "swarm_reports": swarm_reports,
        }
        built = time.perf_counter()
        # Looked up per request, as aiohttp_jinja2 does (Jinja2 caches it, checking its mtime).
        page = "partials/home/apiary.html" if fragment else "home/apiary.html"
        text = env.get_template(page).render(context)
        rendered = time.perf_counter()
        answered["count"] += 1
        phases["fragment" if fragment else "full"].append(
            [(b - a) * 1000 for a, b in [(started, queried), (queried, built), (built, rendered)]]
        )
        return web.Response(
            text=text, content_type="text/html", charset="utf-8", headers={"Vary": "HX-Request"}
        )

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def count(request: web.Request) -> web.Response:
        shaped = {shape: list(each) for shape, each in phases.items()}
        return web.json_response({"answered": answered["count"], "phases_ms": shaped})

    app = web.Application()
    app.cleanup_ctx.append(connections)
    app.router.add_get("/", home)
    app.router.add_get("/ready", ready)
    app.router.add_get("/count", count)
    web.run_app(app, host=HOST, port=port, access_log=None, print=None)


# --- the data ---------------------------------------------------------------------------------

INSPECTION_COLUMNS = (
    "hive_id",
    "scheduled_for",
    "schedule_note",
    "done_at",
    "frames_of_bees",
    "queen_seen",
    "eggs_seen",
    "larvae_seen",
    "capped_brood_seen",
    "queen_cells",
    "queen_cell_count",
    "brood_pattern",
    "temperament",
    "honey_frames",
    "pollen_frames",
    "varroa_count",
    "varroa_method",
    "varroa_sample",
    "treatment_product",
    "treatment_dose",
    "feeding_kind",
    "feeding_amount",
    "weight_kg",
    "actions",
    "weather_temp_c",
    "weather_conditions",
    "notes",
)
# Mites in a 300-bee wash or roll, on average, by month: the load grows through the season.
MITES_BY_MONTH = {4: 1.0, 5: 1.5, 6: 2.5, 7: 4.0, 8: 6.0, 9: 7.0}
BEES_PER_SAMPLE = 300
SENSOR_HIVES = 20  # hives with a scale, a brood thermometer and a battery probe
OPEN_ALERTS = 6  # of them: half low batteries, half a cold brood nest
ACKNOWLEDGED_ALERTS = 30
SCHEDULE_NOTES = ("", "", "", "Oxalic acid trickle", "Heft for winter stores", "Mouse guard")
WEATHER = ("sunny", "partly_cloudy", "overcast", "light_rain", "windy")


def one_decimal(value: float) -> Decimal:
    return Decimal(f"{value:.1f}")


def checklist(rng: random.Random, visit: date) -> dict[str, Any]:
    """A believable recorded inspection for that day of the season."""
    month = visit.month
    swarm_season = month in (5, 6)
    record: dict[str, Any] = {
        "frames_of_bees": max(2, min(20, int(rng.gauss(5 + 1.5 * min(month - 3, 4), 1.5)))),
        "queen_seen": rng.random() < 0.6,
        "eggs_seen": rng.random() < 0.93,
        "larvae_seen": rng.random() < 0.95,
        "capped_brood_seen": rng.random() < 0.95,
        "queen_cells": "none",
        "queen_cell_count": None,
        "brood_pattern": rng.choices((2, 3, 4, 5), weights=(1, 3, 6, 3))[0],
        "temperament": rng.choices(("calm", "nervous", "aggressive"), weights=(85, 12, 3))[0],
        "honey_frames": one_decimal(rng.uniform(0, 8) if 5 <= month <= 8 else rng.uniform(1, 4)),
        "pollen_frames": one_decimal(rng.uniform(0.5, 3)),
        "varroa_count": None,
        "varroa_method": None,
        "varroa_sample": None,
        "treatment_product": "",
        "treatment_dose": "",
        "feeding_kind": "",
        "feeding_amount": "",
        "weight_kg": Decimal(f"{rng.uniform(28, 58):.2f}"),
        "actions": [],
        "weather_temp_c": one_decimal(rng.uniform(13, 29)),
        "weather_conditions": rng.choice(WEATHER),
        "notes": rng.choice(("", "", "", "Busy entrance", "Lots of pollen coming in")),
    }
    if rng.random() < (0.1 if swarm_season else 0.02):
        record["queen_cells"] = "swarm" if swarm_season else "supersedure"
        record["queen_cell_count"] = rng.randint(1, 8 if swarm_season else 3)
    if rng.random() < 0.4:  # a mite count on some visits, more often late in the season
        mean = MITES_BY_MONTH[month]
        method = rng.choices(("alcohol_wash", "sugar_roll", "natural_drop"), weights=(5, 3, 2))[0]
        record["varroa_method"] = method
        if method == "natural_drop":
            days = rng.randint(3, 7)
            per_day = max(0.0, rng.gauss(mean * 1.3, mean))
            record["varroa_sample"], record["varroa_count"] = days, round(per_day * days)
        else:
            record["varroa_sample"] = BEES_PER_SAMPLE
            record["varroa_count"] = max(0, round(rng.gauss(mean, mean * 0.8)))
    if swarm_season and rng.random() < 0.25:
        record["actions"] = ["super_added"]
    elif month >= 8 and rng.random() < 0.2:
        record["actions"] = ["super_removed"]
        record["treatment_product"], record["treatment_dose"] = "Formic acid 60 %", "2 ml/frame"
        record["feeding_kind"], record["feeding_amount"] = "Syrup 3:2", "5 l"
    return record


@dataclass
class Seeded:
    owner_id: int
    hives: int
    sites: int
    inspections: int  # recorded
    open: int  # scheduled, not yet done
    harvests: int
    shares: int
    sensors: int
    alerts: int  # open and acknowledged
    first_season: int
    last_season: int


async def seed_sensors(
    connection: Any, rng: random.Random, hive_ids: Sequence[int]
) -> tuple[int, int]:
    """Sensors on some hives, heard from minutes ago (so not offline); a few alerts still open,
    more acknowledged. Returns how many sensors and alerts."""
    now = datetime.now(UTC)
    probes = (
        ("Scale", "weight", "outside", 41.5),
        ("Brood", "temperature", "inside", 33.8),
        ("Battery", "battery", "outside", 3.9),
    )
    await connection.copy_records_to_table(
        "sensors",
        records=[
            (hive, name, kind, placement, now - timedelta(minutes=rng.randint(1, 10)), value)
            for hive in hive_ids
            for name, kind, placement, value in probes
        ],
        columns=("hive_id", "name", "kind", "placement", "last_reading_at", "last_value"),
    )
    rows = await connection.fetch(
        "SELECT id, hive_id, kind::text AS kind FROM sensors WHERE hive_id = ANY($1) ORDER BY id",
        list(hive_ids),
    )
    by_kind = {
        kind: [row for row in rows if row["kind"] == kind] for kind in ("temperature", "battery")
    }
    messages = {
        "battery": "Battery at {:.2f} V: change it soon.",
        "temperature": "Brood nest at {:.1f} °C, below the rule's 32 °C.",
    }
    values = {"battery": (3.2, 3.5), "temperature": (27.0, 31.5)}
    alerts = []
    for number in range(OPEN_ALERTS + ACKNOWLEDGED_ALERTS):
        kind = ("battery", "temperature")[number % 2]
        sensor = by_kind[kind][number // 2 % len(by_kind[kind])]
        is_open = number < OPEN_ALERTS
        started = now - timedelta(hours=number * 7 + rng.randint(1, 6), minutes=rng.randrange(60))
        ended = None if is_open else started + timedelta(hours=rng.randint(2, 30))
        alerts.append(
            (
                sensor["hive_id"],
                sensor["id"],
                kind,
                messages[kind].format(rng.uniform(*values[kind])),
                started,
                started + timedelta(minutes=1),
                ended,
                ended,
            )
        )
    await connection.copy_records_to_table(
        "alerts",
        records=alerts,
        columns=(
            "hive_id",
            "sensor_id",
            "kind",
            "message",
            "started_at",
            "raised_at",
            "resolved_at",
            "acknowledged_at",
        ),
    )
    return len(rows), len(alerts)


async def seed(connection: Any, day: date, zone: ZoneInfo) -> Seeded:
    """The account, its hives, five seasons of inspections, the open schedule and the harvests,
    bulk-inserted; `day` is the app's today."""
    from app.accounts.passwords import hash_password
    from app.seed import BERLIN_PLACES

    rng = random.Random(SEED)  # made-up inspections, not secrets
    owner_id = await connection.fetchval(
        "INSERT INTO users (name, email, password_hash) VALUES ($1, $2, $3) RETURNING id",
        ACCOUNT_NAME,
        EMAIL,
        await hash_password(PASSWORD),
    )
    sites = BERLIN_PLACES[:SITE_COUNT]
    per_site = HIVES // SITE_COUNT
    names, site_names, lons, lats, installed = [], [], [], [], []
    for index in range(HIVES):
        place, lon, lat, _spread = sites[index % SITE_COUNT]
        names.append(f"{place} {index // SITE_COUNT + 1:02}")
        site_names.append(place)
        lons.append(lon + rng.uniform(-0.002, 0.002))
        lats.append(lat + rng.uniform(-0.001, 0.001))
        installed.append(date(day.year - SEASONS - rng.randint(0, 3), rng.randint(4, 7), 1))
    await connection.execute(
        """
        INSERT INTO hives (owner_id, name, apiary_id, location, frame_type, origin, installed_on)
        SELECT $1, name, apiary_for($1, site, ST_SetSRID(ST_MakePoint(lon, lat), 4326), NULL),
               ST_SetSRID(ST_MakePoint(lon, lat), 4326), 'dadant', 'nucleus', installed
        FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::date[])
             AS t(name, site, lon, lat, installed)
        """,
        owner_id,
        names,
        site_names,
        lons,
        lats,
        installed,
    )
    rows = await connection.fetch("SELECT name, id FROM hives WHERE owner_id = $1", owner_id)
    by_name = {row["name"]: row["id"] for row in rows}
    hive_ids = [by_name[name] for name in names]  # in the order of `names`

    sensors, alerts = await seed_sensors(connection, rng, hive_ids[:SENSOR_HIVES])

    records = []
    first_season = day.year - SEASONS + 1
    for hive_id in hive_ids:
        for year in range(first_season, day.year + 1):
            visit = date(year, 4, 1) + timedelta(days=rng.randrange(8))
            while visit <= date(year, 9, 30) and visit < day:
                hour, minute = rng.randint(9, 16), rng.randrange(60)
                done_at = datetime(year, visit.month, visit.day, hour, minute, tzinfo=zone)
                values = checklist(rng, visit)
                values |= {
                    "hive_id": hive_id,
                    "scheduled_for": visit if rng.random() < 0.5 else None,
                    "schedule_note": "",
                    "done_at": done_at.astimezone(UTC),
                }
                records.append(tuple(values[column] for column in INSPECTION_COLUMNS))
                visit += timedelta(days=rng.randint(8, 12))
    offsets = (
        [-rng.randint(1, 21) for _ in range(OPEN["overdue"])]
        + [0] * OPEN["today"]
        + [rng.randint(1, 7) for _ in range(OPEN["week"])]
    )
    offsets += [rng.randint(8, 35) for _ in range(HIVES - len(offsets))]
    rng.shuffle(offsets)
    texts = ("treatment_product", "treatment_dose", "feeding_kind", "feeding_amount")
    empty: dict[str, Any] = dict.fromkeys(INSPECTION_COLUMNS)
    empty |= dict.fromkeys((*texts, "weather_conditions", "notes"), "") | {"actions": []}
    for hive_id, offset in zip(hive_ids, offsets, strict=True):
        values = empty | {
            "hive_id": hive_id,
            "scheduled_for": day + timedelta(days=offset),
            "schedule_note": rng.choice(SCHEDULE_NOTES),
        }
        records.append(tuple(values[column] for column in INSPECTION_COLUMNS))
    await connection.copy_records_to_table(
        "inspections", records=records, columns=INSPECTION_COLUMNS
    )

    harvests = shares = 0
    for year in range(first_season, day.year + 1):
        for kind, month, first_day in (("Spring blossom", 6, 12), ("Summer linden", 7, 25)):
            for site in range(SITE_COUNT):
                harvested_on = date(year, month, first_day) + timedelta(days=rng.randrange(10))
                if harvested_on >= day:
                    continue
                site_hives = hive_ids[site::SITE_COUNT][:per_site]
                kgs = {
                    hive: Decimal(f"{rng.uniform(3, 24):.2f}")
                    for hive in site_hives
                    if rng.random() < 0.85
                }
                harvest_id = await connection.fetchval(
                    "INSERT INTO harvests (owner_id, harvested_on, total_kg, frames, "
                    "moisture_pct, honey_kind) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    owner_id,
                    harvested_on,
                    sum(kgs.values(), Decimal(0)),
                    2 * len(kgs),
                    one_decimal(rng.uniform(16.5, 18.5)),
                    kind,
                )
                await connection.copy_records_to_table(
                    "harvest_shares",
                    records=[(harvest_id, hive, kg) for hive, kg in kgs.items()],
                    columns=("harvest_id", "hive_id", "kg"),
                )
                harvests += 1
                shares += len(kgs)
    # Autovacuum would otherwise visit the new tables in the middle of the measurements.
    await connection.execute("VACUUM (ANALYZE)")
    return Seeded(
        owner_id=owner_id,
        hives=HIVES,
        sites=SITE_COUNT,
        inspections=len(records) - HIVES,
        open=HIVES,
        harvests=harvests,
        shares=shares,
        sensors=sensors,
        alerts=alerts,
        first_season=first_season,
        last_season=day.year,
    )


@dataclass
class Agenda:
    """What the app's own queries say Today holds, and the SQL they sent."""

    day: date
    due: dict[str, list[int]]  # inspection ids: overdue, today, week
    flagged: int
    season_kg: Decimal
    season_harvests: int
    alerts: int  # open ones, on the page
    swarm_reports: int
    # By statement (see statements()): whether the bare handler's is the very text SQLAlchemy's
    # asyncpg dialect sent for the app.
    same_sql: dict[str, bool]


@dataclass
class Setup:
    seeded: Seeded
    agenda: Agenda
    postgres: str
    postgis: str


async def prepare(database_url: str) -> Setup:
    """Seed, then run the app's Today queries once through SQLAlchemy and record them."""
    import asyncpg
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.db import make_engine
    from app.inspections.queries import today
    from app.pages.today import hives_overview as hives_of
    from app.sensors.queries import open_alerts_of
    from app.settings import Settings
    from app.swarms.queries import open_reports_near

    settings = Settings()
    day = datetime.now(settings.zone).date()
    connection = await asyncpg.connect(database_url)
    engine = make_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        seeded = await seed(connection, day, settings.zone)
        sent: list[str] = []

        def remember(*args: Any) -> None:  # conn, cursor, statement, parameters, ...
            sent.append(args[2])

        event.listen(engine.sync_engine, "before_cursor_execute", remember)
        async with async_sessionmaker(engine, expire_on_commit=False)() as db:
            # What app/home/views.py runs, in its order.
            await hives_of(db, seeded.owner_id)
            agenda = await today(db, seeded.owner_id, day, settings.varroa_alert_per_100)
            alerts = await open_alerts_of(db, seeded.owner_id)
            swarm_reports = await open_reports_near(db, seeded.owner_id)
            by_app = list(sent)
        ours, _ = statements(seeded.owner_id)
        return Setup(
            seeded=seeded,
            agenda=Agenda(
                day=agenda.day,
                due={
                    "overdue": [item.id for item in agenda.overdue],
                    "today": [item.id for item in agenda.due_today],
                    "week": [item.id for item in agenda.this_week],
                },
                flagged=len(agenda.flagged),
                season_kg=agenda.season_kg,
                season_harvests=agenda.season_harvests,
                alerts=len(alerts),
                swarm_reports=len(swarm_reports),
                same_sql={name: statement.sql in by_app for name, statement in ours.items()},
            ),
            postgres=str(await connection.fetchval("SHOW server_version")).split()[0],
            postgis=str(await connection.fetchval("SELECT postgis_lib_version()")),
        )
    finally:
        await connection.close()
        await engine.dispose()


class BackendCpu:
    """CPU seconds so far of the PostgreSQL backends connected to the bench database (from
    pg_stat_activity and /proc), other than this one's. A backend seen for the first time
    counts with all its time: the pools open connections as the load needs them."""

    def __init__(self, runner: asyncio.Runner, database_url: str) -> None:
        import asyncpg

        self.runner = runner
        self.connection = runner.run(asyncpg.connect(database_url))
        own = runner.run(self.connection.fetchval("SELECT pg_backend_pid()"))
        self.works = self._postgres(own)
        self.seen: dict[int, float] = {}
        self.total = 0.0

    @staticmethod
    def _postgres(pid: int) -> bool:
        """Whether the backend is a process on this machine."""
        try:
            return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
        except OSError:
            return False

    def __call__(self) -> float:
        if not self.works:
            return float("nan")
        query = (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        for row in self.runner.run(self.connection.fetch(query)):
            with contextlib.suppress(OSError):  # gone meanwhile: its last moments are lost
                now = process_cpu_seconds(row["pid"])
                self.total += now - self.seen.get(row["pid"], 0.0)
                self.seen[row["pid"]] = now
        return self.total

    def close(self) -> None:
        self.runner.run(self.connection.close())


# --- the run ----------------------------------------------------------------------------------


def app_env(database_url: str, log_level: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        HOST=HOST,
        SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        DEMO_DATA="false",
        LOG_LEVEL=log_level,
        # The offline check and partition upkeep would otherwise run beside the measurements.
        SENSOR_CHECK_SECONDS="86400",
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


def normalised(body: bytes) -> bytes:
    """The page with its CSRF token and the static files' content hashes set aside: the bare
    server has no session, and a static file edited between the starts would move a hash."""
    token = re.search(rb'name="_csrf" value="([^"]+)"', body)
    if token:
        body = body.replace(token.group(1), b"CSRF-TOKEN")
    return re.sub(rb"\?v=[0-9a-f]{12}", b"?v=HASH", body)


def check_today(reply: Reply, agenda: Agenda, who: str, on: Server) -> None:
    """The page answers 200 text/html and shows every due item and every flag."""
    if reply.status != 200 or not (reply.content_type or "").startswith("text/html"):
        raise SystemExit(
            f"{who}: {reply.status} {reply.content_type}: {reply.body[:300]!r}\n{on.log_tail()}"
        )
    text = reply.body.decode()
    for tone, ids in agenda.due.items():
        found = re.findall(rf'<li class="due due--{tone}" id="due-(\d+)">', text)
        if [int(n) for n in found] != ids:
            raise SystemExit(f"{who}: {len(found)} {tone} items where Today has {len(ids)}")
    for what, marker, expected in (
        ("flagged hives", '<strong class="flag">', agenda.flagged),
        ("alerts", '<li class="alert-item alert-item--', agenda.alerts),
        ("swarm reports", '<li class="card swarm-card"', agenda.swarm_reports),
    ):
        if (found := text.count(marker)) != expected:
            raise SystemExit(f"{who}: {found} {what} where Today has {expected}")
    if '<a class="hive-name" href="/hives/' not in text or "Last inspected" not in text:
        raise SystemExit(f"{who}: no hive list with latest inspections")


def check_targets(
    apps: Mapping[str, Server], cookies: Mapping[str, str], bare: Server, agenda: Agenda
) -> dict[str, int]:
    """Both shapes of every server show Today's content, and the bare server's bodies are the
    app's once normalised; returns the app's body size by shape."""
    sizes = {}
    for shape, headers in SHAPES.items():
        replies = {
            level: get(app.port, {**headers, "Cookie": cookies[level]}, timeout=30)
            for level, app in apps.items()
        }
        replies["bare"] = get(bare.port, headers, timeout=30)
        servers = {**apps, "bare": bare}
        for who, reply in replies.items():
            check_today(reply, agenda, f"{who}, {shape}", servers[who])
            if not any("HX-Request" in vary for vary in reply.all("Vary")):
                raise SystemExit(f"{who}, {shape}: no Vary: HX-Request")
        app_body = normalised(replies[LEVELS[0]].body)
        for who, reply in replies.items():
            if normalised(reply.body) != app_body:
                diff = difflib.unified_diff(
                    app_body.decode().splitlines(),
                    normalised(reply.body).decode().splitlines(),
                    f"app at {LEVELS[0]}",
                    who,
                    lineterm="",
                    n=1,
                )
                shown = "\n".join(list(diff)[:40])
                raise SystemExit(f"{who}'s {shape} differs from the app's:\n{shown}")
        has_page = b"<!doctype html>" in replies["bare"].body
        if has_page != (shape == "full"):
            raise SystemExit(f"the {shape} came {'with' if has_page else 'without'} the layout")
        sizes[shape] = len(replies[LEVELS[0]].body)
    return sizes


@dataclass
class SignedInTarget(Target):
    """A target that sends the app's session cookie. The app sets a new cookie when the
    session was last seen a minute ago or more, which a browser would then send; wrk sends the
    same cookie throughout, so before each run the cookie is brought up to date."""

    def refresh(self) -> None:
        reply = get(self.server.port, self.headers, timeout=30)
        if reply.status != 200:
            raise SystemExit(
                f"{self.label}: {reply.status} before a run:\n{self.server.log_tail()}"
            )
        if cookie := cookie_from(reply):
            self.headers["Cookie"] = cookie

    def warm_up(self, load: Load) -> None:
        self.refresh()
        super().warm_up(load)

    def measure(self, load: Load, extra_cpu: Callable[[], float] | None = None) -> Run:
        self.refresh()
        return super().measure(load, extra_cpu)


def settle(on: Server, timeout: float = 30) -> None:
    """Wait until the server has finished what wrk left in flight (its CPU time still)."""
    deadline = time.monotonic() + timeout
    cpu = on.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.15)
        now = on.cpu_seconds()
        if now - cpu <= 0.005:
            return
        cpu = now


def app_answered(app: Server) -> int:
    """Home page requests the app has answered, from its Prometheus counter (/metrics)."""
    text = get(app.port, path="/metrics").body.decode()
    samples = re.findall(
        r'^cityhive_http_requests_total\{[^}]*route="home"[^}]*\} ([\d.e+]+)$', text, re.M
    )
    return int(sum(float(sample) for sample in samples))


def bare_count(bare: Server) -> dict[str, Any]:
    return dict(json.loads(get(bare.port, path="/count").body))


def plan(bare: Server, apps: Mapping[str, Server], cookies: Mapping[str, str]) -> list[Target]:
    targets: list[Target] = []
    for shape, headers in SHAPES.items():
        targets.append(
            Target(
                f"bare-{shape}",
                f"bare aiohttp + asyncpg, {NAMES[shape]}",
                shape,
                bare,
                dict(headers),
                None,
                settle=lambda: settle(bare),
                answered=lambda: int(bare_count(bare)["answered"]),
            )
        )
        for level in LEVELS:
            app = apps[level]
            targets.append(
                SignedInTarget(
                    f"app-{shape}-{level}",
                    f"CityHive, {NAMES[shape]}, {level}",
                    shape,
                    app,
                    {**headers, "Cookie": cookies[level]},
                    f"bare-{shape}",
                    settle=lambda app=app: settle(app),
                    answered=lambda app=app: app_answered(app),
                )
            )
    return targets


def alone_ms(target: Target, times: int = 3) -> float:
    """The median time that one request takes when it is the only one."""
    if isinstance(target, SignedInTarget):
        target.refresh()
    each = []
    for _ in range(times):
        started = time.perf_counter()
        reply = get(target.server.port, target.headers, target.path, timeout=30)
        each.append((time.perf_counter() - started) * 1000)
        if reply.status != 200:
            raise SystemExit(f"{target.label}: {reply.status}")
    return statistics.median(each)


@dataclass
class Report:
    load: Load
    targets: list[Target]
    setup: Setup
    sizes: dict[str, int]  # bytes of the app's body, by shape
    alone_ms: dict[str, float]  # by target
    bare_phases_ms: dict[str, list[float]]  # by shape: queries, context, rendering (alone)
    db_cpu: bool
    machine: dict[str, str]
    seconds: float = 0.0

    def target(self, key: str) -> Target:
        return next(t for t in self.targets if t.key == key)

    def ratio(self, key: str) -> float:
        target = self.target(key)
        return target.rps / self.target(target.reference or key).rps


def run(load: Load) -> Report:
    """Set up, warm up, measure every target `load.rounds` times, tear down."""
    started = time.monotonic()
    machine = machine_facts(PACKAGES)
    logs = Path(tempfile.mkdtemp(prefix="cityhive-bench-today-"))
    try:
        with contextlib.ExitStack() as stack:
            print("database: a throwaway database, migrated ...", flush=True)
            database_url = stack.enter_context(bench_database("cityhive_bench_today"))
            runner = stack.enter_context(asyncio.Runner())
            print(
                f"seeding {HIVES} hives, {SEASONS} seasons of inspections, harvests ...",
                flush=True,
            )
            seeding = time.monotonic()
            setup = runner.run(prepare(database_url))
            seeded, agenda = setup.seeded, setup.agenda
            print(
                f"  {seeded.inspections:,} inspections, {seeded.open} open, {seeded.harvests} "
                f"harvests, {seeded.shares:,} shares in {time.monotonic() - seeding:.0f} s. "
                f"Today {agenda.day}: "
                + ", ".join(f"{len(ids)} {tone}" for tone, ids in agenda.due.items())
                + f", {agenda.flagged} flagged, {agenda.alerts} alerts, "
                f"{agenda.swarm_reports} swarm reports, {agenda.season_kg} kg from "
                f"{agenda.season_harvests} harvests; the app's statements: {agenda.same_sql}",
                flush=True,
            )
            db_cpu = BackendCpu(runner, database_url)
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
            bare_command += ["--owner", str(seeded.owner_id)]
            bare_env = {**os.environ, DSN_VARIABLE: database_url}
            bare = stack.enter_context(server("bare", bare_command, bare_env, logs))
            wait_ready(list(apps.values()), "/health/ready")
            wait_ready([bare], "/ready")
            cookies = {level: log_in(app) for level, app in apps.items()}
            sizes = check_targets(apps, cookies, bare, agenda)
            print(
                f"  checked: full page {sizes['full']:,} bytes, fragment "
                f"{sizes['fragment']:,} bytes; the bare server's are the app's but for the "
                "CSRF token",
                flush=True,
            )

            targets = plan(bare, apps, cookies)
            interleaved(targets, load, db_cpu, width=44, extra_name="PostgreSQL")
            alone = {target.key: alone_ms(target) for target in targets}
            print(
                "one request alone: "
                + ", ".join(f"{t.label} {alone[t.key]:,.1f} ms" for t in targets),
                flush=True,
            )
            phases = bare_count(bare)["phases_ms"]
            return Report(
                load=load,
                targets=targets,
                setup=setup,
                sizes=sizes,
                alone_ms=alone,
                bare_phases_ms={
                    shape: [statistics.median(each) for each in zip(*rows, strict=True)]
                    for shape, rows in phases.items()
                },
                db_cpu=db_cpu.works,
                machine=machine,
                seconds=time.monotonic() - started,
            )
    finally:
        shutil.rmtree(logs, ignore_errors=True)
        machine["load average at the end"] = load_average()


# --- the report -------------------------------------------------------------------------------


def ms(us: float | None) -> str:
    return "n/a" if us is None else f"{us / 1000:,.2f} ms"


def latency(value_ms: float) -> str:
    return f"{value_ms:,.0f} ms" if value_ms >= 100 else f"{value_ms:,.1f} ms"


def table(report: Report) -> list[str]:
    lines = [
        "| target | req/s | ratio to bare | p50 | p99 | one request alone "
        "| server CPU per request | PostgreSQL CPU per request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in report.targets:
        database = ms(t.extra_cpu_us) if report.db_cpu else "n/a"
        lines.append(
            f"| {t.label} | {t.rps:,.0f} | {report.ratio(t.key):.2f} | {latency(t.p50)} "
            f"| {latency(t.p99)} | {latency(report.alone_ms[t.key])} | {ms(t.cpu_us)} "
            f"| {database} |"
        )
    return lines


def round_ratios(report: Report, key: str) -> list[float]:
    """`key`'s req/s over its bare reference's, round by round."""
    target = report.target(key)
    reference = report.target(target.reference or key)
    pairs = zip(target.runs, reference.runs, strict=True)
    return [a.requests_per_second / b.requests_per_second for a, b in pairs]


def interpretation(report: Report) -> list[str]:
    """What the run says, computed from it."""
    lines = []
    for shape in SHAPES:
        bare = report.target(f"bare-{shape}")
        said = " and ".join(
            f"{report.ratio(f'app-{shape}-{level}'):.2f} ({level})" for level in LEVELS
        )
        line = (
            f"- {NAMES[shape].capitalize()}: the app serves {said} of the bare handler's "
            "requests per second."
        )
        if report.load.rounds > 1:
            each = [r for level in LEVELS for r in round_ratios(report, f"app-{shape}-{level}")]
            line += f" Round by round the ratio ranged from {min(each):.2f} to {max(each):.2f}."
        apps = [report.target(f"app-{shape}-{level}") for level in LEVELS]
        extra = statistics.fmean(a.cpu_us for a in apps) - bare.cpu_us
        line += (
            f" Server CPU per request: {ms(bare.cpu_us)} bare, "
            + " and ".join(
                f"{ms(a.cpu_us)} ({level})" for a, level in zip(apps, LEVELS, strict=True)
            )
            + f" for the app, which spends about {extra / 1000:,.2f} ms more"
            f" ({statistics.fmean(a.cpu_us for a in apps) / bare.cpu_us:.1f}x)."
        )
        if report.db_cpu and bare.extra_cpu_us and all(a.extra_cpu_us for a in apps):
            db_extra = statistics.fmean(a.extra_cpu_us or 0 for a in apps) - bare.extra_cpu_us
            capacity = " and ".join(
                f"{(bare.cpu_us + bare.extra_cpu_us) / (a.cpu_us + (a.extra_cpu_us or 0)):.2f} "
                f"({level})"
                for a, level in zip(apps, LEVELS, strict=True)
            )
            line += (
                f" PostgreSQL spends {ms(bare.extra_cpu_us)} per request for the bare handler "
                f"and {db_extra / 1000:+,.2f} ms more for the app (its current-user query, "
                "BEGIN and ROLLBACK, the pool's pre-ping). Server and database CPU together, "
                f"the bare handler's per request over the app's is {capacity}: the req/s "
                "ratio to expect when the CPUs are the limit, and steadier than req/s on a "
                "shared machine."
            )
        lines.append(line)
    queries, context, rendering = report.bare_phases_ms["full"]
    f_queries, f_context, f_rendering = report.bare_phases_ms["fragment"]
    lines.append(
        f"- Where the bare handler's time goes, one request alone: the "
        f"{len(report.setup.agenda.same_sql)} queries "
        f"{queries:,.1f} ms, building the context {context:,.1f} ms, rendering "
        f"{rendering:,.1f} ms for the full page ({f_queries:,.1f}, {f_context:,.1f} and "
        f"{f_rendering:,.1f} ms for the fragment). Rendering "
        f"{report.sizes['full'] / 1000:,.0f} KB of HTML is the same work in both servers; what "
        "the app adds is its middleware stack (request id, log line, error and outage "
        "handling, the session cookie's decryption, CSRF, the current user's query), "
        "SQLAlchemy around the same statements (a pool pre-ping, BEGIN and ROLLBACK, its "
        "result rows and ORM objects for the hives and alerts) and the security headers."
    )
    if report.load.rounds > 1:
        cpu = max(t.cpu_spread / t.cpu_us for t in report.targets)
        rps = max(
            (max(each) - min(each)) / t.rps
            for t in report.targets
            if (each := [r.requests_per_second for r in t.runs])
        )
        lines.append(
            f"- The rounds of one target differed by up to {cpu:.0%} of its median server CPU "
            f"per request and {rps:.0%} of its median req/s: differences smaller than that "
            "may be noise."
        )
    else:
        lines.append("- One round only: this run says nothing about its own noise.")
    return lines


def section(report: Report) -> str:
    load, setup = report.load, report.setup
    seeded, agenda = setup.seeded, setup.agenda
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    machine = {**report.machine, "PostgreSQL": f"{setup.postgres}, PostGIS {setup.postgis}"}
    facts = "\n".join(f"- {name}: {value}" for name, value in machine.items())
    rounds = "; ".join(
        f"{t.label} " + ", ".join(f"{r.requests_per_second:,.0f}" for r in t.runs)
        for t in report.targets
    )
    errors = sum(r.errors for t in report.targets for r in t.runs)
    warmups = ", ".join(f"{t.label} {t.warmup_requests}" for t in report.targets)
    due = agenda.due
    differing = [name for name, same in agenda.same_sql.items() if not same]
    same_sql = (
        f"all {len(agenda.same_sql)} are the very text that SQLAlchemy's asyncpg dialect sends "
        "for the app"
        if not differing
        else f"these differ in text from what SQLAlchemy's asyncpg dialect sends for the app: "
        f"{', '.join(differing)}"
    )
    database_cpu = (
        "PostgreSQL CPU per request is that of the backends connected to the bench database "
        "(from pg_stat_activity and /proc), divided the same way."
        if report.db_cpu
        else "PostgreSQL's CPU could not be read (not on this machine)."
    )
    return "\n".join(
        [
            BEGIN,
            "## Today view: CityHive vs bare aiohttp + asyncpg + Jinja2, same queries and template",
            "",
            f"Measured {when} with `make bench` (`uv run --locked python bench/today.py`), "
            f"which wrote this section in {report.seconds:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            f"Data: one account with {seeded.hives} active hives on {seeded.sites} sites, "
            f"{seeded.inspections:,} recorded inspections (every 8 to 12 days from April to "
            f"September, {seeded.first_season} to {seeded.last_season}, with the checklist "
            f"filled in), one open inspection per hive, {seeded.harvests} harvests with "
            f"{seeded.shares:,} shares, {seeded.sensors} sensors on {SENSOR_HIVES} hives and "
            f"{seeded.alerts} alerts ({OPEN_ALERTS} not yet acknowledged); the account collects "
            "no swarms. Bulk-inserted with asyncpg's COPY in a throwaway database, then "
            f"`VACUUM (ANALYZE)`. On the day of the run ({agenda.day.isoformat()}) Today lists "
            f"{len(due['overdue'])} overdue inspections, {len(due['today'])} due today and "
            f"{len(due['week'])} this week, each with its Mark done and Move forms, "
            f"{agenda.alerts} alerts with their Acknowledge forms and {agenda.swarm_reports} "
            f"swarm reports, flags {agenda.flagged} hives, gives the season's "
            f"{agenda.season_kg} kg from {agenda.season_harvests} harvests and lists all "
            f"{seeded.hives} hives with their latest inspection: "
            f"{report.sizes['full']:,} bytes for the full page, "
            f"{report.sizes['fragment']:,} for the fragment.",
            "",
            f"Load: `wrk -t{load.threads} -c{load.connections} -d{load.duration}s "
            f"--timeout {load.timeout}s --latency "
            "http://127.0.0.1:PORT/` per run, on loopback, `HX-Request: true` for the fragment. "
            f"Each target first gets a warm-up of {load.warmup} s ({warmups} requests), then "
            f"{load.rounds} rounds run every target once, every other round in reverse order; "
            "the table gives the median of the rounds. Two CPUs are shared by wrk, the server "
            "process and PostgreSQL.",
            "",
            "Targets: CityHive is `python -m app serve` with `DEMO_DATA=false` and "
            "`SENSOR_CHECK_SECONDS=86400` (no background sensor upkeep during the run), at "
            "`LOG_LEVEL=WARNING` and at `LOG_LEVEL=INFO`, signed in through its /login form: "
            "`GET /` with the session cookie (brought up to date before each run, as a browser "
            "would keep it). The bare handler (`bench/today.py bare-server`) has no middleware "
            "and no session (the user is read once at start-up): on an asyncpg pool it runs "
            "the statements of `app/home/views.py`, in its order: the owner's hives, "
            "`TODAY_SCHEDULE`, `TODAY_LATEST` and `TODAY_SEASON`, the open alerts and the "
            "swarm reports near the user; the plain-SQL ones with $n for their named "
            "parameters, the ORM selections compiled once at start-up by SQLAlchemy's asyncpg "
            f"dialect ({same_sql}). It builds the same context (the app's own `worries`, "
            "`split_schedule` and dataclasses; plain objects where the app has SQLAlchemy rows "
            "and ORM objects) and renders "
            "`home/apiary.html` or `partials/home/apiary.html` in a Jinja2 environment made "
            "like the app's (same loader, options, filters and `static`). Before measuring, "
            "both shapes of every server were checked to show every due item, alert and flag, "
            "and the bare server's bodies to be the app's byte for byte once the CSRF token "
            "(the bare server has none) and the static files' hashes are set aside. Server CPU "
            "per request is the server process's user and system time during the runs divided "
            "by the requests it answered (its own count: the app's Prometheus counter, the "
            f"bare server's). {database_cpu} One request alone: the median of 3 requests one "
            "after the other, after the measurements.",
            "",
            *table(report),
            "",
            f"Req/s by round: {rounds}. Socket errors and non-2xx responses in the measured "
            f"runs: {errors}.",
            "",
            *interpretation(report),
            END,
        ]
    )


def summary(report: Report) -> list[str]:
    return [*table(report), "", *interpretation(report)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = load_arguments(
        __doc__.split("\n", 1)[0], duration=5, rounds=3, warmup=3, connections=8
    )
    commands = parser.add_subparsers(dest="command")
    bare = commands.add_parser("bare-server", help="(used by the benchmark) the bare handler")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--owner", type=int, required=True)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    if args.command == "bare-server":
        serve_bare(args.port, args.owner)
        return 0
    # A full page takes about a second under load on a busy machine: past wrk's 2 s timeout
    # requests would count as errors and go missing from req/s while the server still works.
    load = Load(args.threads, args.connections, args.duration, args.warmup, args.rounds, 10)
    return measure_and_report(args, lambda: run(load), summary, section, (BEGIN, END))


if __name__ == "__main__":
    sys.exit(main())

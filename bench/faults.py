"""Faults: PostgreSQL stopped for 10 s under load, and the app killed in the middle of writes.

    make load         # bench/load.py, then this
    uv run --locked python bench/faults.py

It runs its own PostgreSQL cluster (data under .data/faults, a free loopback port), so stopping
the database never touches the cluster that `make test` and `make run` share, and a fresh
database on it, migrated to head. The app is `python -m app serve` on a free port. A beekeeper
signs up through the app's form and gets an API key; then:

1. **The database goes away under load.** `--clients` clients send a mix of requests without
   pause: pages and fragments of the signed-in beekeeper, the hive map's GeoJSON, API reads,
   hives created through the API and through the form, inspections recorded through the API,
   and the anonymous home page (which needs no database). Another polls `/health/ready` every
   0.2 s. After `--warmup` seconds the cluster is stopped (`pg_ctl stop -m fast`), kept stopped
   for `--outage` seconds and started again; the clients go on for `--after` seconds more.
   Every request is recorded: when it started and ended, and its status or error. Passed when
   the requests that failed during the outage were all 503s answered within FAIL_FAST_SECONDS,
   `/health/ready` said 503 while the database was away, every request started from
   RECOVERY_LIMIT_SECONDS after the database was back succeeded, there was no 5xx or connection
   error outside that window, and every write answered 2xx or 303 is in the database, once.
2. **The app is killed mid-write.** `--writers` clients write as fast as they can, each with a
   tag of its own in what it writes, each client one kind of WRITES in turn: hives created
   through the API and through the form, inspections recorded through the API (with an
   Idempotency-Key header) and through the form (with the key in its hidden field, as the
   page sends it), and batches of sensor readings through the API (a reading's sensor and
   instant are its key). The app is killed with SIGKILL `--kills` times, at random moments,
   and started again at once (on the same port, with the same SECRET_KEY, so sessions
   survive). Passed when every write answered 2xx or 303 is in the database exactly once.
   Writes that were cut off unanswered may or may not be there (they are counted); none may
   be there twice.

   Writes that carry a key are then all replayed, with their original keys, after the last
   restart, and must be stored exactly once each: the offline outbox's promise. WRITES below
   lists the kinds of writes; a new kind goes there.

It prints a summary and rewrites the `<!-- bench:faults -->` section of docs/benchmarks.md
(`--no-write` leaves it alone); it exits 1 if a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import (
    DOC,
    HOST,
    ROOT,
    busy,
    free_port,
    get,
    load_average,
    machine_facts,
    write_section,
)
from _workload import BBOX, FORM, Beekeeper, add_sensors, hive_form, hive_json, sign_up

BEGIN = "<!-- bench:faults -->"
END = "<!-- /bench:faults -->"
PACKAGES = ("aiohttp", "sqlalchemy", "asyncpg")
DATA_DIR = ROOT / ".data" / "faults"
DATABASE = "cityhive_faults"
SHARED_CLUSTER_PORT = 54329  # the one `make test` uses: never stopped here
FAIL_FAST_SECONDS = 2.0  # a request failing for want of the database is answered within this
RECOVERY_LIMIT_SECONDS = 5.0  # after PostgreSQL accepts connections again, all is well within
REQUEST_TIMEOUT_SECONDS = 30.0  # a request not answered by then counts as hung
START_TIMEOUT_SECONDS = 60.0


# --- the app process ----------------------------------------------------------------------------


class App:
    """`python -m app serve` on a fixed port, which can be killed and started again."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"} | {
            "DATABASE_URL": database_url,
            "HOST": HOST,
            "PORT": str(self.port),
            "SECRET_KEY": secrets.token_urlsafe(36),
            "DEMO_DATA": "false",
            "LOG_LEVEL": "WARNING",
            "DATA_DIR": str(log_path.parent / "data"),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> float:
        """Start it; the seconds until /health/ready answered 200."""
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while time.monotonic() - started < START_TIMEOUT_SECONDS:
            if self.process.poll() is not None:
                raise SystemExit(f"the app exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get(self.port, path="/health/ready", timeout=2).status == 200:
                    return time.monotonic() - started
            time.sleep(0.05)
        raise SystemExit(f"the app was not ready in {START_TIMEOUT_SECONDS:.0f} s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no finishing of requests in flight."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def warnings(self) -> Counter[str]:
        """The app's warning and error log lines, by event."""
        counted: Counter[str] = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("warning", "error", "critical"):
                    counted[str(entry.get("event"))] += 1
        return counted


# --- the cluster of its own -------------------------------------------------------------------


@contextlib.contextmanager
def own_cluster() -> Iterator[Any]:
    """A PostgreSQL + PostGIS cluster under .data/faults on a free port, stopped afterwards."""
    from app.db import create_database_if_missing, drop_database, local_cluster
    from app.migrate import upgrade

    cluster = local_cluster(DATA_DIR, free_port())
    shared = local_cluster(ROOT / ".data", SHARED_CLUSTER_PORT)
    if cluster.pgdata.resolve() == shared.pgdata.resolve() or cluster.port == SHARED_CLUSTER_PORT:
        raise SystemExit("refusing to run: the fault cluster would be the shared one")
    cluster.ensure_running()
    url = cluster.url(DATABASE)
    try:
        asyncio.run(drop_database(url))
        asyncio.run(create_database_if_missing(url))
        upgrade(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.ensure_running()
            asyncio.run(drop_database(url))
        cluster.stop()


# --- what the clients send --------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    started: float  # seconds since the run's start
    ended: float
    status: int | None  # None: no answer (the error says why)
    error: str = ""
    tag: str = ""  # a write's own name, to find it in the database

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass(frozen=True)
class WriteKind:
    """A way to store something, and how to find each stored thing again by its tag.

    `idempotent`: the request carries a key (an Idempotency-Key header, the form's hidden
    field, or the readings' own sensor and instant); replayed with the same key, it must store
    nothing new. `key_header`: write() sends the key as the Idempotency-Key header (`build`
    puts it elsewhere otherwise, from the tag, with idempotency_key()).
    `path` may name `{hive}`: one of the beekeeper's hives, drawn for each write.
    """

    name: str
    method: str
    path: str
    build: Callable[[str, random.Random, Beekeeper], tuple[dict[str, str], bytes]]
    stored: str  # SQL: tag, count(*) for the tags in $1
    ok_statuses: frozenset[int]
    idempotent: bool = False
    key_header: bool = False


def api_hive(tag: str, rng: random.Random, who: Beekeeper) -> tuple[dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {who.key}", "Content-Type": "application/json"}
    return headers, json.dumps(hive_json(tag, rng)).encode()


def form_hive(tag: str, rng: random.Random, who: Beekeeper) -> tuple[dict[str, str], bytes]:
    headers = {"Cookie": who.cookie, "Content-Type": FORM}
    return headers, urlencode({**hive_form(tag, rng), "_csrf": who.csrf}).encode()


def api_inspection(tag: str, rng: random.Random, who: Beekeeper) -> tuple[dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {who.key}", "Content-Type": "application/json"}
    body = {
        "hive_id": rng.choice(who.hives),
        "done_at": "2026-06-01T10:30:00+02:00",
        "frames_of_bees": rng.randint(3, 12),
        "queen_seen": rng.choice([True, False]),
        "notes": tag,
    }
    return headers, json.dumps(body).encode()


def idempotency_key(tag: str) -> str:
    return f"key-{tag.replace(' ', '-')}"


def form_inspection(tag: str, rng: random.Random, who: Beekeeper) -> tuple[dict[str, str], bytes]:
    """The inspection form as a browser posts it: its hidden idempotency_key, no header."""
    headers = {"Cookie": who.cookie, "Content-Type": FORM}
    fields = {
        "done_at": "2026-06-01T10:30",
        "frames_of_bees": str(rng.randint(3, 12)),
        "notes": tag,
        "idempotency_key": idempotency_key(tag),
        "_csrf": who.csrf,
    }
    return headers, urlencode(fields).encode()


def reading_tag(base: datetime, number: int) -> str:
    """A readings batch's tag is its instant: the clients' base second plus `number`
    microseconds. Every sensor of the beekeeper has one reading in the batch, at that instant."""
    return (base + timedelta(microseconds=number)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def api_readings(tag: str, rng: random.Random, who: Beekeeper) -> tuple[dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {who.key}", "Content-Type": "application/json"}
    readings = [
        {
            "sensor_id": sensor,
            "recorded_at": tag,
            "value": round(rng.uniform(30, 50) if kind == "weight" else rng.uniform(33, 36), 2),
        }
        for sensor, kind in who.sensors.items()
    ]
    return headers, json.dumps({"readings": readings}).encode()


HIVES_BY_NAME = "SELECT name, count(*) FROM hives WHERE name = ANY($1::text[]) GROUP BY name"
INSPECTIONS_BY_NOTES = (
    "SELECT notes, count(*) FROM inspections WHERE notes = ANY($1::text[]) GROUP BY notes"
)
# A batch is stored whole (one statement) and a sensor keeps one reading per instant: a tag's
# batch counts once when every sensor has its reading (the fault database has no other sensors).
READINGS_BY_INSTANT = (
    "SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " (count(*) = (SELECT count(*) FROM sensors))::int FROM readings"
    " WHERE recorded_at = ANY($1::text[]::timestamptz[]) GROUP BY recorded_at"
)
WRITES = [
    WriteKind(
        "API: create a hive", "POST", "/api/v1/hives", api_hive, HIVES_BY_NAME, frozenset({201})
    ),
    WriteKind("form: add a hive", "POST", "/hives", form_hive, HIVES_BY_NAME, frozenset({303})),
    WriteKind(
        "API: record an inspection (Idempotency-Key)",
        "POST",
        "/api/v1/inspections",
        api_inspection,
        INSPECTIONS_BY_NOTES,
        frozenset({201}),
        idempotent=True,
        key_header=True,
    ),
    WriteKind(
        "form: record an inspection (idempotency_key)",
        "POST",
        "/hives/{hive}/inspections",
        form_inspection,
        INSPECTIONS_BY_NOTES,
        frozenset({303}),
        idempotent=True,
    ),
    WriteKind(
        "API: a batch of sensor readings",
        "POST",
        "/api/v1/readings",
        api_readings,
        READINGS_BY_INSTANT,
        frozenset({200}),
        idempotent=True,
    ),
]


@dataclass(frozen=True)
class ReadKind:
    name: str
    path: str
    headers: Callable[[Beekeeper], dict[str, str]]
    needs_database: bool = True


READS = [
    ReadKind("home page, anonymous", "/", lambda who: {}, needs_database=False),
    ReadKind("hive list page", "/hives", lambda who: {"Cookie": who.cookie}),
    ReadKind(
        "hive list fragment (htmx)",
        "/hives?page=1",
        lambda who: {"Cookie": who.cookie, "HX-Request": "true"},
    ),
    ReadKind("hive map GeoJSON", f"/hives.geojson?bbox={BBOX}", lambda who: {"Cookie": who.cookie}),
    ReadKind(
        "API: list hives", "/api/v1/hives", lambda who: {"Authorization": f"Bearer {who.key}"}
    ),
]


class Clients:
    """Clients of the app that record every request they send."""

    def __init__(self, app: App, who: Beekeeper, t0: float) -> None:
        self.app, self.who, self.t0 = app, who, t0
        self.samples: list[Sample] = []
        self.sent_writes: list[tuple[WriteKind, str, dict[str, str], bytes, str]] = []
        self.stopping = asyncio.Event()
        self.tags = itertools.count()
        self.run_id = secrets.token_hex(3)
        # An hour ago, to the second: the two parts of a run start half a minute apart or more.
        self.readings_base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def send(
        self,
        session: Any,
        kind: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        tag: str = "",
    ) -> Sample:
        import aiohttp

        started = self.now()
        status, error = None, ""
        try:
            async with session.request(
                method,
                self.app.base_url + path,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as failure:
            error = type(failure).__name__
        sample = Sample(kind, started, self.now(), status, error, tag)
        self.samples.append(sample)
        return sample

    def new_tag(self, kind: WriteKind) -> str:
        if kind.stored == READINGS_BY_INSTANT:
            return reading_tag(self.readings_base, next(self.tags))
        return f"fault {self.run_id} {next(self.tags)}"

    async def write(self, session: Any, kind: WriteKind, rng: random.Random) -> Sample:
        tag = self.new_tag(kind)
        headers, body = kind.build(tag, rng, self.who)
        if kind.key_header:
            headers["Idempotency-Key"] = idempotency_key(tag)
        path = kind.path.format(hive=rng.choice(self.who.hives))
        self.sent_writes.append((kind, tag, headers, body, path))
        return await self.send(session, kind.name, kind.method, path, headers, body, tag)

    async def mixed(self, seed: int) -> None:
        """Reads and writes, one after another, until stopped."""
        import aiohttp

        rng = random.Random(seed)
        async with aiohttp.ClientSession() as session:
            while not self.stopping.is_set():
                if rng.random() < 0.25:
                    await self.write(session, rng.choice(WRITES), rng)
                else:
                    read = rng.choice(READS)
                    await self.send(session, read.name, "GET", read.path, read.headers(self.who))

    async def writer(self, seed: int) -> None:
        """Writes only; after a failure, a short pause (the app may be restarting)."""
        import aiohttp

        rng = random.Random(seed)
        async with aiohttp.ClientSession() as session:
            while not self.stopping.is_set():
                sample = await self.write(session, WRITES[seed % len(WRITES)], rng)
                if sample.status is None:
                    await asyncio.sleep(0.2)

    async def readiness(self, every: float = 0.2) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            while not self.stopping.is_set():
                await self.send(session, "readiness", "GET", "/health/ready", {})
                await asyncio.sleep(every)


async def stored_counts(database_url: str, writes: Sequence[tuple[WriteKind, str]]) -> Counter[str]:
    """How many times each tag is in the database."""
    import asyncpg

    counts: Counter[str] = Counter()
    conn = await asyncpg.connect(database_url)
    try:
        by_query: dict[str, list[str]] = {}
        for kind, tag in writes:
            by_query.setdefault(kind.stored, []).append(tag)
        for query, tags in by_query.items():
            for tag, count in await conn.fetch(query, tags):
                counts[tag] += count
    finally:
        await conn.close()
    return counts


# --- part 1: the database goes away -----------------------------------------------------------


@dataclass
class Outage:
    stop_began: float
    stopped: float  # pg_ctl stop returned
    start_began: float
    started: float  # pg_ctl start returned: accepting connections
    samples: list[Sample]
    recovered: float  # from here on, every request succeeded
    writes: dict[str, int]  # acknowledged, stored, lost, duplicated, refused but stored
    warnings: Counter[str]

    def database_samples(self) -> list[Sample]:
        needs = {read.name for read in READS if read.needs_database} | {w.name for w in WRITES}
        return [s for s in self.samples if s.kind in needs]

    def in_window(self, sample: Sample) -> bool:
        return sample.ended >= self.stop_began and sample.started < self.recovered

    @property
    def failed_in_window(self) -> list[Sample]:
        return [s for s in self.database_samples() if self.in_window(s) and not s.ok]

    @property
    def outside_failures(self) -> list[Sample]:
        return [
            s for s in self.samples if s.kind != "readiness" and not self.in_window(s) and not s.ok
        ]

    @property
    def before(self) -> list[Sample]:
        return [s for s in self.database_samples() if s.ended < self.stop_began and s.ok]

    @property
    def recovery_seconds(self) -> float:
        return max(0.0, self.recovered - self.started)

    def readiness(self, start: float, end: float) -> Counter[str]:
        return Counter(
            str(s.status or s.error)
            for s in self.samples
            if s.kind == "readiness" and s.started >= start and s.ended <= end
        )

    @property
    def ready_again(self) -> float | None:
        """Seconds from PostgreSQL accepting connections to /health/ready's first 200."""
        firsts = [
            s.ended
            for s in self.samples
            if s.kind == "readiness" and s.started >= self.started and s.status == 200
        ]
        return min(firsts) - self.started if firsts else None

    @property
    def anonymous_during(self) -> Counter[str]:
        return Counter(
            str(s.status or s.error)
            for s in self.samples
            if s.kind == READS[0].name and s.started >= self.stopped and s.ended <= self.start_began
        )

    @property
    def passed(self) -> bool:
        failed = self.failed_in_window
        return (
            bool(failed)
            and all(s.status == 503 for s in failed)
            and max(s.seconds for s in failed) <= FAIL_FAST_SECONDS
            and not self.outside_failures
            and self.recovery_seconds <= RECOVERY_LIMIT_SECONDS
            and set(self.readiness(self.stopped, self.start_began)) == {"503"}
            and self.writes["lost"] == 0
            and self.writes["duplicated"] == 0
        )


def recovered_at(samples: Sequence[Sample], after: float) -> float:
    """The start of the first request from which every later-started one succeeded."""
    ordered = sorted((s for s in samples if s.kind != "readiness"), key=lambda s: s.started)
    last_failure = max((s.started for s in ordered if not s.ok), default=after)
    later = [s.started for s in ordered if s.started > last_failure]
    return max(after, min(later)) if later else last_failure


def database_outage(args: argparse.Namespace, cluster: Any, app: App, who: Beekeeper) -> Outage:
    async def scenario() -> Outage:
        t0 = time.monotonic()
        clients = Clients(app, who, t0)
        tasks = [asyncio.create_task(clients.mixed(seed)) for seed in range(args.clients)]
        tasks.append(asyncio.create_task(clients.readiness()))
        await asyncio.sleep(args.warmup)
        stop_began = clients.now()
        await asyncio.to_thread(cluster.stop)
        stopped = clients.now()
        print(f"  PostgreSQL stopped at {stopped:.1f} s", flush=True)
        await asyncio.sleep(args.outage)
        start_began = clients.now()
        await asyncio.to_thread(cluster.ensure_running)
        started = clients.now()
        print(f"  PostgreSQL accepting connections again at {started:.1f} s", flush=True)
        await asyncio.sleep(args.after)
        clients.stopping.set()
        await asyncio.gather(*tasks)

        sent = [(kind, tag) for kind, tag, *_ in clients.sent_writes]
        counts = await stored_counts(cluster.url(DATABASE), sent)
        acknowledged = {s.tag for s in clients.samples if s.tag and s.ok}
        refused = {s.tag for s in clients.samples if s.tag and s.status is not None and not s.ok}
        writes = {
            "sent": len(sent),
            "acknowledged": len(acknowledged),
            "lost": sum(1 for tag in acknowledged if counts[tag] == 0),
            "duplicated": sum(1 for count in counts.values() if count > 1),
            "refused but stored": sum(1 for tag in refused if counts[tag] > 0),
        }
        return Outage(
            stop_began=stop_began,
            stopped=stopped,
            start_began=start_began,
            started=started,
            samples=clients.samples,
            recovered=recovered_at(clients.samples, started),
            writes=writes,
            warnings=app.warnings(),
        )

    return asyncio.run(scenario())


# --- part 2: the app is killed ------------------------------------------------------------------


@dataclass
class Crashes:
    kills: list[float]  # when, in seconds since the start
    restarts: list[float]  # seconds from the kill to ready again
    samples: list[Sample]
    writes: dict[str, int]
    replays: dict[str, int] | None  # None: no write kind carries an Idempotency-Key
    replay_answers: Counter[str]

    @property
    def passed(self) -> bool:
        replays_ok = self.replays is None or (
            self.replays["missing"] == 0 and self.replays["duplicated"] == 0
        )
        return (
            self.writes["lost"] == 0
            and self.writes["duplicated"] == 0
            and self.writes["refused but stored"] == 0
            and replays_ok
        )


def app_crashes(args: argparse.Namespace, cluster: Any, app: App, who: Beekeeper) -> Crashes:
    rng = random.Random(args.seed)

    async def scenario() -> Crashes:
        import aiohttp

        t0 = time.monotonic()
        clients = Clients(app, who, t0)
        tasks = [asyncio.create_task(clients.writer(seed)) for seed in range(args.writers)]
        kills, restarts = [], []
        for _ in range(args.kills):
            await asyncio.sleep(rng.uniform(1.5, 3.5))
            kills.append(clients.now())
            app.kill()
            restarts.append(await asyncio.to_thread(app.start))
            print(f"  killed at {kills[-1]:.1f} s, ready again after {restarts[-1]:.2f} s")
        await asyncio.sleep(2)
        clients.stopping.set()
        await asyncio.gather(*tasks)

        sent = [(kind, tag) for kind, tag, *_ in clients.sent_writes]
        counts = await stored_counts(cluster.url(DATABASE), sent)
        acknowledged = {s.tag for s in clients.samples if s.ok}
        # Refused: nothing listened (the app was down), so the request was never sent.
        refused = {s.tag for s in clients.samples if s.error == "ClientConnectorError"}
        cut_off = {s.tag for s in clients.samples if s.status is None} - refused
        writes = {
            "sent": len(sent),
            "acknowledged": len(acknowledged),
            "lost": sum(1 for tag in acknowledged if counts[tag] == 0),
            "duplicated": sum(1 for count in counts.values() if count > 1),
            "refused": len(refused),
            "refused but stored": sum(1 for tag in refused if counts[tag] > 0),
            "cut off": len(cut_off),
            "cut off but stored": sum(1 for tag in cut_off if counts[tag] > 0),
        }
        replays, answers = None, Counter[str]()
        idempotent = [entry for entry in clients.sent_writes if entry[0].idempotent]
        if idempotent:
            async with aiohttp.ClientSession() as session:
                for kind, tag, headers, body, path in idempotent:
                    replayed = await clients.send(
                        session, "replay", kind.method, path, headers, body, tag
                    )
                    answers[str(replayed.status or replayed.error)] += 1
            after = await stored_counts(cluster.url(DATABASE), [(k, t) for k, t, *_ in idempotent])
            replays = {
                "replayed": len(idempotent),
                "missing": sum(1 for _, tag, *_ in idempotent if after[tag] == 0),
                "duplicated": sum(1 for _, tag, *_ in idempotent if after[tag] > 1),
            }
        return Crashes(kills, restarts, clients.samples, writes, replays, answers)

    return asyncio.run(scenario())


# --- the run and its report ---------------------------------------------------------------------


@dataclass
class Report:
    args: argparse.Namespace
    machine: dict[str, str]
    outage: Outage
    crashes: Crashes
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.outage.passed and self.crashes.passed


def run(args: argparse.Namespace) -> Report:
    began = time.monotonic()
    machine = machine_facts(PACKAGES)
    logs = DATA_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / "app.log"
    log_path.unlink(missing_ok=True)
    print("starting a PostgreSQL cluster of its own under .data/faults ...", flush=True)
    with own_cluster() as cluster:
        app = App(cluster.url(DATABASE), log_path)
        try:
            app.start()
            who = sign_up(app.port, "faults@example.org", args.hives)
            add_sensors(app.port, who, 1)  # a scale and a temperature probe
            print(
                f"1. PostgreSQL away for {args.outage} s under {args.clients} clients", flush=True
            )
            outage = database_outage(args, cluster, app, who)
            print(f"2. the app killed {args.kills} times under {args.writers} writers", flush=True)
            crashes = app_crashes(args, cluster, app, who)
        finally:
            app.stop()
    machine["load average at the end"] = load_average()
    return Report(args, machine, outage, crashes, time.monotonic() - began)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def counted(counter: Counter[str]) -> str:
    return ", ".join(f"{name}: {n}" for name, n in sorted(counter.items())) or "none"


def outage_lines(report: Report) -> list[str]:
    o = report.outage
    failed = o.failed_in_window
    failed_times = [s.seconds for s in failed]
    before_times = [s.seconds for s in o.before]
    window_statuses = Counter(str(s.status or s.error) for s in failed)
    verdict = "Passed" if o.passed else "FAILED"
    ready_again = "never" if o.ready_again is None else f"{o.ready_again:.2f} s"
    return [
        f"- {verdict}. `pg_ctl stop -m fast` took {o.stopped - o.stop_began:.2f} s, the database "
        f"was away for {o.start_began - o.stopped:.1f} s, and `pg_ctl start` took "
        f"{o.started - o.start_began:.2f} s until it accepted connections.",
        f"- While it was away, {len(failed):,} requests that need it failed, answered "
        f"{counted(window_statuses)}, in {ms(statistics.median(failed_times) if failed else 0)} "
        f"median, {ms(percentile(failed_times, 0.99))} at p99 and "
        f"{ms(max(failed_times, default=0))} at most (the limit is {FAIL_FAST_SECONDS:.0f} s), "
        f"against {ms(statistics.median(before_times) if before_times else 0)} median for the "
        "same requests succeeding before the outage: they failed fast and did not hang.",
        f"- The anonymous home page, which needs no database, answered "
        f"{counted(o.anonymous_during)} meanwhile; `/health/ready` answered "
        f"{counted(o.readiness(o.stopped, o.start_began))} while the database was away and "
        f"{counted(o.readiness(0, o.stop_began))} before.",
        f"- Recovery: every request started {o.recovery_seconds:.2f} s or more after PostgreSQL "
        f"accepted connections again succeeded (the limit is {RECOVERY_LIMIT_SECONDS:.0f} s); "
        f"`/health/ready` said 200 again after {ready_again}. No restart of the app: its pool "
        "checks each connection before use and reconnects.",
        f"- Outside that window: {len(o.outside_failures)} failed requests (5xx or no answer).",
        f"- Writes: {o.writes['sent']:,} sent, {o.writes['acknowledged']:,} acknowledged, "
        f"{o.writes['lost']} acknowledged but lost, {o.writes['duplicated']} stored twice, "
        f"{o.writes['refused but stored']} answered 503 although stored. (That can happen when "
        "the database goes away between a write's commit and its answer: the API, for one, "
        "reads the new hive back for its answer. Retried without an Idempotency-Key, such a "
        "write is made twice.)",
        f"- The app's warnings: {counted(o.warnings)}.",
    ]


def crash_lines(report: Report) -> list[str]:
    c = report.crashes
    verdict = "Passed" if c.passed else "FAILED"
    statuses = Counter(str(s.status or s.error) for s in c.samples if s.kind != "replay")
    acknowledged = Counter(s.kind for s in c.samples if s.kind != "replay" and s.ok)
    replays = (
        "Replays with the same key: none, since no write kind in WRITES carries one."
        if c.replays is None
        else "Replays: every write sent with a key (an Idempotency-Key header, the form's "
        "hidden field, or a reading's sensor and instant; "
        f"{c.replays['replayed']:,} writes, "
        "answered, cut off or refused alike) was sent again after the last restart with the "
        f"same key, as an offline outbox does; answered {counted(c.replay_answers)}. Then "
        f"{c.replays['missing']} were missing and {c.replays['duplicated']} stored twice."
    )
    return [
        f"- {verdict}. Killed with SIGKILL at {', '.join(f'{k:.1f} s' for k in c.kills)}; "
        "started again at once, ready (`/health/ready` 200) after "
        f"{', '.join(f'{r:.2f} s' for r in c.restarts)}.",
        f"- Writes acknowledged by kind: {counted(acknowledged)}.",
        f"- Writes: {c.writes['sent']:,} sent, answered {counted(statuses)}. Of "
        f"{c.writes['acknowledged']:,} acknowledged, {c.writes['lost']} are missing from the "
        f"database; {c.writes['duplicated']} are stored twice. {c.writes['refused']:,} found no "
        f"app listening while it restarted ({c.writes['refused but stored']} stored). "
        f"{c.writes['cut off']} were cut off by a kill, unanswered, of which "
        f"{c.writes['cut off but stored']} were stored: committed before the kill, the answer "
        "lost with the process. A client that retries those without an Idempotency-Key creates "
        "them again.",
        f"- {replays}",
    ]


def section(report: Report) -> str:
    args = report.args
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    facts = "\n".join(f"- {name}: {value}" for name, value in report.machine.items())
    return "\n".join(
        [
            BEGIN,
            "## Faults: the database away under load, the app killed mid-write",
            "",
            f"Measured {when} with `make load` (`uv run --locked python bench/faults.py`), which "
            f"wrote this section in {report.seconds:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            "A PostgreSQL cluster of the script's own (under `.data/faults`, on a free loopback "
            "port) and `python -m app serve` on it; a beekeeper who signed up through the form, "
            f"with {args.hives} hives, a scale and a temperature probe on one of them, and an "
            "API key.",
            "",
            f"**1. PostgreSQL stopped for {args.outage} s under load.** {args.clients} clients "
            "send requests without pause (the signed-in hive list page and fragment, the hive "
            "map's GeoJSON, the API's hive list, hives created through the API and the form, "
            "inspections recorded through the API and the form, batches of sensor readings, "
            "and the anonymous home page) and another "
            "polls `/health/ready` every 0.2 s; after "
            f"{args.warmup} s the cluster is stopped, {args.outage} s later started again, and "
            f"the clients go on for {args.after} s.",
            "",
            *outage_lines(report),
            "",
            f"**2. The app killed mid-write.** {args.writers} clients write without pause, each "
            "write with a tag of its own, each client one kind of write: hives created through "
            "the API and through the form, inspections recorded through the API (with an "
            "Idempotency-Key header) and through the form (with the key in its hidden field), "
            "and batches of readings of both sensors through the API (a reading's sensor and "
            f"instant are its key). The app is killed {args.kills} times at random moments and "
            "started again at once.",
            "",
            *crash_lines(report),
            END,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=32, help="clients during the outage")
    parser.add_argument("--warmup", type=float, default=5, help="seconds before the outage")
    parser.add_argument("--outage", type=float, default=10, help="seconds without PostgreSQL")
    parser.add_argument("--after", type=float, default=15, help="seconds after it is back")
    parser.add_argument("--writers", type=int, default=16, help="clients while the app is killed")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--hives", type=int, default=50, help="the beekeeper's hives")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--doc", type=Path, default=DOC, help="the results file to update")
    parser.add_argument("--no-write", action="store_true", help="leave the results file alone")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run(args)
    print("\n1. The database away:\n" + "\n".join(outage_lines(report)))
    print("\n2. The app killed:\n" + "\n".join(crash_lines(report)))
    if not args.no_write:
        write_section(section(report), BEGIN, END, args.doc)
        print(f"wrote {args.doc}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())

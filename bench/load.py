"""Load: CityHive's mixed traffic at 200 connections for 60 s, on loopback.

    make load         # this, then bench/faults.py
    uv run --locked python bench/load.py [--duration 60] [--connections 200]

1. a throwaway database migrated to head (on TEST_DATABASE_URL's or DATABASE_URL's server, else
   the local cluster, as `make test` starts it) and the real app, `python -m app serve`, at
   LOG_LEVEL=INFO as in production, its log to a file;
2. a beekeeper signed up through /signup, with an API key from the profile page, `--hives`
   hives added through the API, and a scale and a temperature probe on `--sensor-hives` of them
   added through the sensor form;
3. wrk with bench/load.lua, which draws each request by weight from its mix: public pages (the
   city's density layer and statistics, the swarm report form), the beekeeper's pages (Today, a
   hive page with its sensor charts), htmx fragments, the hive map's GeoJSON, API reads, and
   writes: hives through the API and the form, batches of sensor readings through the API;
   first at `--reference-connections` (the same mix, not saturating the server: the reference),
   then at `--connections` for `--duration` seconds, while the server's memory is sampled;
4. afterwards, the writes: every hive that was answered 201 or 303, and every reading that an
   answer counted as stored, must be in the database.

It passes (exit 0) when the run had no 5xx answer, no socket error (connect, read, write or
timeout) and lost no acknowledged write. It prints a summary and rewrites the
`<!-- bench:load -->` section of docs/benchmarks.md (`--no-write` leaves it alone).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from _common import (
    HOST,
    ROOT,
    Server,
    bench_database,
    busy,
    get,
    load_arguments,
    load_average,
    machine_facts,
    measure_and_report,
    server,
    wait_ready,
)
from _workload import BBOX, Beekeeper, add_sensors, memory_kib, sign_up

BEGIN = "<!-- bench:load -->"
END = "<!-- /bench:load -->"
SCRIPT = ROOT / "bench" / "load.lua"
PACKAGES = ("aiohttp", "aiohttp-session", "sqlalchemy", "asyncpg", "jinja2", "structlog")
WRK_TIMEOUT_SECONDS = 10
P99_TARGET_MS = 1000  # issue 21: p99 under 1 s at 200 connections with the default WORKERS
EMAIL = "load@example.org"


@dataclass
class Run:
    label: str
    connections: int
    seconds: int
    numbers: dict  # what load.lua printed
    cpu_seconds: float  # the server's, during the run
    rss_kib: list[int] = field(default_factory=list)  # sampled during the run

    @property
    def requests(self) -> int:
        return int(self.numbers["requests"])

    @property
    def rps(self) -> float:
        return self.requests / (self.numbers["duration_us"] / 1e6)

    def ms(self, name: str) -> float:
        return float(self.numbers[name]) / 1000

    @property
    def statuses(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.numbers["statuses"].items()}

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status.startswith("5"))

    @property
    def socket_errors(self) -> int:
        return sum(int(n) for n in self.numbers["socket_errors"].values())

    @property
    def core_share(self) -> float:
        """The server's CPU time over the run's wall time: 1.0 is one core, all the time."""
        return self.cpu_seconds / (self.numbers["duration_us"] / 1e6)

    @property
    def acknowledged_readings(self) -> int:
        """Readings that the answers (200) counted as newly stored."""
        return int(self.numbers.get("readings_stored", 0))

    @property
    def acknowledged_writes(self) -> int:
        """Hives created: 201 from the API, 303 from the form (nothing else in the mix
        answers either)."""
        return self.statuses.get("201", 0) + self.statuses.get("303", 0)


@dataclass
class Report:
    runs: list[Run]
    machine: dict[str, str]
    hives_before: int
    hives_after: int
    readings_after: int
    sensors: int
    memory_start_kib: int
    memory_peak_kib: int
    log_lines: int
    log_problems: dict[str, list[str]]  # "warning database_unavailable" → examples
    server_ms: dict[str, list[float]]  # "GET /hives/{id}" → each request's time in the server
    ready_after: int
    threads: int
    workers: int
    seconds: float = 0.0

    @property
    def main(self) -> Run:
        return self.runs[-1]

    @property
    def reference(self) -> Run:
        return self.runs[0]

    @property
    def acknowledged(self) -> int:
        return sum(run.acknowledged_writes for run in self.runs)

    @property
    def stored(self) -> int:
        return self.hives_after - self.hives_before

    @property
    def lost_writes(self) -> int:
        return max(0, self.acknowledged - self.stored)

    @property
    def acknowledged_readings(self) -> int:
        return sum(run.acknowledged_readings for run in self.runs)

    @property
    def lost_readings(self) -> int:
        return max(0, self.acknowledged_readings - self.readings_after)

    @property
    def passed(self) -> bool:
        main = self.main
        return (
            main.server_errors == 0
            and main.socket_errors == 0
            and self.lost_writes == 0
            and self.lost_readings == 0
            and self.ready_after == 200
        )

    @property
    def p99_met(self) -> bool:
        return self.main.ms("p99_us") < P99_TARGET_MS


def app_env(database_url: str, data_dir: Path, workers: int | None = None) -> dict[str, str]:
    """The app's environment; WORKERS unset means the app's default (one per CPU)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "WORKERS")}
    env.update(
        DATABASE_URL=database_url,
        HOST=HOST,
        SECRET_KEY=secrets.token_urlsafe(36),
        DEMO_DATA="false",
        LOG_LEVEL="INFO",
        DATA_DIR=str(data_dir),
    )
    if workers is not None:
        env["WORKERS"] = str(workers)
    return env


def default_workers() -> int:
    """What WORKERS is when it is not set (app/settings.py): the CPUs this process may use."""
    return len(os.sched_getaffinity(0))


def resident_kib(app: Server, name: str = "VmRSS") -> int:
    """The server's resident memory: its process and its workers, added up."""
    total = 0
    for pid in app.pids():
        with contextlib.suppress(OSError, AttributeError):
            total += memory_kib(pid)[name]
    return total


def wrk_env(beekeeper: Beekeeper, run_number: int) -> dict[str, str]:
    return os.environ | {
        "CITYHIVE_COOKIE": beekeeper.cookie,
        "CITYHIVE_CSRF": beekeeper.csrf,
        "CITYHIVE_KEY": beekeeper.key,
        "CITYHIVE_HIVES": ",".join(map(str, beekeeper.hives)),
        "CITYHIVE_SENSOR_HIVES": ",".join(map(str, beekeeper.sensor_hives)),
        "CITYHIVE_SENSORS": ",".join(f"{id}:{kind}" for id, kind in beekeeper.sensors.items()),
        "CITYHIVE_BBOX": BBOX,
        "CITYHIVE_RUN": str(run_number),
    }


def run_wrk(
    app: Server, env: Mapping[str, str], connections: int, seconds: int, threads: int, label: str
) -> Run:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT_SECONDS}s",
        "-s",
        str(SCRIPT),
        f"http://{HOST}:{app.port}/",
    ]
    samples: list[int] = []
    stop = threading.Event()

    def sample_memory() -> None:
        while not stop.wait(0.5):
            samples.append(resident_kib(app))

    sampler = threading.Thread(target=sample_memory, daemon=True)
    cpu_before = app.cpu_seconds()
    sampler.start()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
        )
    finally:
        stop.set()
        sampler.join()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    lines = done.stdout.splitlines()
    line = next((each for each in lines if each.startswith("CITYHIVE-LOAD ")), None)
    if line is None:
        raise SystemExit(f"load.lua printed no result:\n{done.stdout}{done.stderr}")
    numbers = json.loads(line.removeprefix("CITYHIVE-LOAD "))
    return Run(label, connections, seconds, numbers, app.cpu_seconds() - cpu_before, samples)


HIVES_OF = (
    "SELECT count(*) FROM hives JOIN users ON users.id = hives.owner_id WHERE users.email = $1"
)
READINGS_OF = (
    "SELECT count(*) FROM readings JOIN sensors ON sensors.id = readings.sensor_id"
    " JOIN hives ON hives.id = sensors.hive_id JOIN users ON users.id = hives.owner_id"
    " WHERE users.email = $1"
)


def count(database_url: str, query: str, email: str) -> int:
    import asyncio

    import asyncpg

    async def counted() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            found: int = await conn.fetchval(query, email)
            return found
        finally:
            await conn.close()

    return asyncio.run(counted())


# aiohttp's error for a body cut off by the client: wrk closes its connections when its time is
# up, mid-request for some, and the app logs the request it could not finish reading.
HUNG_UP = "ConnectionResetError: Connection lost"
DIGITS = re.compile(r"/\d+")


def read_log(path: Path) -> tuple[int, dict[str, list[str]], dict[str, list[float]]]:
    """The number of log lines; the warnings and errors by level and event, with their
    details; and the server's time for each request (its `duration_ms`), by method and route."""
    lines = 0
    problems: dict[str, list[str]] = {}
    server_ms: dict[str, list[float]] = {}
    for text in path.open(errors="replace"):
        lines += 1
        with contextlib.suppress(ValueError):
            entry = json.loads(text)
            if entry.get("event") == "request" and "duration_ms" in entry:
                route = f"{entry.get('method')} {DIGITS.sub('/{id}', str(entry.get('path')))}"
                server_ms.setdefault(route, []).append(float(entry["duration_ms"]))
            if entry.get("level") in ("warning", "error", "critical"):
                name = f"{entry['level']} {entry.get('event')}"
                if HUNG_UP in str(entry.get("exception", "")):
                    name += " (the client hung up mid-request)"
                found = problems.setdefault(name, [])
                details = {k: v for k, v in entry.items() if k not in ("timestamp", "level")}
                found.append(json.dumps(details)[:400])
    return lines, problems, server_ms


def settle(app: Server, idle_for: float = 1.0, limit: float = 30.0) -> None:
    """Wait until the server has finished what wrk left in flight (its CPU stops moving)."""
    deadline = time.monotonic() + limit
    last = app.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(idle_for)
        now = app.cpu_seconds()
        if now - last < 0.05 * idle_for:
            return
        last = now


def run(args) -> Report:
    started = time.monotonic()
    machine = machine_facts(PACKAGES)
    with (
        bench_database("cityhive_load") as database_url,
        tempfile.TemporaryDirectory(prefix="cityhive-load-") as tmp,
    ):
        logs = Path(tmp)
        env = app_env(database_url, logs / "data", args.workers)
        command = [sys.executable, "-m", "app", "serve"]
        with server("app", command, env, logs) as app:
            wait_ready([app], "/health/ready")
            print(
                f"signing up a beekeeper with {args.hives} hives, sensors on "
                f"{args.sensor_hives} ...",
                flush=True,
            )
            beekeeper = sign_up(app.port, EMAIL, args.hives)
            add_sensors(app.port, beekeeper, args.sensor_hives)
            hives_before = count(database_url, HIVES_OF, EMAIL)
            memory_start = resident_kib(app)
            runs = []
            for number, (label, connections, seconds) in enumerate(
                (
                    ("reference", args.reference_connections, args.reference_duration),
                    ("load", args.connections, args.duration),
                ),
                start=1,
            ):
                print(f"{label}: {connections} connections for {seconds} s ...", flush=True)
                environment = wrk_env(beekeeper, number)
                result = run_wrk(app, environment, connections, seconds, args.threads, label)
                runs.append(result)
                print(
                    f"  {result.rps:,.0f} req/s, p50 {result.ms('p50_us'):.1f} ms, "
                    f"p99 {result.ms('p99_us'):.1f} ms, statuses {result.statuses}, "
                    f"socket errors {result.numbers['socket_errors']}",
                    flush=True,
                )
                settle(app)
            memory_peak = resident_kib(app, "VmHWM")
            ready_after = get(app.port, path="/health/ready", timeout=10).status
            hives_after = count(database_url, HIVES_OF, EMAIL)
            readings_after = count(database_url, READINGS_OF, EMAIL)
        log_lines, problems, server_ms = read_log(logs / "app.log")
    machine["load average at the end"] = load_average()
    report = Report(
        runs=runs,
        machine=machine,
        hives_before=hives_before,
        hives_after=hives_after,
        readings_after=readings_after,
        sensors=len(beekeeper.sensors),
        memory_start_kib=memory_start,
        memory_peak_kib=memory_peak,
        log_lines=log_lines,
        log_problems=problems,
        server_ms=server_ms,
        ready_after=ready_after,
        threads=args.threads,
        workers=args.workers or default_workers(),
    )
    report.seconds = time.monotonic() - started
    return report


# --- the report -------------------------------------------------------------------------------


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f} MiB"


def table(report: Report) -> list[str]:
    rows = [
        "| run | connections | duration | requests | req/s | p50 | p90 | p99 | max "
        "| 5xx | socket errors | server CPU per request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in report.runs:
        rows.append(
            f"| {run.label} | {run.connections} | {run.seconds} s | {run.requests:,} "
            f"| {run.rps:,.0f} | {run.ms('p50_us'):,.1f} ms | {run.ms('p90_us'):,.1f} ms "
            f"| {run.ms('p99_us'):,.1f} ms | {run.ms('max_us'):,.0f} ms | {run.server_errors} "
            f"| {run.socket_errors} | {run.cpu_seconds / max(run.requests, 1) * 1e6:,.0f} µs |"
        )
    return rows


def mix(run: Run) -> str:
    sent = run.numbers["sent"]
    total = sum(sent.values())
    return "; ".join(
        f"{kind} {count / total:.0%}"
        for kind, count in sorted(sent.items(), key=lambda item: -item[1])
    )


def slowest(report: Report, count: int = 6) -> list[str]:
    """The routes slowest inside the app (p99 of the logged time per request, both runs)."""
    timed = [
        (percentile(times, 0.99), statistics.median(times), len(times), route)
        for route, times in report.server_ms.items()
        if len(times) >= 20
    ]
    rows = [
        "| route | requests | time in the app, p50 | time in the app, p99 |",
        "|---|---:|---:|---:|",
    ]
    for p99, p50, n, route in sorted(timed, reverse=True)[:count]:
        rows.append(f"| `{route}` | {n:,} | {p50:,.1f} ms | {p99:,.1f} ms |")
    return rows


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def interpretation(report: Report) -> list[str]:
    main, reference = report.main, report.reference
    rss = main.rss_kib or [report.memory_start_kib]
    verdict = "Passed" if report.passed else "FAILED"
    errors = ", ".join(f"{kind} {n}" for kind, n in main.numbers["socket_errors"].items())
    return [
        f"- {verdict}: {main.server_errors} answers with a 5xx status and {main.socket_errors} "
        f"socket errors ({errors}) at {main.connections} connections, wrk's timeout being "
        f"{WRK_TIMEOUT_SECONDS} s; `/health/ready` answered {report.ready_after} afterwards.",
        f"- Throughput at {main.connections} connections was {main.rps / reference.rps:.2f} of "
        f"that at {reference.connections} ({main.rps:,.0f} against {reference.rps:,.0f} req/s). "
        f"The server ({workers_said(report.workers)}) used {main.core_share:.0%} of a core in "
        f"the main run and {reference.core_share:.0%} in the reference, on "
        f"{default_workers()} CPUs shared with wrk and PostgreSQL: past saturation more "
        "connections only wait longer. Median latency grew "
        f"{main.ms('p50_us') / reference.ms('p50_us'):.1f} times and p99 "
        f"{main.ms('p99_us') / reference.ms('p99_us'):.1f} times; with {main.connections} "
        f"requests in flight, queueing alone puts p50 near {main.connections} / (req/s) = "
        f"{main.connections / main.rps * 1000:,.0f} ms. How throughput grows with WORKERS: "
        "the next section.",
        f"- p99 {main.ms('p99_us'):,.0f} ms at {main.connections} connections: the target of "
        f"under {P99_TARGET_MS:,} ms is {'met' if report.p99_met else 'NOT met'}.",
        f"- Memory of the server ({workers_said(report.workers)}, added up): "
        f"{mib(report.memory_start_kib)} resident before the "
        f"runs, {mib(statistics.median(rss))} median and {mib(max(rss))} most while loaded "
        f"(sampled every 0.5 s), {mib(report.memory_peak_kib)} at its peak (VmHWM).",
        f"- Writes: {report.acknowledged:,} hives were acknowledged (201 from the API, 303 from "
        f"the form) and {report.stored:,} were stored: {report.lost_writes} acknowledged writes "
        f"lost. {report.acknowledged_readings:,} sensor readings were acknowledged as stored "
        f"(the count in each 200 answer to a batch) and {report.readings_after:,} are in the "
        f"database: {report.lost_readings} lost. (Stored can exceed acknowledged by the writes "
        "still in flight when wrk stopped.)",
        f"- The server wrote {report.log_lines:,} JSON log lines at INFO; warnings and errors: "
        + (
            ", ".join(f"{name}: {len(found)}" for name, found in report.log_problems.items())
            or "none"
        )
        + ".",
    ]


def section(report: Report) -> str:
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    facts = "\n".join(f"- {name}: {value}" for name, value in report.machine.items())
    main = report.main
    statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(main.statuses.items()))
    return "\n".join(
        [
            BEGIN,
            f"## Load: mixed traffic at {main.connections} connections for {main.seconds} s",
            "",
            f"Measured {when} with `make load` (`uv run --locked python bench/load.py`), which "
            f"wrote this section in {report.seconds:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            f"Load: `wrk -t{report.threads} -c{main.connections} -d{main.seconds}s "
            f"--timeout={WRK_TIMEOUT_SECONDS}s -s bench/load.lua`, on loopback, against "
            f"`python -m app serve` ({workers_said(report.workers)}, the default WORKERS, "
            "LOG_LEVEL=INFO, its log to a file) on a "
            "throwaway database, after the same mix at "
            f"{report.reference.connections} connections for {report.reference.seconds} s as "
            "the reference. The beekeeper signed up through the app's form, has "
            f"{report.hives_before:,} hives, {report.sensors} sensors (a scale and a "
            "temperature probe on some hives) and one API key; each wrk request is drawn by "
            "weight from load.lua's mix; a readings batch holds 20 readings. Sent in the main "
            "run: " + mix(main) + ".",
            "",
            *table(report),
            "",
            f"Answers in the main run by status: {statuses}.",
            "",
            *interpretation(report),
            "",
            "The routes whose requests took longest inside the app, by the time its log gives "
            "each request (both runs): from the app's first middleware to the answer, so it "
            "includes waiting for a pooled database connection and for the event loop between "
            "awaits, but not the wait before the server reads the request.",
            "",
            *slowest(report),
            END,
        ]
    )


def workers_said(workers: int) -> str:
    return "one process" if workers == 1 else f"{workers} worker processes under gunicorn"


def summary(report: Report) -> list[str]:
    examples = [f"  {name}: {found[0]}" for name, found in report.log_problems.items() if found]
    return [*table(report), "", *interpretation(report), "", *slowest(report), *examples]


def main(argv: Sequence[str] | None = None) -> int:
    parser = load_arguments(
        __doc__.split("\n", 1)[0], duration=60, rounds=1, warmup=0, connections=200
    )
    parser.add_argument("--reference-connections", type=int, default=8)
    parser.add_argument("--reference-duration", type=int, default=15, help="seconds")
    parser.add_argument("--hives", type=int, default=200, help="the beekeeper's hives")
    parser.add_argument("--sensor-hives", type=int, default=20, help="hives with two sensors")
    parser.add_argument("--workers", type=int, default=None, help="WORKERS (default: the app's)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    outcome: list[Report] = []

    def measured() -> Report:
        outcome.append(run(args))
        return outcome[0]

    status = measure_and_report(args, measured, summary, section, (BEGIN, END))
    return status if status or outcome[0].passed else 1


if __name__ == "__main__":
    sys.exit(main())

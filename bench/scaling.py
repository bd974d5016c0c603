"""Scaling with cores: the load mix against WORKERS = 1, 2 and 4 on the same machine.

    uv run --locked python bench/scaling.py [--workers 1,2,4] [--duration 20] [--connections 64]

For each WORKERS value, in turn: a throwaway database, `python -m app serve` with that many
workers (LOG_LEVEL=INFO, its log to a file), a beekeeper signed up through the form with
`--hives` hives and sensors on `--sensor-hives` of them (as bench/load.py makes one), a warm-up,
then wrk with bench/load.lua's mix at `--connections` for `--duration` seconds. Every value
gets a new database and a new server, so none inherits another's data or warm caches; the
values run `--rounds` times, every other round in reverse order, and the table gives the median.

It prints a table and rewrites the `<!-- bench:scaling -->` section of docs/benchmarks.md
(`--no-write` leaves it alone). Loopback only; everything it starts is gone afterwards.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from _common import (
    ROOT,
    bench_database,
    busy,
    load_arguments,
    load_average,
    machine_facts,
    measure_and_report,
    server,
    wait_ready,
)
from _workload import add_sensors, sign_up
from load import PACKAGES, Run, app_env, default_workers, run_wrk, settle, wrk_env

BEGIN = "<!-- bench:scaling -->"
END = "<!-- /bench:scaling -->"
EMAIL = "scaling@example.org"


@dataclass
class Scaled:
    workers: int
    runs: list[Run] = field(default_factory=list)

    def median(self, value: str) -> float:
        values = {
            "rps": [run.rps for run in self.runs],
            "p50": [run.ms("p50_us") for run in self.runs],
            "p99": [run.ms("p99_us") for run in self.runs],
            "cores": [run.core_share for run in self.runs],
            "cpu": [run.cpu_seconds / max(run.requests, 1) * 1e6 for run in self.runs],
            "errors": [run.server_errors + run.socket_errors for run in self.runs],
        }[value]
        return statistics.median(values)


@dataclass
class Report:
    scaled: list[Scaled]
    connections: int
    duration: int
    warmup: int
    hives: int
    machine: dict[str, str]
    mix: str = ""
    seconds: float = 0.0


def measure_one(workers: int, args, logs: Path) -> tuple[Run, str]:
    with bench_database("cityhive_scaling") as database_url:
        env = app_env(database_url, logs / f"data-{workers}", workers)
        command = [sys.executable, "-m", "app", "serve"]
        with server(f"app-{workers}", command, env, logs) as app:
            wait_ready([app], "/health/ready")
            beekeeper = sign_up(app.port, EMAIL, args.hives)
            add_sensors(app.port, beekeeper, args.sensor_hives)
            if args.warmup:
                run_wrk(app, wrk_env(beekeeper, 1), args.connections, args.warmup, 1, "warm-up")
                settle(app)
            label = f"WORKERS={workers}"
            run = run_wrk(app, wrk_env(beekeeper, 2), args.connections, args.duration, 1, label)
            settle(app)
    sent = run.numbers["sent"]
    total = sum(sent.values())
    mix = "; ".join(
        f"{kind} {n / total:.0%}" for kind, n in sorted(sent.items(), key=lambda i: -i[1])
    )
    return run, mix


def run(args) -> Report:
    started = time.monotonic()
    machine = machine_facts(PACKAGES)
    scaled = [Scaled(int(w)) for w in args.workers.split(",")]
    mix = ""
    with tempfile.TemporaryDirectory(prefix="cityhive-scaling-") as tmp:
        for number in range(args.rounds):
            order = scaled if number % 2 == 0 else list(reversed(scaled))
            for each in order:
                print(f"round {number + 1}: WORKERS={each.workers} ...", flush=True)
                result, mix = measure_one(each.workers, args, Path(tmp))
                each.runs.append(result)
                print(
                    f"  {result.rps:,.0f} req/s, p99 {result.ms('p99_us'):,.0f} ms, "
                    f"{result.core_share:.2f} cores",
                    flush=True,
                )
    machine["load average at the end"] = load_average()
    report = Report(scaled, args.connections, args.duration, args.warmup, args.hives, machine, mix)
    report.seconds = time.monotonic() - started
    return report


def table(report: Report) -> list[str]:
    one = report.scaled[0].median("rps")
    rows = [
        "| WORKERS | req/s | ratio to the first row | p50 | p99 | server CPU used | "
        "server CPU per request | 5xx and socket errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for each in report.scaled:
        rows.append(
            f"| {each.workers} | {each.median('rps'):,.0f} | {each.median('rps') / one:.2f} "
            f"| {each.median('p50'):,.0f} ms | {each.median('p99'):,.0f} ms "
            f"| {each.median('cores'):.2f} cores | {each.median('cpu'):,.0f} µs "
            f"| {each.median('errors'):.0f} |"
        )
    return rows


def interpretation(report: Report) -> list[str]:
    by = {each.workers: each for each in report.scaled}
    said = []
    if 1 in by and 2 in by:
        gain = by[2].median("rps") / by[1].median("rps")
        said.append(
            f"- From 1 to 2 workers throughput grew {gain:.2f}x; the server's processes used "
            f"{by[1].median('cores'):.2f} and {by[2].median('cores'):.2f} cores. This machine "
            f"has {default_workers()} CPUs, which wrk and PostgreSQL share with the server, so "
            "a second worker gains less than a second core would on a machine of its own."
        )
    if 2 in by and 4 in by:
        gain = by[4].median("rps") / by[2].median("rps")
        said.append(
            f"- From 2 to 4 workers: {gain:.2f}x. With more workers than CPUs the workers only "
            "take turns; WORKERS defaults to the CPUs the process may use for that reason."
        )
    rps = [run.rps for each in report.scaled for run in each.runs]
    if len(rps) > len(report.scaled):
        spreads = [
            (max(r.rps for r in e.runs) - min(r.rps for r in e.runs)) / e.median("rps")
            for e in report.scaled
        ]
        said.append(
            f"- The rounds of one WORKERS value differed by up to {max(spreads):.0%} of its "
            "median req/s: differences smaller than that may be noise."
        )
    return said


def section(report: Report) -> str:
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    facts = "\n".join(f"- {name}: {value}" for name, value in report.machine.items())
    rounds = len(report.scaled[0].runs)
    by_round = "; ".join(
        f"WORKERS={e.workers}: " + ", ".join(f"{r.rps:,.0f}" for r in e.runs) for e in report.scaled
    )
    return "\n".join(
        [
            BEGIN,
            "## Scaling with cores: the load mix at WORKERS = "
            + ", ".join(str(e.workers) for e in report.scaled),
            "",
            f"Measured {when} with `uv run --locked python bench/scaling.py`, which wrote this "
            f"section in {report.seconds:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            f"For each WORKERS value: a new throwaway database and `python -m app serve` with "
            f"that many workers (LOG_LEVEL=INFO), a beekeeper with {report.hives} hives signed "
            f"up through the form, a {report.warmup} s warm-up, then `wrk -t1 "
            f"-c{report.connections} -d{report.duration}s -s bench/load.lua` (the load "
            f"section's mix). {rounds} rounds, every other one in reverse order; the table "
            "gives the medians. Server CPU is the master's and its workers' together. Sent: "
            + report.mix
            + ".",
            "",
            *table(report),
            "",
            f"Req/s by round: {by_round}.",
            "",
            *interpretation(report),
            END,
        ]
    )


def summary(report: Report) -> list[str]:
    return [*table(report), "", *interpretation(report)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = load_arguments(
        __doc__.split("\n", 1)[0], duration=20, rounds=2, warmup=5, connections=64
    )
    parser.add_argument("--workers", default="1,2,4", help="WORKERS values, comma-separated")
    parser.add_argument("--hives", type=int, default=100, help="the beekeeper's hives")
    parser.add_argument("--sensor-hives", type=int, default=10, help="hives with two sensors")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    return measure_and_report(args, lambda: run(args), summary, section, (BEGIN, END))


if __name__ == "__main__":
    sys.exit(main())

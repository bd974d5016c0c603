"""The long run of the API fuzz test: schemathesis with every check and every phase (examples,
coverage, fuzzing, stateful), 300 examples per operation, new examples each time.

    uv run --locked python bench/api_fuzz.py              # 300 examples per operation
    uv run --locked python bench/api_fuzz.py --examples 1000

It runs tests/unit/test_api_fuzz.py with FUZZ_EXAMPLES set (see that file: the real app on a
loopback port, a throwaway database on TEST_DATABASE_URL's server, or the local cluster's),
then rewrites the `<!-- bench:api-fuzz -->` section of docs/benchmarks.md with what it ran,
how long it took and how it ended (`--no-write` to leave it). It exits with pytest's status.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from _common import DOC, ROOT, load_average, write_section

TEST = "tests/unit/test_api_fuzz.py"
# Quiet, without each failure's captured log (the app logs every request), failures listed.
PYTEST_OPTIONS = ["-p", "no:cacheprovider", "-q", "--show-capture=no", "-rf"]
BEGIN, END = "<!-- bench:api-fuzz -->", "<!-- /bench:api-fuzz -->"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="examples per operation")
    parser.add_argument("--doc", type=Path, default=DOC, help="the results file to update")
    parser.add_argument("--no-write", action="store_true", help="leave the results file alone")
    arguments = parser.parse_args()

    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, *PYTEST_OPTIONS],
        cwd=ROOT,
        env={**os.environ, "FUZZ_EXAMPLES": str(arguments.examples)},
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1].strip("= ")
    print(run.stdout, run.stderr, sep="\n")
    if not arguments.no_write:
        write_section(report(arguments.examples, seconds, summary), BEGIN, END, arguments.doc)
    return run.returncode


def report(examples: int, seconds: float, summary: str) -> str:
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    packages = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("schemathesis", "hypothesis")
    )
    outcome = re.sub(r" in [\d.]+s.*", "", summary)
    return "\n".join(
        [
            BEGIN,
            "## The API under schemathesis: every check, every phase",
            "",
            f"Measured {when} with `uv run --locked python bench/api_fuzz.py` "
            f"({examples} examples per operation, new ones each run): `{TEST}` with "
            f"FUZZ_EXAMPLES={examples}, against the real app and a PostGIS database. Every "
            "operation of the document, the readings and device posts included, goes "
            "through the examples, coverage and fuzzing phases; then "
            f"{max(25, examples // 2)} stateful scenarios of up to 6 calls follow the "
            "document's links. `make test` runs the same with 25 examples, the same each time.",
            "",
            f"- result: **{outcome}** in {seconds / 60:.1f} minutes",
            f"- CPUs (nproc): {os.cpu_count()}",
            f"- Python: {platform.python_version()}",
            f"- packages: {packages}",
            f"- load average at the end: {load_average()}",
            *shared_machine(),
            END,
        ]
    )


def shared_machine() -> list[str]:
    """A note when other work shared the CPUs: then the time says little about the API."""
    cpus = os.cpu_count() or 1
    if float(load_average().split()[0]) <= cpus:
        return []
    return [
        "",
        f"Other work shared the {cpus} CPUs during this run (see the load average), so it took "
        "longer than it would on a quiet machine.",
    ]


if __name__ == "__main__":
    sys.exit(main())

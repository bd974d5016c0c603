"""Where a request's server time goes: py-spy samples the app while wrk loads one page.

    uv run --locked python bench/profile_request.py --py-spy /path/to/py-spy [--seconds 8]

py-spy is not a dependency of the project (`pip install --target DIR py-spy` puts one in
DIR/bin). One run, loopback only: a throwaway database; `python -m app serve` with WORKERS=1
at LOG_LEVEL=WARNING and at INFO; a beekeeper signed up through the app's form; then, for each
case (the anonymous home page, the same page for a returning signed-in user, and its htmx
fragment), `wrk -t1 -c32` for the given seconds while `py-spy record --format raw` samples the
server at 200 Hz. Each sample is a stack; a part's share is the share of the server's busy
samples with one of the part's frames in its stack (parts may nest: "of which" rows are inside
the row above them). It prints a Markdown table for docs/benchmarks.md and writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from _common import ROOT, Server, bench_database, get, server, wait_ready
from home_page import app_env, sign_up

# (label, any of these substrings in a frame "function (path:line)" puts a sample in the part)
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Jinja rendering (`render_template`)", ("render_template (",)),
    ("… of which the loader's up-to-date check (`getmtime`)", ("uptodate (", "getmtime (")),
    ("database: SQLAlchemy, asyncpg and the pool", ("sqlalchemy/", "asyncpg/")),
    ("… of which the session's row (current user)", ("user_of_session (",)),
    ("session cookie load (Fernet decrypt, JSON)", ("load_session (",)),
    ("session cookie save (Fernet encrypt, JSON, `Set-Cookie`)", ("save_session (",)),
    ("CSRF token made (session or stateless)", ("anonymous_token (", "new_token (")),
    ("request log line (structlog, JSON, write)", ("_proxy_to_logger (",)),
    ("compression (brotli, gzip)", ("compress_response (",)),
    (
        "asyncio transports: socket reads and writes, and what runs as data arrives",
        ("selector_events.py",),
    ),
)
CASES = {
    "anonymous home page": ({}, False),
    "signed-in home page (Today), full": ({}, True),
    "signed-in home page (Today), fragment": ({"HX-Request": "true"}, True),
}


def profile(py_spy: str, app: Server, headers: dict[str, str], seconds: int, out: Path) -> Path:
    """Sample `app` while wrk loads its home page; the raw (collapsed) stacks py-spy wrote."""
    raw = out / f"{app.name}-{abs(hash(tuple(headers.items())))}.txt"
    sampling = ["--rate", "200", "--duration", str(seconds + 1), "--nonblocking"]
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(app.process.pid),
            *sampling,
            "--format",
            "raw",
            "-o",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    subprocess.run([*command, f"http://127.0.0.1:{app.port}/"], capture_output=True, check=True)
    spy.wait(timeout=seconds + 30)
    return raw


def shares(raw: Path) -> dict[str, float]:
    """Each part's share of the busy samples in a py-spy raw file."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for label, needles in PARTS:
            if any(needle in stack for needle in needles):
                counts[label] += int(count)
    return {label: counts[label] / total if total else 0.0 for label, _ in PARTS}


def heaviest(raw: Path, count: int) -> list[tuple[str, float]]:
    """The functions with the largest share of busy samples anywhere in the stack, outside the
    event loop's own frames and the app's middlewares (which hold every request)."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        total += int(number)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(number)
    skip = ("asyncio/", "runners.py", "web_protocol.py", "web_app.py", "app/web/", "<module>")
    kept = [(f, n / total) for f, n in inclusive.most_common() if not any(s in f for s in skip)]
    return kept[:count]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--py-spy", required=True, help="the py-spy executable")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--top", type=int, default=0, help="also list the N heaviest functions")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    columns: dict[str, dict[str, float]] = {}
    with contextlib.ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cityhive-prof-")))
        database_url = stack.enter_context(bench_database())
        command = [sys.executable, "-m", "app", "serve"]
        for level in ("WARNING", "INFO"):
            app = stack.enter_context(
                server(f"app-{level}", command, app_env(database_url, level), logs)
            )
            wait_ready([app], "/health/ready")
            cookie = sign_up(app, f"profile-{level.lower()}@example.org")
            for case, (headers, signed_in) in CASES.items():
                sent = {**headers, "Cookie": cookie} if signed_in else headers
                if get(app.port, sent).status != 200:
                    raise SystemExit(f"{case}: GET / did not answer 200")
                raw = profile(args.py_spy, app, sent, args.seconds, logs)
                columns[f"{case}, {level}"] = shares(raw)
                if args.top:
                    print(f"heaviest functions, {case}, {level}:")
                    for frame, share in heaviest(raw, args.top):
                        print(f"  {share:5.0%} {frame}")
    print("| part | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for label, _ in PARTS:
        cells = " | ".join(f"{column[label]:.0%}" for column in columns.values())
        print(f"| {label} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

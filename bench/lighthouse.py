"""Lighthouse on the pages a beekeeper opens on a phone: Today, the map, a hive's page with two
charts and the inspection form, signed in.

    make lighthouse        # uv run --locked python bench/lighthouse.py

Lighthouse 12.2.3 (through npx, from the npm registry the first time) drives the system Chromium
(CHROME_PATH, /usr/bin/chromium by default) with its default configuration: a mobile phone,
simulated slow 4G and a 4x slower CPU. Loopback only, about four minutes:

1. a throwaway database migrated to head (TEST_DATABASE_URL's or DATABASE_URL's server when one
   is set, else the local cluster under DATA_DIR), and `python -m app serve` on it with map tiles
   from a local stub (one plain PNG, with CORS, as tile servers send it): Lighthouse must not
   need the internet, and tiles are not ours to measure;
2. a beekeeper signed up through the app's own form, with a hive, an inspection and a harvest,
   and on the hive a scale and a thermometer (added on its sensors page) with a day of 5-minute
   readings each, posted through the API with a key made on the profile page: two charts;
3. Lighthouse on Today, the map, the hive's page and its inspection form with that session's
   cookie, each `--runs` times (default 5): the median score of each category, and what the
   first load transferred (the page's own requests, compressed as sent, tiles aside; then what
   the service worker fetched to precache the shell as it installed).

It prints a table and rewrites the `<!-- bench:lighthouse -->` section of docs/benchmarks.md
(`--no-write` to leave it alone). The issue's targets: each category at least 95 on every page,
and a first load under 150 kB.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from _common import (
    DOC,
    HOST,
    ROOT,
    Server,
    bench_database,
    cookie_from,
    free_port,
    get,
    load_average,
    request,
    server,
    wait_ready,
    write_section,
)

BEGIN = "<!-- bench:lighthouse -->"
END = "<!-- /bench:lighthouse -->"
LIGHTHOUSE = "lighthouse@12.2.3"
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGET_SCORE = 95
TARGET_FIRST_LOAD_KB = 150
PASSWORD = secrets.token_urlsafe(16)  # the bench's beekeeper, thrown away with the database


# --- map tiles --------------------------------------------------------------------------------


class TileHandler(http.server.BaseHTTPRequestHandler):
    tile = b""  # one plain PNG for every tile, set by tile_server()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.tile)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "public, max-age=86400")
        self.end_headers()
        self.wfile.write(self.tile)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def tile_server() -> Iterator[str]:
    """A local tile server; yields its origin."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # scripts/ is found from the repository's root
    from scripts.icons import plain_png

    TileHandler.tile = plain_png()
    stub = http.server.ThreadingHTTPServer((HOST, 0), TileHandler)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{stub.server_address[1]}"
    finally:
        stub.shutdown()
        stub.server_close()


# --- a beekeeper with a hive ------------------------------------------------------------------


def form_post(
    app: Server, page_path: str, path: str, cookie: str, fields: Mapping[str, str]
) -> tuple[int, str]:
    """Post a form as the page at `page_path` would (its CSRF token); status and Location."""
    page = get(app.port, {"Cookie": cookie}, path=page_path)
    token = re.search(rb'name="_csrf" value="([^"]+)"', page.body)
    if token is None:
        raise SystemExit(f"no CSRF token on {page_path}")
    body = urlencode({**fields, "_csrf": token.group(1).decode()}, doseq=True).encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    reply = request(app.port, "POST", path, headers, body, timeout=30)
    return reply.status, next(iter(reply.all("Location")), "")


def beekeeper_with_a_hive(app: Server) -> tuple[str, int]:
    """Sign up through the app's form, add a hive, an inspection and a harvest; returns the
    session cookie and the hive's id."""
    first = get(app.port, path="/signup")
    cookie = cookie_from(first)
    token = re.search(rb'name="_csrf" value="([^"]+)"', first.body)
    if token is None:
        raise SystemExit("GET /signup gave no form with a CSRF token")
    email = f"lighthouse-{secrets.token_hex(4)}@example.org"
    fields = {"name": "Ada", "email": email, "password": PASSWORD, "_csrf": token.group(1).decode()}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie is not None:  # a visitor without a session has none (a stateless CSRF token)
        headers["Cookie"] = cookie
    reply = request(app.port, "POST", "/signup", headers, urlencode(fields).encode(), timeout=30)
    cookie = cookie_from(reply)
    if reply.status != 303 or cookie is None:
        raise SystemExit(f"POST /signup answered {reply.status}: {reply.body[:300]!r}")
    hive = {"name": "Rooftop One", "latitude": "52.516300", "longitude": "13.377700"}
    hive |= {"frame_type": "langstroth", "status": "active", "site": "Hotel roof"}
    status, location = form_post(app, "/hives/new", "/hives", cookie, hive)
    match = re.fullmatch(r"/hives/(\d+)", location)
    if status != 303 or match is None:
        raise SystemExit(f"adding a hive answered {status} {location}")
    hive_id = int(match.group(1))
    now = datetime.now(UTC)
    inspection = {"done_at": now.strftime("%Y-%m-%dT%H:%M"), "frames_of_bees": "8"}
    inspection |= {"queen_seen": "yes", "idempotency_key": str(uuid.uuid4())}
    status, _ = form_post(
        app,
        f"/hives/{hive_id}/inspections/new",
        f"/hives/{hive_id}/inspections",
        cookie,
        inspection,
    )
    if status != 303:
        raise SystemExit(f"recording an inspection answered {status}")
    harvest = {"hive_ids": str(hive_id), "split": "even", "total_kg": "12.5"}
    harvest |= {
        "harvested_on": now.date().isoformat(),
        "idempotency_key": str(uuid.uuid4()),
    }
    status, _ = form_post(app, f"/harvests/new?hive={hive_id}", "/harvests", cookie, harvest)
    if status != 303:
        raise SystemExit(f"logging a harvest answered {status}")
    return cookie, hive_id


def api_key(app: Server, cookie: str) -> str:
    """A new API key, made on the profile's form as a beekeeper makes one."""
    page = get(app.port, {"Cookie": cookie}, path="/profile")
    token = re.search(rb'name="_csrf" value="([^"]+)"', page.body)
    if token is None:
        raise SystemExit("no CSRF token on /profile")
    body = urlencode({"key_name": "scales", "_csrf": token.group(1).decode()}).encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    reply = request(app.port, "POST", "/profile/api-keys", headers, body, timeout=30)
    key = re.search(rb'id="new-key"[^>]* value="([^"]+)"', reply.body)
    if reply.status != 201 or key is None:
        raise SystemExit(f"making an API key answered {reply.status}")
    return key.group(1).decode()


def sensors_with_readings(app: Server, cookie: str, hive_id: int) -> None:
    """A scale and a thermometer on the hive, added on its sensors page, each with a day of
    5-minute readings posted through the API: the hive page then draws two charts."""
    for name, kind in (("Scale", "weight"), ("Brood", "temperature")):
        fields = {"name": name, "kind": kind, "placement": "inside"}
        path = f"/hives/{hive_id}/sensors"
        status, _ = form_post(app, path, path, cookie, fields)
        if status != 303:
            raise SystemExit(f"adding the sensor {name} answered {status}")
    key = api_key(app, cookie)
    auth = {"Authorization": f"Bearer {key}"}
    listed = json.loads(get(app.port, auth, path=f"/api/v1/sensors?hive={hive_id}").body)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    readings = []
    for sensor in listed["items"]:
        base = 42.0 if sensor["kind"] == "weight" else 34.5
        for step in range(288):
            at = now - timedelta(minutes=5 * step)
            value = base + (step % 24) / 40
            readings.append(
                {"sensor_id": sensor["id"], "recorded_at": at.isoformat(), "value": value}
            )
    body = json.dumps({"readings": readings}).encode()
    headers = auth | {"Content-Type": "application/json"}
    reply = request(app.port, "POST", "/api/v1/readings", headers, body, timeout=60)
    if reply.status != 200:
        raise SystemExit(f"posting readings answered {reply.status}: {reply.body[:300]!r}")


# --- Lighthouse -------------------------------------------------------------------------------


@dataclass
class PageResult:
    name: str
    path: str
    scores: dict[str, list[int]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    page_kb: list[float] = field(default_factory=list)  # the page's own requests, tiles aside
    worker_kb: list[float] = field(default_factory=list)  # the service worker's precaching
    requests: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    # Lighthouse's own measure of the CPU at each run (higher is faster): a run on a machine
    # busy with other work shows a low one.
    cpu_index: list[float] = field(default_factory=list)
    repeated: int = 0  # runs done again because the CPU index was low

    def score(self, category: str) -> int:
        return round(statistics.median(self.scores[category]))


def lighthouse_command(url: str, output: Path, chrome_port: int | str) -> list[str]:
    return [
        "npx",
        "--yes",
        LIGHTHOUSE,
        url,
        f"--port={chrome_port}",
        "--output=json",
        f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--quiet",
    ]


def chrome_path() -> str:
    return os.environ.get("CHROME_PATH", "/usr/bin/chromium")


@contextlib.contextmanager
def chromium_signed_in(base_url: str, cookie: str) -> Iterator[int]:
    """The system Chromium, headless, with the beekeeper's session cookie in its cookie jar;
    yields its remote-debugging port, which Lighthouse drives.

    A cookie in the jar, not Lighthouse's --extra-headers: the service worker's requests (and
    the page's requests that pass through it) carry the jar's cookies, never the extra headers.
    Lighthouse clears the origin's storage and cache before each run, but not its cookies.
    """
    from playwright.sync_api import sync_playwright

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lighthouse-chromium-") as profile:
        process = subprocess.Popen(
            [
                chrome_path(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if get(port, path="/json/version").status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("Chromium did not start its remote debugging")
                time.sleep(0.2)
            name, _, value = cookie.partition("=")
            with sync_playwright() as playwright:
                browser = playwright.chromium.connect_over_cdp(f"http://{HOST}:{port}")
                browser.contexts[0].add_cookies([{"name": name, "value": value, "url": base_url}])
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def read_report(report: dict, tile_origin: str, result: PageResult) -> None:
    for category in CATEGORIES:
        result.scores[category].append(round(report["categories"][category]["score"] * 100))
    items = report["audits"]["network-requests"]["details"]["items"]
    mine = [item for item in items if not item["url"].startswith(tile_origin)]
    page = [item for item in mine if item.get("sessionTargetType", "page") == "page"]
    worker = [item for item in mine if item.get("sessionTargetType") == "worker"]
    result.page_kb.append(sum(item.get("transferSize", 0) for item in page) / 1000)
    result.worker_kb.append(sum(item.get("transferSize", 0) for item in worker) / 1000)
    result.requests.append(len(page))
    result.cpu_index.append(report["environment"]["benchmarkIndex"])
    for audit in (
        "first-contentful-paint",
        "largest-contentful-paint",
        "total-blocking-time",
        "cumulative-layout-shift",
    ):
        result.metrics.setdefault(audit, []).append(report["audits"][audit]["numericValue"])


def one_run(
    base_url: str, path: str, output: Path, chrome_port: int, keep: Path | None
) -> dict | str:
    """One Lighthouse run of one page: its report, or why Lighthouse gave none (on a busy
    machine it sometimes loses the trace: NO_NAVSTART)."""
    command = lighthouse_command(base_url + path, output, chrome_port)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not output.exists():
        return f"lighthouse failed on {path}:\n{done.stdout}{done.stderr}"
    report: dict = json.loads(output.read_text())
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(output, keep / output.name)
    if report.get("runtimeError"):
        return f"lighthouse on {path}: {report['runtimeError']}"
    if not report["finalDisplayedUrl"].endswith(path):  # e.g. sent to /login
        raise SystemExit(f"lighthouse on {path} ended on {report['finalDisplayedUrl']}")
    return report


def run_lighthouse(
    base_url: str,
    pages: Mapping[str, str],
    cookie: str,
    runs: int,
    tile_origin: str,
    keep: Path | None = None,
    quiet_index: float = 0,
    retries: int = 0,
) -> list[PageResult]:
    """`runs` runs of each page. A run whose CPU index is below `quiet_index` shared the CPU
    with other work (the machine is shared): it is run again, up to `retries` times, and the
    repeat counted in the result; the last try is kept either way."""
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="lighthouse-") as work,
        chromium_signed_in(base_url, cookie) as chrome_port,
    ):
        for name, path in pages.items():
            result = PageResult(name, path)
            for number in range(runs):
                for attempt in range(retries + 1):
                    output = Path(work) / f"{name}-{number}-{attempt}.json"
                    report = one_run(base_url, path, output, chrome_port, keep)
                    if isinstance(report, str):  # no report: a failed run is run again too
                        if attempt == retries:
                            raise SystemExit(report)
                        why = report.splitlines()[-1]
                    else:
                        index = report["environment"]["benchmarkIndex"]
                        if index >= quiet_index or attempt == retries:
                            break
                        why = f"CPU index {index:.0f}"
                    result.repeated += 1
                    print(f"{name:10} run {number + 1}: {why}, again", flush=True)
                read_report(report, tile_origin, result)
                scores = " ".join(f"{c} {result.scores[c][-1]}" for c in CATEGORIES)
                print(
                    f"{name:10} run {number + 1}: {scores}, {result.page_kb[-1]:.1f} kB, "
                    f"CPU index {result.cpu_index[-1]:.0f}",
                    flush=True,
                )
            results.append(result)
    return results


# --- the report -------------------------------------------------------------------------------


def tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        return "not found"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else "?"
    )


def facts() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    chrome = chrome_path()
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU": model.group(1).strip() if model else "unknown",
        "Node": tool_version(["node", "--version"]),
        "Lighthouse": tool_version(["npx", "--yes", LIGHTHOUSE, "--version"]),
        "Chromium": tool_version([chrome, "--version"]),
        "load average at the start": load_average(),
    }


def section(
    results: list[PageResult],
    machine: Mapping[str, str],
    runs: int,
    seconds: float,
    shell_kb: float,
    quiet_index: float,
    retries: int,
) -> str:
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    url = "http://127.0.0.1:PORT/PATH"
    command = " ".join(lighthouse_command(url, Path("REPORT.json"), "CDP"))
    lines = [
        BEGIN,
        "## Lighthouse: Today, the map, a hive with two charts and the inspection form on a phone",
        "",
        f"Measured {when} with `make lighthouse` (`uv run --locked python bench/lighthouse.py`), "
        f"which wrote this section in {seconds:.0f} s; run it again to refresh it.",
        "",
        *(f"- {key}: {value}" for key, value in machine.items()),
        "",
        f"Each page, {runs} times: `{command}`, where CDP is the remote-debugging port of the "
        "system Chromium (`$CHROME_PATH --headless=new --remote-debugging-port=CDP`, "
        "CHROME_PATH=/usr/bin/chromium) whose cookie jar holds the session of a beekeeper who "
        "signed up through the app's form and has one hive, one inspection and one harvest, and on "
        "the hive a scale and a thermometer with a day of 5-minute readings each (so the hive "
        "page draws two charts). "
        "Lighthouse's default configuration is the mobile one: a Moto G Power sized screen, "
        "simulated slow 4G (150 ms, 1.6 Mbit/s) and a 4x slowed CPU; it clears the site's "
        "cache and storage (not its cookies) before each run, so each is a first visit. The app "
        "is `python -m app serve` on a throwaway database, `LOG_LEVEL=WARNING`, with map tiles "
        "from a local stub (one plain PNG) so no run needs the internet. The table gives the "
        "median of the runs; every run's score is listed below it.",
        "",
        "| page | performance | accessibility | best practices | first load | requests "
        "| FCP | LCP | TBT | CLS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        metric = {name: statistics.median(values) for name, values in result.metrics.items()}
        lines.append(
            f"| {result.name} (`{result.path}`) | {result.score('performance')} | "
            f"{result.score('accessibility')} | {result.score('best-practices')} | "
            f"{statistics.median(result.page_kb):.1f} kB | "
            f"{statistics.median(result.requests):.0f} | "
            f"{metric['first-contentful-paint'] / 1000:.1f} s | "
            f"{metric['largest-contentful-paint'] / 1000:.1f} s | "
            f"{metric['total-blocking-time']:.0f} ms | {metric['cumulative-layout-shift']:.3f} |"
        )
    lines.append("")
    lines.append(
        "Scores by run: "
        + "; ".join(
            f"{r.name} " + ", ".join(f"{c} {'/'.join(map(str, r.scores[c]))}" for c in CATEGORIES)
            for r in results
        )
        + ". Lighthouse's CPU index of each run (its benchmarkIndex; higher is faster, and a low "
        "one is a run that shared the CPU with other work): "
        + "; ".join(f"{r.name} {'/'.join(f'{v:.0f}' for v in r.cpu_index)}" for r in results)
        + f". A run whose index was below {quiet_index:.0f}, or that gave no report (Lighthouse "
        f"sometimes loses its trace: NO_NAVSTART), was run again, up to {retries} times, keeping "
        "the last: " + ", ".join(f"{r.name} {r.repeated}" for r in results) + " runs repeated."
    )
    lowest = min(r.score(c) for r in results for c in CATEGORIES)
    lowest_run = min(min(r.scores[c]) for r in results for c in CATEGORIES)
    worst_load = max(max(r.page_kb) for r in results)
    worker = statistics.median(v for r in results for v in r.worker_kb)
    met = lowest >= TARGET_SCORE and worst_load < TARGET_FIRST_LOAD_KB
    lines += [
        "",
        f"- {'Targets met' if met else 'Targets NOT met'}: the lowest median score of any "
        f"category on any page is {lowest} (target: at least {TARGET_SCORE}; the lowest single "
        f"run scored {lowest_run}); the largest first load was {worst_load:.1f} kB (target: "
        f"under {TARGET_FIRST_LOAD_KB} kB).",
        "- First load: the bytes the page's own requests transferred, as sent (styles and "
        "scripts gzipped by the app), with an empty cache, map tiles aside. The HTML itself is "
        "sent uncompressed here: gzip and brotli for HTML responses come from a separate change "
        "(the lighter-pages work), not measured in this table. Leaflet and its cluster plug-in "
        "load only on a page with a map (in the head of the map pages; on the hive page when its "
        "small map nears the view), uPlot only on a page with charts. The shell alone, every "
        f"file the service worker precaches, is {shell_kb:.1f} kB gzipped.",
        (
            f"- The service worker's precaching transferred a median {worker:.1f} kB more: the "
            "files the page already loaded come from the HTTP cache (their URLs carry a content "
            "hash), the rest are icons, the offline page and the map controls' images."
            if worker
            else "- The service worker registers once the page is idle after its load event, and "
            "precaches the shell after that: Lighthouse's runs ended first, so none of it is in "
            "the numbers above (the files the page loaded then come from the HTTP cache anyway: "
            "their URLs carry a content hash)."
        ),
        "- Lighthouse simulates the network, but scales the CPU time it observes: on a machine "
        "busy with other work (see the load average) main-thread tasks take longer, so Total "
        "Blocking Time, and with it the performance score, moves between runs; accessibility "
        "and best practices do not.",
        END,
    ]
    return "\n".join(lines)


def shell_size(app: Server) -> float:
    """The gzipped size of everything the service worker precaches."""
    worker = get(app.port, path="/sw.js")
    match = re.search(rb"self\.CITYHIVE_SW = (\{.*?\});\n", worker.body, re.S)
    if match is None:
        raise SystemExit("no settings in /sw.js")
    total = 0
    for url in json.loads(match.group(1))["precache"]:
        reply = get(app.port, {"Accept-Encoding": "gzip"}, path=url)
        total += len(reply.body)
    return total / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="Lighthouse runs per page")
    parser.add_argument("--doc", type=Path, default=DOC, help="the results file to update")
    parser.add_argument("--no-write", action="store_true", help="leave the results file alone")
    parser.add_argument("--keep", type=Path, help="a folder to keep Lighthouse's JSON reports in")
    parser.add_argument(
        "--quiet-index",
        type=float,
        default=2000,
        help="run again a run whose Lighthouse CPU index (benchmarkIndex) is below this",
    )
    parser.add_argument("--retries", type=int, default=3, help="times a disturbed run is repeated")
    args = parser.parse_args()
    if shutil.which("npx") is None:
        print("npx is not installed (Debian and Ubuntu: apt-get install npm)", file=sys.stderr)
        return 2
    started = time.monotonic()
    machine = facts()
    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does (bench_database needs it)
    with bench_database("cityhive_lighthouse") as database_url, tile_server() as tiles:
        env = os.environ | {
            "DATABASE_URL": database_url,
            "HOST": HOST,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DEMO_DATA": "false",
            "LOG_LEVEL": "WARNING",
            "TILE_URL": f"{tiles}/{{z}}/{{x}}/{{y}}.png",
            "DATA_DIR": tempfile.mkdtemp(prefix="cityhive-lighthouse-"),
        }
        with (
            tempfile.TemporaryDirectory() as logs,
            server("app", [sys.executable, "-m", "app", "serve"], env, Path(logs)) as app,
        ):
            wait_ready([app], "/health/ready")
            cookie, hive_id = beekeeper_with_a_hive(app)
            sensors_with_readings(app, cookie, hive_id)
            pages = {
                "Today": "/",
                "map": "/map",
                "hive, two charts": f"/hives/{hive_id}",
                "inspection form": f"/hives/{hive_id}/inspections/new",
            }
            base_url = f"http://{HOST}:{app.port}"
            results = run_lighthouse(
                base_url,
                pages,
                cookie,
                args.runs,
                tiles,
                args.keep,
                args.quiet_index,
                args.retries,
            )
            shell_kb = shell_size(app)
    machine = dict(machine) | {"load average at the end": load_average()}
    seconds = time.monotonic() - started
    text = section(results, machine, args.runs, seconds, shell_kb, args.quiet_index, args.retries)
    print("\n" + text)
    if not args.no_write:
        write_section(text, BEGIN, END, args.doc)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())

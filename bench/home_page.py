"""Home page throughput: CityHive's whole middleware stack against a bare aiohttp handler.

    make bench        # uv run --locked python bench/home_page.py

One run, loopback only, about two and a half minutes with the defaults:

1. a throwaway database migrated to head, on TEST_DATABASE_URL's or DATABASE_URL's server when
   one is set, else on the local cluster under DATA_DIR (started as `make test` starts it);
2. the real app, `python -m app serve`, twice: at LOG_LEVEL=WARNING (no per-request log line)
   and at LOG_LEVEL=INFO (one JSON line per request, as in production), its output to a file;
3. a bare aiohttp server (this file, `bare-server`) answering "/" with the bytes the real app
   sent for the full page and for the htmx fragment (same status, content type and body);
4. wrk against each target in turn: the full page and the fragment (`HX-Request: true`), each
   for a new visitor (no cookie: every response sets a new encrypted session cookie) and for a
   returning one (the session cookie of a first GET). A warm-up per target, then `--rounds`
   rounds over all targets, every other round in reverse order, so drift on the shared machine
   falls on every target alike. Each run also reads the server's CPU time from /proc.

It prints a table and rewrites the `<!-- bench:home_page -->` section of docs/benchmarks.md
(`--no-write` to leave it alone). Everything it starts, and the database, is gone afterwards.
The machine is shared and noisy: compare ratios to the bare reference, not raw req/s.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _common import (
    HOST,
    ROOT,
    SESSION_COOKIE,
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
    server,
    wait_ready,
)

BEGIN = "<!-- bench:home_page -->"
END = "<!-- /bench:home_page -->"
FRAGMENT = {"HX-Request": "true"}
SHAPES = {"full": {}, "fragment": FRAGMENT}
NAMES = {"full": "full page", "fragment": "fragment"}
LEVELS = ("WARNING", "INFO")
PACKAGES = ("aiohttp", "aiohttp-jinja2", "aiohttp-session", "cryptography", "jinja2", "structlog")


# --- the bare reference ---------------------------------------------------------------------


def serve_bare(port: int, shapes_dir: Path) -> None:
    """Answer GET / with the recorded full page, or the fragment when htmx asks: nothing else."""
    from aiohttp import web

    def load(shape: str) -> tuple[int, str, bytes]:
        status, content_type = (shapes_dir / f"{shape}.meta").read_text().split("\n", 1)
        return int(status), content_type.strip(), (shapes_dir / f"{shape}.body").read_bytes()

    full, fragment = load("full"), load("fragment")

    async def home(request: web.Request) -> web.Response:
        status, content_type, body = fragment if request.headers.get("HX-Request") else full
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/", home)
    web.run_app(app, host=HOST, port=port, access_log=None, print=None)


# --- the run ----------------------------------------------------------------------------------


def app_env(database_url: str, log_level: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        HOST=HOST,
        SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        DEMO_DATA="false",
        LOG_LEVEL=log_level,
    )
    return env


def record_shapes(app: Server, shapes_dir: Path) -> dict[str, Reply]:
    """The real app's full page and fragment for a new visitor, saved for the bare server."""
    shapes = {shape: get(app.port, headers) for shape, headers in SHAPES.items()}
    for shape, reply in shapes.items():
        if reply.status != 200:
            raise SystemExit(f"GET / ({shape}) answered {reply.status}: {reply.body[:300]!r}")
        (shapes_dir / f"{shape}.meta").write_text(f"{reply.status}\n{reply.content_type}\n")
        (shapes_dir / f"{shape}.body").write_bytes(reply.body)
    return shapes


def session_cookie(reply: Reply) -> str:
    if cookie := cookie_from(reply):
        return cookie
    raise SystemExit(f"GET / set no {SESSION_COOKIE} cookie: {reply.headers}")


def check_targets(shapes: Mapping[str, Reply], bare: Server, app: Server, cookie: str) -> None:
    """The bare server sends the app's bytes; a returning visitor's cookie is not sent again."""
    for shape, headers in SHAPES.items():
        mine, theirs = get(bare.port, headers), shapes[shape]
        if (mine.status, mine.content_type, mine.body) != (
            theirs.status,
            theirs.content_type,
            theirs.body,
        ):
            raise SystemExit(f"the bare server's {shape} is not the app's")
        returning = get(app.port, {**headers, "Cookie": cookie})
        if returning.status != 200 or returning.all("Set-Cookie"):
            raise SystemExit(f"{app.name}: a returning visitor's {shape} failed or set a cookie")
        if len(returning.body) != len(theirs.body):
            print(f"note: {shape} for a returning visitor: {len(returning.body)} bytes")


@dataclass
class Report:
    load: Load
    targets: list[Target]
    sizes: dict[str, int]
    info_log_lines: int
    machine: dict[str, str]
    seconds: float = 0.0

    def target(self, key: str) -> Target:
        return next(t for t in self.targets if t.key == key)


def plan(bare: Server, apps: Mapping[str, Server], cookies: Mapping[str, str]) -> list[Target]:
    targets = []
    for shape, extra in SHAPES.items():
        reference = Target(f"bare-{shape}", f"bare aiohttp, {shape}", shape, bare, extra, None)
        targets.append(reference)
        for level in LEVELS:
            for visitor, headers in (
                ("new", extra),
                ("cookie", {**extra, "Cookie": cookies[level]}),
            ):
                who = "new visitor" if visitor == "new" else "with session cookie"
                label = f"CityHive, {shape}, {level}, {who}"
                key = f"app-{shape}-{level}-{visitor}"
                targets.append(Target(key, label, shape, apps[level], headers, reference.key))
    return targets


def run(load: Load) -> Report:
    """Set up, warm up, measure every target `load.rounds` times, tear down."""
    started = time.monotonic()
    machine = machine_facts(PACKAGES)
    logs = Path(tempfile.mkdtemp(prefix="cityhive-bench-"))
    try:
        with contextlib.ExitStack() as stack:
            print("database: a throwaway database, migrated ...", flush=True)
            database_url = stack.enter_context(bench_database())
            print("app: python -m app serve at LOG_LEVEL=WARNING and INFO ...", flush=True)
            command = [sys.executable, "-m", "app", "serve"]
            apps = {
                level: stack.enter_context(
                    server(f"app-{level}", command, app_env(database_url, level), logs)
                )
                for level in LEVELS
            }
            wait_ready(list(apps.values()), "/health/ready")

            shapes_dir = logs / "shapes"
            shapes_dir.mkdir()
            shapes = record_shapes(apps["WARNING"], shapes_dir)
            cookies = {level: session_cookie(get(app.port)) for level, app in apps.items()}
            bare_command = [sys.executable, __file__, "bare-server", "--port", "{port}"]
            bare_command += ["--shapes", str(shapes_dir)]
            bare = stack.enter_context(server("bare", bare_command, os.environ, logs))
            wait_ready([bare], "/")
            for level, app in apps.items():
                check_targets(shapes, bare, app, cookies[level])

            targets = plan(bare, apps, cookies)
            interleaved(targets, load)
            log_text = apps["INFO"].log_path.read_text(errors="replace")
            return Report(
                load=load,
                targets=targets,
                sizes={shape: len(reply.body) for shape, reply in shapes.items()},
                info_log_lines=log_text.count('"event": "request"'),
                machine=machine,
                seconds=time.monotonic() - started,
            )
    finally:
        shutil.rmtree(logs, ignore_errors=True)
        machine["load average at the end"] = load_average()


# --- the report -------------------------------------------------------------------------------


def table(report: Report) -> list[str]:
    lines = [
        "| target | req/s | p50 | p99 | ratio to bare | server CPU per request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in report.targets:
        ratio = t.rps / report.target(t.reference).rps if t.reference else 1.0
        lines.append(
            f"| {t.label} | {t.rps:,.0f} | {t.p50:.1f} ms | {t.p99:.1f} ms | {ratio:.2f} "
            f"| {t.cpu_us:,.0f} µs |"
        )
    return lines


def interpretation(report: Report) -> list[str]:
    """What the run says, in ratios and in server CPU per request (µs), computed from it."""
    cpu = {t.key: t.cpu_us for t in report.targets}
    rps = {t.key: t.rps for t in report.targets}

    def ratio(key: str, shape: str) -> str:
        return f"{rps[f'app-{shape}-{key}'] / rps[f'bare-{shape}']:.2f}"

    def change(pairs: Sequence[tuple[str, str]]) -> str:
        """CPU of each pair's first target minus its second, averaged, for both shapes."""
        said = []
        for shape in SHAPES:
            each = [cpu[f"app-{shape}-{a}"] - cpu[f"app-{shape}-{b}"] for a, b in pairs]
            said.append(f"{statistics.fmean(each):+,.0f} µs on the {NAMES[shape]}")
        return ", ".join(said)

    session = [(f"{level}-new", f"{level}-cookie") for level in LEVELS]
    logging = [(f"INFO-{visitor}", f"WARNING-{visitor}") for visitor in ("new", "cookie")]
    app = {shape: cpu[f"app-{shape}-WARNING-cookie"] for shape in SHAPES}
    bare = {shape: cpu[f"bare-{shape}"] for shape in SHAPES}
    layout = (app["full"] - app["fragment"]) - (bare["full"] - bare["fragment"])
    compared = {
        "bare-full",
        "bare-fragment",
        "app-full-WARNING-cookie",
        "app-fragment-WARNING-cookie",
    }
    layout_noise = max(t.cpu_spread for t in report.targets if t.key in compared)
    if report.load.rounds > 1 and abs(layout) < layout_noise:
        layout_said = (
            f"Beyond what the bare handler shows, the two shapes differ by {layout:+,.0f} µs. "
            f"That is less than these four targets' round-to-round spread "
            f"({layout_noise:,.0f} µs), so this run cannot say what rendering the page layout "
            "around the fragment costs."
        )
    else:
        layout_said = (
            "Everything but the template is the same for both shapes, so about "
            f"{layout:,.0f} µs is Jinja rendering the page layout around the fragment."
        )
    spread = max(t.cpu_spread for t in report.targets)
    noise = (
        f"- The rounds of one target differed by up to {spread:,.0f} µs of CPU per request in "
        "this run (the table gives the median), so a difference much smaller than that may be "
        "noise."
        if report.load.rounds > 1
        else "- One round only: this run says nothing about its own noise."
    )
    return [
        f"- Throughput: for a new visitor at INFO, which is production, the app serves "
        f"{ratio('INFO-new', 'full')} of the bare handler's requests per second for the full "
        f"page and {ratio('INFO-new', 'fragment')} for the fragment; for a returning visitor "
        f"at WARNING, {ratio('WARNING-cookie', 'full')} and {ratio('WARNING-cookie', 'fragment')}.",
        f"- Server CPU per request (returning visitor, WARNING): {app['full']:,.0f} µs against "
        f"{bare['full']:,.0f} µs for the full page ({app['full'] / bare['full']:.1f}x), "
        f"{app['fragment']:,.0f} µs against {bare['fragment']:,.0f} µs for the fragment "
        f"({app['fragment'] / bare['fragment']:.1f}x). {layout_said} The gap to bare is "
        "Jinja rendering, the session cookie, the six middlewares and the extra response "
        "headers.",
        "- A new visitor (a new CSRF token, a new Fernet-encrypted cookie and Set-Cookie) "
        f"against a returning one (decrypting the cookie): {change(session)}. The INFO request "
        f"log line: {change(logging)}.",
        noise,
    ]


def section(report: Report) -> str:
    load = report.load
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    facts = "\n".join(f"- {name}: {value}" for name, value in report.machine.items())
    bare_rounds = "; ".join(
        f"{t.group} " + ", ".join(f"{r.requests_per_second:,.0f}" for r in t.runs)
        for t in report.targets
        if t.reference is None
    )
    errors = sum(r.errors for t in report.targets for r in t.runs)
    measured_info = sum(sum(r.requests for r in t.runs) for t in report.targets if "INFO" in t.key)
    return "\n".join(
        [
            BEGIN,
            "## Home page: full stack vs bare aiohttp",
            "",
            f"Measured {when} with `make bench` (`uv run --locked python bench/home_page.py`), "
            f"which wrote this section in {report.seconds:.0f} s; run it again to refresh it.",
            "",
            facts,
            *busy(report.machine),
            "",
            f"Load: `wrk -t{load.threads} -c{load.connections} -d{load.duration}s --latency "
            f"http://127.0.0.1:PORT/` per run, on loopback. Each target first gets a "
            f"{load.warmup} s warm-up, then {load.rounds} rounds run every target once, every "
            "other round in reverse order; the table gives the median of the rounds. The "
            "fragment "
            "runs add `-H 'HX-Request: true'`, the returning-visitor runs `-H 'Cookie: "
            "cityhive_session=…'` (the cookie that a first GET set). One wrk thread, so that wrk "
            "and the single-process server each have one of the two cores. With "
            f"{load.connections} requests always in flight against a saturated server, the "
            f"latencies are mostly queueing: p50 is close to {load.connections} / (req/s).",
            "",
            "Targets: CityHive is `python -m app serve`, the real app with its whole stack "
            "(request id and log line, error pages, encrypted-cookie session, CSRF, current "
            "user, security headers) on a throwaway database, with `DEMO_DATA=false`, at "
            "`LOG_LEVEL=WARNING` (no per-request log line) and at `LOG_LEVEL=INFO` (one JSON "
            "line per request on stdout, here a file, as in production: "
            f"{report.info_log_lines:,} lines for {measured_info:,} measured requests plus the "
            "warm-ups). The anonymous home page makes no database query. The bare reference "
            "is one aiohttp handler in its own process answering with the bytes that the app "
            "sent a new visitor: status 200, the same Content-Type and body (full page "
            f"{report.sizes['full']:,} bytes, fragment {report.sizes['fragment']:,} bytes), "
            "without the app's other response headers. Server CPU per request is the server "
            "process's user and system time during the runs divided by the requests it "
            "answered: it depends less on the other tenants of the machine than req/s does.",
            "",
            *table(report),
            "",
            f"Bare reference req/s by round: {bare_rounds}. Socket errors and non-2xx "
            f"responses in the measured runs: {errors}.",
            "",
            *interpretation(report),
            END,
        ]
    )


def summary(report: Report) -> list[str]:
    return [*table(report), "", *interpretation(report)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = load_arguments(
        __doc__.split("\n", 1)[0], duration=3, rounds=4, warmup=1, connections=32
    )
    commands = parser.add_subparsers(dest="command")
    bare = commands.add_parser("bare-server", help="(used by the benchmark) the bare reference")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--shapes", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "bare-server":
        serve_bare(args.port, args.shapes)
        return 0
    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    load = Load(args.threads, args.connections, args.duration, args.warmup, args.rounds)
    return measure_and_report(args, lambda: run(load), summary, section, (BEGIN, END))


if __name__ == "__main__":
    sys.exit(main())

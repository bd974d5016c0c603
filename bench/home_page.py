"""Home page throughput: CityHive's whole request path against bare aiohttp handlers.

    make bench        # uv run --locked python bench/home_page.py

One run, loopback only, about three and a half minutes with the defaults:

1. a throwaway database migrated to head, on TEST_DATABASE_URL's or DATABASE_URL's server when
   one is set, else on the local cluster under DATA_DIR (started as `make test` starts it);
2. the real app, `python -m app serve` with WORKERS=1, twice: at LOG_LEVEL=WARNING (no
   per-request log line) and at LOG_LEVEL=INFO (one JSON line per request, as in production),
   its output to a file; in each, a beekeeper signed up through the form;
3. a bare aiohttp server (this file, `bare-server`), one process, answering "/" with the bytes
   the real app sent (same status, content type and body): the anonymous visitor's full page
   and htmx fragment, and, for a request with a Cookie, the signed-in beekeeper's (Today);
   and answering "/jinja" by rendering the anonymous page's template itself, in a Jinja2
   environment made as the app's, with the same context (the same CSRF token included);
4. wrk against each target in turn: the full page and the fragment (`HX-Request: true`), for an
   anonymous visitor (no cookie; none is set) and for the returning signed-in beekeeper (the
   session cookie of the sign-up), and the anonymous full page once more with `Accept-Encoding:
   br` (what compressing it costs). A warm-up per target, then `--rounds` rounds over all
   targets, every other round in reverse order, so drift on the shared machine falls on every
   target alike. Each run also reads the server's CPU time from /proc.

It prints a table and rewrites the `<!-- bench:home_page -->` section of docs/benchmarks.md
(`--no-write` to leave it alone). Everything it starts, and the database, is gone afterwards.
The machine is shared and noisy: compare ratios to the bare reference, not raw req/s.
"""

from __future__ import annotations

import contextlib
import os
import re
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
    request,
    server,
    wait_ready,
)

BEGIN = "<!-- bench:home_page -->"
END = "<!-- /bench:home_page -->"
FRAGMENT = {"HX-Request": "true"}
VISITORS = ("anonymous", "signed-in")
CSRF_FIELD = re.compile(rb'name="_csrf" value="([^"]+)"')
SHAPES = {"full": {}, "fragment": FRAGMENT}
NAMES = {"full": "full page", "fragment": "fragment"}
LEVELS = ("WARNING", "INFO")
PASSWORD = secrets.token_urlsafe(12)  # this run's account only
PACKAGES = ("aiohttp", "aiohttp-jinja2", "aiohttp-session", "cryptography", "jinja2", "structlog")


# --- the bare references --------------------------------------------------------------------


def serve_bare(port: int, shapes_dir: Path) -> None:
    """GET /: the recorded page (the signed-in one when a Cookie comes), or its fragment when
    htmx asks; nothing else. GET /jinja: the anonymous page rendered here from its template."""
    from aiohttp import web
    from today import template_environment

    from app.keys import settings_key
    from app.settings import Settings

    def load(shape: str) -> tuple[int, str, bytes]:
        status, content_type = (shapes_dir / f"{shape}.meta").read_text().split("\n", 1)
        return int(status), content_type.strip(), (shapes_dir / f"{shape}.body").read_bytes()

    recorded = {(shape, who): load(f"{shape}-{who}") for shape in SHAPES for who in VISITORS}
    settings = Settings.model_construct()
    env = template_environment(settings.zone)
    token = (shapes_dir / "csrf-token").read_text()

    def shape_of(request: web.Request) -> str:
        return "fragment" if request.headers.get("HX-Request") == "true" else "full"

    async def home(request: web.Request) -> web.Response:
        who = "signed-in" if "Cookie" in request.headers else "anonymous"
        status, content_type, body = recorded[shape_of(request), who]
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    async def jinja(request: web.Request) -> web.Response:
        context = {
            "request": request,
            "user": None,
            "csrf_token": token,
            "current_path": "/",
            "back_here": "/",
            "time_zone": settings.time_zone,
        }
        # Looked up per request, as aiohttp_jinja2 does (the environment keeps it compiled).
        page = (
            "partials/home/welcome.html" if shape_of(request) == "fragment" else "home/welcome.html"
        )
        text = env.get_template(page).render(context)
        return web.Response(text=text, content_type="text/html", charset="utf-8")

    app = web.Application()
    app[settings_key] = settings  # the shell's user_tag() reads it (nobody: "")
    app.router.add_get("/", home)
    app.router.add_get("/jinja", jinja)
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
        WORKERS="1",  # one process, against the one-process bare servers
        # The offline check and partition upkeep would otherwise run beside the measurements.
        SENSOR_CHECK_SECONDS="86400",
    )
    return env


def sign_up(app: Server, email: str) -> str:
    """Sign a beekeeper up through the app's own form; the session cookie it is given."""
    page = get(app.port, path="/signup")
    token = CSRF_FIELD.search(page.body)
    if page.status != 200 or token is None:
        raise SystemExit(f"{app.name}: GET /signup gave no form with a CSRF token")
    form = {"name": "Ada Bench", "email": email, "password": PASSWORD, "_csrf": token.group(1)}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie := cookie_from(page):  # none for a visitor without a session
        headers["Cookie"] = cookie
    reply = request(app.port, "POST", "/signup", headers, urlencode(form).encode(), timeout=30)
    if reply.status != 303 or (signed_in := cookie_from(reply)) is None:
        raise SystemExit(f"{app.name}: POST /signup answered {reply.status}: {reply.body[:300]!r}")
    return signed_in


def record_shapes(app: Server, cookie: str, shapes_dir: Path) -> dict[tuple[str, str], Reply]:
    """The real app's full page and fragment, anonymous and signed in, saved for the bare
    server; and the anonymous page's CSRF token, which the bare Jinja2 handler renders."""
    shapes = {}
    for shape, headers in SHAPES.items():
        for who in VISITORS:
            sent = {**headers, "Cookie": cookie} if who == "signed-in" else headers
            reply = get(app.port, sent)
            if reply.status != 200:
                raise SystemExit(f"GET / ({shape}, {who}) answered {reply.status}")
            (shapes_dir / f"{shape}-{who}.meta").write_text(
                f"{reply.status}\n{reply.content_type}\n"
            )
            (shapes_dir / f"{shape}-{who}.body").write_bytes(reply.body)
            shapes[shape, who] = reply
    token = CSRF_FIELD.search(shapes["full", "anonymous"].body)
    if token is None:
        raise SystemExit("the anonymous home page carries no CSRF token")
    (shapes_dir / "csrf-token").write_bytes(token.group(1))
    return shapes


def check_targets(
    shapes: Mapping[tuple[str, str], Reply], bare: Server, apps: Mapping[str, Server]
) -> None:
    """The bare server sends the app's bytes, and renders them from the template; the app sets
    no cookie for an anonymous visitor, nor for a returning signed-in one."""
    for shape, headers in SHAPES.items():
        theirs = shapes[shape, "anonymous"]
        for path in ("/", "/jinja"):
            mine = get(bare.port, headers, path)
            if (mine.status, mine.content_type, mine.body) != (
                theirs.status,
                theirs.content_type,
                theirs.body,
            ):
                raise SystemExit(f"the bare server's {shape} at {path} is not the app's")
        for _level, app in apps.items():
            if get(app.port, headers).all("Set-Cookie"):
                raise SystemExit(f"{app.name}: an anonymous visitor's {shape} set a cookie")


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

    def ratio(self, key: str, reference: str | None = None) -> float:
        target = self.target(key)
        return target.rps / self.target(reference or str(target.reference)).rps


def plan(bare: Server, apps: Mapping[str, Server], cookies: Mapping[str, str]) -> list[Target]:
    targets = []
    for shape, extra in SHAPES.items():
        name = NAMES[shape]
        bare_key, signed_key = f"bare-{shape}", f"bare-{shape}-signed-in"
        targets += [
            Target(bare_key, f"bare aiohttp, same bytes, {name}", shape, bare, extra, None),
            Target(
                f"jinja-{shape}",
                f"bare aiohttp + Jinja2, {name}",
                shape,
                bare,
                extra,
                None,
                path="/jinja",
            ),
        ]
        for level in LEVELS:
            label = f"CityHive, {name}, anonymous, {level}"
            key = f"app-{shape}-{level}-anonymous"
            targets.append(Target(key, label, shape, apps[level], extra, bare_key))
        if shape == "full":
            compressed = {**extra, "Accept-Encoding": "br"}
            label = f"CityHive, {name}, anonymous, INFO, brotli"
            key = f"app-{shape}-INFO-anonymous-br"
            targets.append(Target(key, label, shape, apps["INFO"], compressed, bare_key))
        signed_bare = {**extra, "Cookie": "signed-in"}
        targets.append(
            Target(
                signed_key,
                f"bare aiohttp, same bytes, {name}, signed in",
                shape,
                bare,
                signed_bare,
                None,
            )
        )
        for level in LEVELS:
            label = f"CityHive, {name}, signed in (Today), {level}"
            key = f"app-{shape}-{level}-signed-in"
            headers = {**extra, "Cookie": cookies[level]}
            targets.append(Target(key, label, shape, apps[level], headers, signed_key))
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
            cookies = {
                level: sign_up(app, f"bench-{level.lower()}@example.org")
                for level, app in apps.items()
            }

            shapes_dir = logs / "shapes"
            shapes_dir.mkdir()
            shapes = record_shapes(apps["WARNING"], cookies["WARNING"], shapes_dir)
            bare_command = [sys.executable, __file__, "bare-server", "--port", "{port}"]
            bare_command += ["--shapes", str(shapes_dir)]
            bare = stack.enter_context(server("bare", bare_command, os.environ, logs))
            wait_ready([bare], "/")
            check_targets(shapes, bare, apps)

            targets = plan(bare, apps, cookies)
            interleaved(targets, load, width=56)
            log_text = apps["INFO"].log_path.read_text(errors="replace")
            return Report(
                load=load,
                targets=targets,
                sizes={f"{shape} {who}": len(reply.body) for (shape, who), reply in shapes.items()},
                info_log_lines=log_text.count('"event":"request"'),
                machine=machine,
                seconds=time.monotonic() - started,
            )
    finally:
        shutil.rmtree(logs, ignore_errors=True)
        machine["load average at the end"] = load_average()


# --- the report -------------------------------------------------------------------------------


def table(report: Report) -> list[str]:
    lines = [
        "| target | req/s | p50 | p99 | ratio to the same bytes | ratio to aiohttp + Jinja2 "
        "| server CPU per request |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in report.targets:
        same = f"{report.ratio(t.key):.2f}" if t.reference else "1.00" if "bare" in t.key else ""
        jinja = ""
        if "anonymous" in t.key:
            jinja = f"{report.ratio(t.key, f'jinja-{t.group}'):.2f}"
        elif t.key.startswith("jinja"):
            jinja = "1.00"
        lines.append(
            f"| {t.label} | {t.rps:,.0f} | {t.p50:.1f} ms | {t.p99:.1f} ms | {same} | {jinja} "
            f"| {t.cpu_us:,.0f} µs |"
        )
    return lines


def interpretation(report: Report) -> list[str]:
    """What the run says, in ratios and in server CPU per request (µs), computed from it."""
    cpu = {t.key: t.cpu_us for t in report.targets}

    def ratios(key: str, reference: str | None = None) -> str:
        said = []
        for shape in SHAPES:
            against = reference.format(shape=shape) if reference else None
            said.append(f"{report.ratio(key.format(shape=shape), against):.2f}")
        return " and ".join(said)

    def met(value: float, target: float) -> str:
        return "met" if value >= target else "NOT met"

    lowest_same = min(report.ratio(f"app-{shape}-INFO-signed-in") for shape in SHAPES)
    lowest_anonymous = min(report.ratio(f"app-{shape}-INFO-anonymous") for shape in SHAPES)
    lowest_jinja = min(
        report.ratio(f"app-{shape}-INFO-anonymous", f"jinja-{shape}") for shape in SHAPES
    )
    spread = max(t.cpu_spread for t in report.targets)
    noise = (
        f"- The rounds of one target differed by up to {spread:,.0f} µs of CPU per request in "
        "this run (the table gives the median), so a difference much smaller than that may be "
        "noise."
        if report.load.rounds > 1
        else "- One round only: this run says nothing about its own noise."
    )
    log_line = statistics.fmean(
        cpu[f"app-{shape}-INFO-{who}"] - cpu[f"app-{shape}-WARNING-{who}"]
        for shape in SHAPES
        for who in VISITORS
    )
    brotli = cpu["app-full-INFO-anonymous-br"] - cpu["app-full-INFO-anonymous"]
    return [
        "- Same bytes, returning signed-in beekeeper (Today), INFO: the app serves "
        f"{ratios('app-{shape}-INFO-signed-in')} of the bare handler's requests per second "
        f"(full page and fragment); target 0.3: {met(lowest_same, 0.3)}. Its server CPU per "
        f"request: {cpu['app-full-INFO-signed-in']:,.0f} µs and "
        f"{cpu['app-fragment-INFO-signed-in']:,.0f} µs, against "
        f"{cpu['bare-full-signed-in']:,.0f} µs and {cpu['bare-fragment-signed-in']:,.0f} µs "
        "for sending the bytes. Today runs six queries for this page (`app/pages/today.py`), "
        "on top of the session's own: see the profile below for where the time goes.",
        "- Same bytes, anonymous visitor, INFO: "
        f"{ratios('app-{shape}-INFO-anonymous')} (target 0.3 for this page too: "
        f"{met(lowest_anonymous, 0.3)}).",
        "- The same template with the same data, rendered by bare aiohttp + Jinja2 (anonymous, "
        f"INFO): {ratios('app-{shape}-INFO-anonymous', 'jinja-{shape}')}; target 0.7: "
        f"{met(lowest_jinja, 0.7)}. Bare aiohttp + Jinja2 spends {cpu['jinja-full']:,.0f} µs "
        f"and {cpu['jinja-fragment']:,.0f} µs per request, the app "
        f"{cpu['app-full-INFO-anonymous']:,.0f} µs and {cpu['app-fragment-INFO-anonymous']:,.0f}"
        " µs.",
        f"- The INFO request log line (orjson) costs {log_line:+,.0f} µs per request on "
        f"average over the four pairs; compressing the full page with brotli {brotli:+,.0f} µs "
        f"({report.sizes['full anonymous']:,} bytes before).",
        noise,
    ]


def section(report: Report) -> str:
    load = report.load
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    facts = "\n".join(f"- {name}: {value}" for name, value in report.machine.items())
    bare_rounds = "; ".join(
        f"{t.label} " + ", ".join(f"{r.requests_per_second:,.0f}" for r in t.runs)
        for t in report.targets
        if t.reference is None
    )
    errors = sum(r.errors for t in report.targets for r in t.runs)
    measured_info = sum(sum(r.requests for r in t.runs) for t in report.targets if "INFO" in t.key)
    sizes = ", ".join(f"{name} {size:,} bytes" for name, size in report.sizes.items())
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
            "fragment runs add `-H 'HX-Request: true'`, the signed-in runs `-H 'Cookie: "
            "cityhive_session=…'` (the cookie the beekeeper's sign-up set). wrk asks for no "
            "compression, except in the brotli row (`-H 'Accept-Encoding: br'`). One wrk "
            "thread, so that wrk and the single-process server each have one of the two cores. "
            f"With {load.connections} requests always in flight against a saturated server, "
            f"the latencies are mostly queueing: p50 is close to {load.connections} / (req/s).",
            "",
            "Targets: CityHive is `python -m app serve` with `WORKERS=1`, the real app with its "
            "whole stack (request id and log line, compression, error pages, session, CSRF, "
            "current user, security headers) on a throwaway database, with `DEMO_DATA=false`, "
            "at `LOG_LEVEL=WARNING` (no per-request log line) and at `LOG_LEVEL=INFO` (one JSON "
            "line per request on stdout, here a file, as in production: "
            f"{report.info_log_lines:,} lines for {measured_info:,} measured requests plus the "
            "warm-ups). An anonymous visitor's page makes no database query and sets no cookie; "
            "the signed-in beekeeper's home page is Today (an account with no hives yet): the "
            "session's query and Today's six. The bare references are one aiohttp process "
            "(`bench/home_page.py bare-server`): at `/` it answers with the bytes that the app "
            "sent (status 200, the same Content-Type and body), the signed-in ones when a "
            "Cookie comes, without the app's other response headers; at `/jinja` it renders "
            "`home/welcome.html` (or its partial) in a Jinja2 environment made as the app's, "
            "with the context `render()` gives it (the anonymous page's own CSRF token "
            f"included), checked to give the app's bytes. Sizes: {sizes}. Server CPU per "
            "request is the server process's user and system time during the runs divided by "
            "the requests wrk counted: it depends less on the other tenants of the machine "
            "than req/s does.",
            "",
            *table(report),
            "",
            f"References' req/s by round: {bare_rounds}. Socket errors and non-2xx responses "
            f"in the measured runs: {errors}.",
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

    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    if args.command == "bare-server":
        serve_bare(args.port, args.shapes)
        return 0
    load = Load(args.threads, args.connections, args.duration, args.warmup, args.rounds)
    return measure_and_report(args, lambda: run(load), summary, section, (BEGIN, END))


if __name__ == "__main__":
    sys.exit(main())

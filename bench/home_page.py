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

import argparse
import contextlib
import http.client
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench:home_page -->"
END = "<!-- /bench:home_page -->"
HOST = "127.0.0.1"
SESSION_COOKIE = "cityhive_session"  # app.main.SESSION_COOKIE
FRAGMENT = {"HX-Request": "true"}
SHAPES = {"full": {}, "fragment": FRAGMENT}
NAMES = {"full": "full page", "fragment": "fragment"}
LEVELS = ("WARNING", "INFO")
START_TIMEOUT = 90.0


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


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def content_type(self) -> str | None:
        return next(iter(self.all("Content-Type")), None)


def get(port: int, headers: Mapping[str, str] | None = None, path: str = "/") -> Reply:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path, headers=dict(headers or {}))
        response = conn.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (it has no children)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)"; utime, stime: 14, 15
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def server(
    name: str, command: Sequence[str], env: Mapping[str, str], logs: Path
) -> Iterator[Server]:
    """A server subprocess on a free port (given as PORT or --port), stopped whatever happens."""
    port = free_port()
    log_path = logs / f"{name}.log"
    command = [arg.replace("{port}", str(port)) for arg in command]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "PORT": str(port)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Server(name, port, process, log_path)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_ready(servers: Sequence[Server], path: str) -> None:
    """Poll each server until `path` answers 200; fail with the server's output if it doesn't."""
    deadline = time.monotonic() + START_TIMEOUT
    for started in servers:
        while True:
            if started.process.poll() is not None:
                raise SystemExit(f"{started.name} exited:\n{started.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get(started.port, path=path).status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{started.name} not ready in time:\n{started.log_tail()}")
            time.sleep(0.2)


# --- the database -----------------------------------------------------------------------------


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """A throwaway database migrated to head, on the tests' server, the app's, or the local
    cluster."""
    from app.db import local_server_url
    from app.migrate import throwaway_database
    from app.settings import Settings

    server_url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    with throwaway_database(server_url or local_server_url(Settings()), "cityhive_bench") as url:
        yield url


# --- wrk --------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration: int
    warmup: int
    rounds: int

    def command(self, seconds: int, port: int, headers: Mapping[str, str]) -> list[str]:
        command = ["wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds}s"]
        command.append("--latency")
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        return [*command, f"http://{HOST}:{port}/"]


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors and non-2xx/3xx responses
    cpu_seconds: float  # the server's, during the run

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(self.requests, 1) * 1e6


def wrk(command: Sequence[str], timeout: float) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/sec, the 50% and 99% latencies in ms, the request and error counts."""

    def found(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.M)
        if match is None:
            raise SystemExit(f"no {pattern!r} in wrk's output:\n{output}")
        return match

    def latency(percent: int) -> float:
        match = found(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$")
        return float(match.group(1)) * UNITS[match.group(2)]

    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad_status = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return {
        "rps": float(found(r"^Requests/sec:\s+([\d.]+)").group(1)),
        "p50": latency(50),
        "p99": latency(99),
        "requests": int(found(r"(\d+) requests in").group(1)),
        "errors": errors + (int(bad_status.group(1)) if bad_status else 0),
    }


@dataclass
class Target:
    key: str  # e.g. "app-full-INFO-new"
    label: str
    shape: str
    server: Server
    headers: dict[str, str]
    reference: str | None  # the bare target to compare with; None: this is the bare one
    runs: list[Run] = field(default_factory=list)

    def warm_up(self, load: Load) -> None:
        wrk(load.command(load.warmup, self.server.port, self.headers), load.warmup + 30)

    def measure(self, load: Load) -> Run:
        command = load.command(load.duration, self.server.port, self.headers)
        before = self.server.cpu_seconds()
        output = wrk(command, load.duration + 30)
        cpu = self.server.cpu_seconds() - before
        numbers = parse_wrk(output)
        run = Run(
            requests_per_second=numbers["rps"],
            p50_ms=numbers["p50"],
            p99_ms=numbers["p99"],
            requests=int(numbers["requests"]),
            errors=int(numbers["errors"]),
            cpu_seconds=cpu,
        )
        if run.errors:
            print(f"warning: {self.label}: {run.errors} errors or non-2xx responses\n{output}")
        self.runs.append(run)
        return run

    # Medians of the rounds: one round disturbed by another tenant moves them little.
    @property
    def rps(self) -> float:
        return statistics.median(r.requests_per_second for r in self.runs)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)

    @property
    def cpu_us(self) -> float:
        return statistics.median(r.cpu_us_per_request for r in self.runs)

    @property
    def cpu_spread(self) -> float:
        """How far apart the rounds' CPU per request were."""
        each = [r.cpu_us_per_request for r in self.runs]
        return max(each) - min(each)


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
    for value in reply.all("Set-Cookie"):
        name, _, rest = value.partition("=")
        if name.strip() == SESSION_COOKIE:
            return f"{SESSION_COOKIE}={rest.split(';', 1)[0]}"
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
    machine = machine_facts()
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
            print(f"warm-up: {load.warmup} s per target ...", flush=True)
            for target in targets:
                target.warm_up(load)
            runs = len(targets) * load.rounds
            for number in range(runs):
                round_, index = divmod(number, len(targets))
                target = targets[index if round_ % 2 == 0 else -1 - index]
                result = target.measure(load)
                print(
                    f"[{number + 1:2}/{runs}] {target.label:48} "
                    f"{result.requests_per_second:7.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                    f"p99 {result.p99_ms:6.2f} ms  {result.cpu_us_per_request:5.0f} µs CPU/req",
                    flush=True,
                )
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
        machine["load average at the end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the report -------------------------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    memory = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    packages = ("aiohttp", "aiohttp-jinja2", "aiohttp-session", "cryptography", "jinja2")
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU": model.group(1).strip() if model else platform.machine(),
        "memory": f"{int(memory.group(1)) / 1024**2:.1f} GiB" if memory else "unknown",
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "packages": ", ".join(f"{name} {metadata.version(name)}" for name in packages)
        + f", structlog {metadata.version('structlog')}",
        "wrk": (wrk_version.stdout + wrk_version.stderr).split(" Copyright")[0].strip(),
        "load average at the start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


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
        "Jinja rendering, the session cookie, the five middlewares and the extra response "
        "headers.",
        "- A new visitor (a new CSRF token, a new Fernet-encrypted cookie and Set-Cookie) "
        f"against a returning one (decrypting the cookie): {change(session)}. The INFO request "
        f"log line: {change(logging)}.",
        noise,
    ]


def busy(machine: Mapping[str, str]) -> list[str]:
    """A warning when other work shared the CPUs: the 1-minute load average was high before
    the run, or above what the server and wrk make (about one per CPU here) at its end."""
    cpus = int(machine["CPUs (nproc)"])
    before = float(machine["load average at the start"].split()[0])
    after = float(machine.get("load average at the end", "0").split()[0])
    if before <= cpus / 2 and after <= cpus * 1.5:
        return []
    return [
        "",
        f"The load average reached {max(before, after):.1f} on {cpus} CPUs: other work shared "
        "the machine during this run, so the absolute numbers are lower and noisier than on a "
        "quiet machine.",
    ]


def section(report: Report) -> str:
    load = report.load
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    facts = "\n".join(f"- {name}: {value}" for name, value in report.machine.items())
    bare_rounds = "; ".join(
        f"{t.shape} " + ", ".join(f"{r.requests_per_second:,.0f}" for r in t.runs)
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


def write_section(text: str, path: Path = DOC) -> None:
    """Replace the marked section and keep the rest; a new file gets a title first."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    marked = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if marked.search(old):
        new = marked.sub(lambda _: text, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=4, help="measured runs per target")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--doc", type=Path, default=DOC, help="the results file to update")
    parser.add_argument("--no-write", action="store_true", help="leave the results file alone")
    commands = parser.add_subparsers(dest="command")
    bare = commands.add_parser("bare-server", help="(used by the benchmark) the bare reference")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--shapes", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "bare-server":
        serve_bare(args.port, args.shapes)
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian and Ubuntu: apt-get install wrk)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does
    # TERM (a timeout, kill) unwinds like Ctrl-C, so the servers and the database go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    report = run(Load(args.threads, args.connections, args.duration, args.warmup, args.rounds))
    print("\n" + "\n".join(table(report)) + "\n\n" + "\n".join(interpretation(report)))
    if not args.no_write:
        write_section(section(report), args.doc)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

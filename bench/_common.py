"""What the benchmarks share: servers on loopback, a throwaway database, wrk and its numbers,
the machine's facts and the marked sections of docs/benchmarks.md.

Imported by the scripts beside it (`python bench/X.py` puts bench/ first on sys.path).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HOST = "127.0.0.1"
SESSION_COOKIE = "cityhive_session"  # app.main.SESSION_COOKIE
START_TIMEOUT = 90.0


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


def request(
    port: int,
    method: str,
    path: str = "/",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 5,
) -> Reply:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


def get(
    port: int, headers: Mapping[str, str] | None = None, path: str = "/", timeout: float = 5
) -> Reply:
    return request(port, "GET", path, headers, timeout=timeout)


def cookie_from(reply: Reply, name: str = SESSION_COOKIE) -> str | None:
    """`name=value` of the cookie that the reply sets, if it sets it."""
    for value in reply.all("Set-Cookie"):
        key, _, rest = value.partition("=")
        if key.strip() == name:
            return f"{name}={rest.split(';', 1)[0]}"
    return None


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (not of its children)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)"; utime, stime: 14, 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (a gunicorn master's workers)."""
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, its live children, and its reaped children."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # utime, stime, cutime, cstime: 14 to 17
    own = sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    live = 0.0
    for child in children(pid):
        with contextlib.suppress(OSError):  # it may end meanwhile
            live += process_cpu_seconds(child)
    return own + live


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server so far: its process and, with WORKERS > 1, its
        workers, live or ended (an ended worker's time is its master's, once reaped)."""
        return tree_cpu_seconds(self.process.pid)

    def pids(self) -> list[int]:
        """The server's process and its workers."""
        return [self.process.pid, *children(self.process.pid)]

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
    # Append mode: with WORKERS > 1 every worker's line lands whole at the end (O_APPEND).
    with log_path.open("ab") as log_file:
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
def bench_database(prefix: str = "cityhive_bench") -> Iterator[str]:
    """A throwaway database migrated to head, on the tests' server, the app's, or the local
    cluster."""
    from app.db import local_server_url
    from app.migrate import throwaway_database
    from app.settings import Settings

    server_url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    with throwaway_database(server_url or local_server_url(Settings()), prefix) as url:
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
    timeout: int | None = None  # wrk's --timeout in seconds (its default is 2)

    def command(
        self, seconds: int, port: int, headers: Mapping[str, str], path: str = "/"
    ) -> list[str]:
        command = ["wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds}s"]
        if self.timeout is not None:
            command.append(f"--timeout={self.timeout}s")
        command.append("--latency")
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        return [*command, f"http://{HOST}:{port}{path}"]


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors and non-2xx/3xx responses
    cpu_seconds: float  # the server's, during the run
    extra_cpu_seconds: float | None = None  # another process's (a benchmark's choice)
    # The server's own count of the requests it answered for the CPU above, when it keeps one
    # (it can differ from wrk's: wrk stops with requests in flight, which the server finishes).
    answered: int | None = None

    @property
    def _per(self) -> int:
        return max(self.answered if self.answered is not None else self.requests, 1)

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self._per * 1e6

    @property
    def extra_cpu_us_per_request(self) -> float | None:
        if self.extra_cpu_seconds is None:
            return None
        return self.extra_cpu_seconds / self._per * 1e6


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
    group: str  # what it is compared within, e.g. the page shape
    server: Server
    headers: dict[str, str]
    reference: str | None  # the key of the target to compare with; None: this is a reference
    path: str = "/"
    runs: list[Run] = field(default_factory=list)
    # For slow responses: wrk stops with requests in flight, which the server still finishes.
    # `settle` waits for that, before and after each run, so no run's work falls on the next;
    # `answered` is the server's own count of answered requests, to divide its CPU time by.
    settle: Callable[[], None] | None = None
    answered: Callable[[], int] | None = None
    warmup_requests: int = 0

    def warm_up(self, load: Load) -> None:
        command = load.command(load.warmup, self.server.port, self.headers, self.path)
        self.warmup_requests = int(parse_wrk(wrk(command, load.warmup + 30))["requests"])
        if self.settle:
            self.settle()

    def measure(self, load: Load, extra_cpu: Callable[[], float] | None = None) -> Run:
        """One wrk run; `extra_cpu`, if given, reads another process's CPU seconds so far."""
        command = load.command(load.duration, self.server.port, self.headers, self.path)
        if self.settle:
            self.settle()
        answered_before = self.answered() if self.answered else None
        before = self.server.cpu_seconds()
        extra_before = extra_cpu() if extra_cpu else None
        output = wrk(command, load.duration + 30)
        if self.settle:
            self.settle()
        cpu = self.server.cpu_seconds() - before
        extra = extra_cpu() - extra_before if extra_cpu and extra_before is not None else None
        answered = (
            self.answered() - answered_before
            if self.answered and answered_before is not None
            else None
        )
        numbers = parse_wrk(output)
        run = Run(
            requests_per_second=numbers["rps"],
            p50_ms=numbers["p50"],
            p99_ms=numbers["p99"],
            requests=int(numbers["requests"]),
            errors=int(numbers["errors"]),
            cpu_seconds=cpu,
            extra_cpu_seconds=extra,
            answered=answered,
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
    def extra_cpu_us(self) -> float | None:
        each = [r.extra_cpu_us_per_request for r in self.runs]
        known = [value for value in each if value is not None]
        return statistics.median(known) if known and len(known) == len(each) else None

    @property
    def cpu_spread(self) -> float:
        """How far apart the rounds' CPU per request were."""
        each = [r.cpu_us_per_request for r in self.runs]
        return max(each) - min(each)


def interleaved(
    targets: Sequence[Target],
    load: Load,
    extra_cpu: Callable[[], float] | None = None,
    width: int = 48,
    extra_name: str = "other",
) -> None:
    """Warm every target up, then measure them all `load.rounds` times, every other round in
    reverse order, so drift on the shared machine falls on every target alike."""
    print(f"warm-up: {load.warmup} s per target ...", flush=True)
    for target in targets:
        target.warm_up(load)
    runs = len(targets) * load.rounds
    for number in range(runs):
        round_, index = divmod(number, len(targets))
        target = targets[index if round_ % 2 == 0 else -1 - index]
        result = target.measure(load, extra_cpu)
        print(
            f"[{number + 1:2}/{runs}] {target.label:{width}} "
            f"{result.requests_per_second:7.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
            f"p99 {result.p99_ms:6.2f} ms  {result.cpu_us_per_request:5.0f} µs CPU/req"
            + (
                f"  {result.extra_cpu_us_per_request:7.0f} µs {extra_name} CPU/req"
                if result.extra_cpu_us_per_request is not None
                else ""
            ),
            flush=True,
        )


# --- the report -------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine_facts(packages: Sequence[str]) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    memory = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU": model.group(1).strip() if model else platform.machine(),
        "memory": f"{int(memory.group(1)) / 1024**2:.1f} GiB" if memory else "unknown",
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "packages": ", ".join(f"{name} {metadata.version(name)}" for name in packages),
        "wrk": (wrk_version.stdout + wrk_version.stderr).split(" Copyright")[0].strip(),
        "load average at the start": load_average(),
    }


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


def write_section(text: str, begin: str, end: str, path: Path = DOC) -> None:
    """Replace the section between the markers and keep the rest; a new file gets a title
    first, a new section goes at the end."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    marked = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if marked.search(old):
        new = marked.sub(lambda _: text, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def load_arguments(
    description: str, *, duration: int, rounds: int, warmup: int, connections: int
) -> argparse.ArgumentParser:
    """The options every benchmark takes, with the benchmark's own defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--duration", type=int, default=duration, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=rounds, help="measured runs per target")
    parser.add_argument("--warmup", type=int, default=warmup, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=connections, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--doc", type=Path, default=DOC, help="the results file to update")
    parser.add_argument("--no-write", action="store_true", help="leave the results file alone")
    return parser


def measure_and_report[R](
    args: argparse.Namespace,
    run: Callable[[], R],
    summary: Callable[[R], list[str]],
    section: Callable[[R], str],
    markers: tuple[str, str],
) -> int:
    """What every benchmark does once its options are read: check for wrk, measure, print the
    summary and rewrite its own section of the results file (unless --no-write)."""
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian and Ubuntu: apt-get install wrk)", file=sys.stderr)
        return 2
    # TERM (a timeout, kill) unwinds like Ctrl-C, so the servers and the database go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run()
    print("\n" + "\n".join(summary(report)))
    if not args.no_write:
        write_section(section(report), *markers, args.doc)
        print(f"wrote {args.doc}")
    return 0

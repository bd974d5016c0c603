"""`python -m app serve` on every core: WORKERS processes on one port, replaced when they die,
restarted one by one on SIGHUP, stopped cleanly; and their pools within the connection budget."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import INGEST_CONNECTIONS, ROOT, Settings
from tests.conftest import free_port, throwaway_database, wait_until_ready

DEADLINE_SECONDS = 30.0


def events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line[:1] == "{"]


def workers_started(log: Path) -> list[int]:
    return [int(str(e["pid"])) for e in events(log) if e["event"] == "worker_started"]


def until(condition: Callable[[], bool], what: str, log: Path) -> None:
    """Poll another process's log for a state: there is no event to wait on across processes."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not seen within {DEADLINE_SECONDS:.0f} s: {what}\n{log.read_text()}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def ready(base: str) -> int:
    with urllib.request.urlopen(f"{base}/health/ready", timeout=10) as response:
        return response.status


def ready_as_a_proxy_asks(base: str) -> int | str:
    """/health/ready, asked again once if the connection closed before any answer, as nginx does
    for an idempotent request (proxy_next_upstream error): a worker that is stopping closes the
    connections that have not sent their request yet (aiohttp's graceful shutdown)."""
    for _ in range(2):
        try:
            return ready(base)
        except http.client.RemoteDisconnected as error:
            closed = repr(error)
        except OSError as error:
            return repr(error)
    return closed


def get_as_a_proxy_asks(base: str, path: str) -> tuple[int | str, int]:
    """GET `path` on a new connection, asked again on another if the first closed before any
    answer, as nginx does for an idempotent request (proxy_next_upstream error): the answer,
    and how many times it was asked. A connection that a killed worker had accepted is closed by
    the kernel unanswered; the listening socket, and what waits in it, stays with the others."""
    host, port = base.removeprefix("http://").split(":")
    closed = ""
    for asked in (1, 2):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", path)
            return connection.getresponse().status, asked
        except ConnectionError as error:  # reset, or closed before the status line
            closed = repr(error)
        except OSError as error:
            return repr(error), asked
        finally:
            connection.close()
    return closed, 2


class Load:
    """Clients asking without pause, each on a new connection per request, until stopped."""

    PATHS = ("/", "/health/ready", "/login")  # no database, the database, a form's page

    def __init__(self, base: str, clients: int = 8) -> None:
        self.answers: list[tuple[int | str, int]] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self.keep_asking, args=(base, self.PATHS[n % len(self.PATHS)]))
            for n in range(clients)
        ]

    def keep_asking(self, base: str, path: str) -> None:
        while not self.stop.is_set():
            self.answers.append(get_as_a_proxy_asks(base, path))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def test_workers_share_the_port_are_replaced_and_restart_without_a_failed_request(
    database_server_url, tmp_path
):
    log = tmp_path / "server.log"
    with throwaway_database(database_server_url, "cityhive_workers") as url:
        port = free_port()
        env = os.environ | {
            "DATABASE_URL": url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WORKERS": "2",
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        # Append mode: every worker's line lands whole at the end (O_APPEND), none over another.
        with log.open("a") as out:
            master = subprocess.Popen(
                [sys.executable, "-m", "app", "serve"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(master, base, log.read_text)
            until(lambda: len(workers_started(log)) == 2, "two workers", log)
            first, second = workers_started(log)
            assert master.pid not in (first, second)

            # A worker killed under load: every request is answered, by the other worker
            # (a request the dead one had accepted, asked again as a proxy does), and the dead
            # one is replaced.
            with Load(base) as load:
                until(lambda: len(load.answers) >= 50, "answers before the kill", log)
                os.kill(first, signal.SIGKILL)
                killed_at = len(load.answers)
                until(lambda: len(workers_started(log)) == 3, "a worker in place of the dead", log)
                until(lambda: len(load.answers) >= killed_at + 50, "answers after the kill", log)
            statuses = [status for status, _asked in load.answers]
            assert set(statuses) == {200}, [s for s in statuses if s != 200]
            asked_twice = sum(asked == 2 for _status, asked in load.answers)
            assert asked_twice <= len(load.threads)  # at most those the dead worker held
            assert ready(base) == 200

            # SIGHUP: new workers take over, the old ones finish; no request fails meanwhile.
            answers: list[int | str] = []
            stop = threading.Event()

            def keep_asking() -> None:
                while not stop.is_set():
                    answers.append(ready_as_a_proxy_asks(base))

            asker = threading.Thread(target=keep_asking)
            asker.start()
            before = set(workers_started(log)) - {first}
            master.send_signal(signal.SIGHUP)
            until(lambda: len(workers_started(log)) == 5, "two new workers after SIGHUP", log)
            until(lambda: not any(alive(pid) for pid in before), "the old workers gone", log)
            asked = len(answers)
            until(lambda: len(answers) > asked, "an answer from the new workers", log)
            stop.set()
            asker.join()
            assert set(answers) == {200}, [a for a in answers if a != 200]
        finally:
            master.send_signal(signal.SIGTERM)
            master.wait(timeout=DEADLINE_SECONDS)
        assert master.returncode == 0, log.read_text()
        assert not any(alive(pid) for pid in workers_started(log))
        serving = next(e for e in events(log) if e["event"] == "serving")
        assert serving["workers"] == 2


@pytest.mark.parametrize(("workers", "budget"), [(1, 60), (2, 60), (4, 60), (16, 200), (3, 40)])
def test_the_workers_pools_stay_within_the_connection_budget(workers, budget):
    settings = Settings(workers=workers, database_connections=budget)
    size, overflow = settings.pool_sizes
    assert size >= 1
    assert workers * (size + overflow + INGEST_CONNECTIONS) <= budget


def test_a_budget_too_small_for_the_workers_is_refused():
    with pytest.raises(ValidationError, match="DATABASE_CONNECTIONS=60 is too few for WORKERS=8"):
        Settings(workers=8, database_connections=60)


def test_a_pool_size_that_is_set_is_kept():
    settings = Settings(workers=2, database_pool_size=4, database_pool_overflow=0)
    assert settings.pool_sizes == (4, 0)


def test_workers_default_to_the_cpus_this_process_may_use():
    assert Settings().workers == len(os.sched_getaffinity(0))

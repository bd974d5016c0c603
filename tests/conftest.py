"""Test databases: each run builds throwaway PostGIS databases with the migrations, then drops them.

The server is TEST_DATABASE_URL's when set (any database on it; the tests create their own),
else the local cluster under .data/, started (and created the first time) as `make run` does.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import structlog

from app.db import local_server_url
from app.migrate import throwaway_database
from app.settings import Settings
from app.web import i18n

__all__ = ["free_port", "throwaway_database", "wait_until_ready"]

# Tests that do not configure logging get structlog's console renderer, which draws an
# exception's traceback with rich (syntax-highlighted, with locals): seconds per logged error.
# Plain tracebacks say the same; tests that read log lines use structlog.testing.
structlog.configure(
    processors=[
        *structlog.get_config()["processors"][:-1],
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
    ]
)

READY_TIMEOUT_SECONDS = 30.0


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test an id of its own, and a pytest-xdist group: its file's.

    pytest-xdist hands tests to its workers by id and would run only the first of several that
    share one. schemathesis gives every API operation of a test the test function's id; here each
    gets its name, which names the operation. Any other repeated id stops the run.

    Under `--dist loadgroup` (make test) a file's tests stay together on one worker, so its module
    fixtures and e2e server are set up once; a test marked with an `xdist_group` of its own (the
    shards of a long walk) can run beside the rest of its file on the other worker.
    """
    for item in items:
        if item.parent is not None and not item.nodeid.endswith(item.name):
            item._id = item.parent.id.child(item.name)  # where pytest 9 keeps the id
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    counts = Counter(item.nodeid for item in items)
    if repeated := sorted(nodeid for nodeid, count in counts.items() if count > 1):
        raise pytest.UsageError("tests that share an id: " + ", ".join(repeated))


@pytest.fixture(autouse=True)
def english_unless_a_test_says_otherwise() -> Iterator[None]:
    """Every test starts in English and leaves English behind: a test that picks a language
    with i18n.use() outside a request (a sync test changes the thread's own context) must not
    turn the next test's templates German."""
    i18n.use(i18n.SOURCE)
    yield
    i18n.use(i18n.SOURCE)


@pytest.fixture(scope="session")
def database_server_url() -> Iterator[str]:
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    yield local_server_url_once(Settings())


def local_server_url_once(settings: Settings) -> str:
    """The local cluster's URL, started by one pytest process at a time.

    With pytest-xdist every worker asks at once; the first one through the lock creates and
    starts the cluster, and the others find it running.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (settings.data_dir / "tests-start-cluster.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return local_server_url(settings)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(process: subprocess.Popen, base_url: str, output: Callable[[], str]) -> None:
    """Poll /health/ready until it answers 200; fail with the server's output if it dies."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the server exited with code {process.returncode} before it was ready\n"
                + output(),
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{base_url}/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
                last_problem = f"status {response.status}"
        except urllib.error.HTTPError as error:
            last_problem = f"status {error.code}"
            error.close()
        except OSError as error:
            last_problem = repr(error)
        time.sleep(0.1)  # polling another process: there is no event to wait for
    pytest.fail(
        f"the server was not ready after {READY_TIMEOUT_SECONDS:.0f} s ({last_problem})\n"
        + output(),
        pytrace=False,
    )

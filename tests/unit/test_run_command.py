"""`python -m app run` (what `make run` calls): migrate, load the demo once, serve, stop cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from app.settings import ROOT
from tests.conftest import free_port, throwaway_database


def wait_until_ready(base: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited early:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{base}/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("the server did not become ready")


def test_run_migrates_seeds_and_serves_the_home_page(database_server_url, tmp_path):
    with throwaway_database(database_server_url, "cityhive_run") as url:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATA_DIR": str(tmp_path),
            "DEMO_DATA": "true",
            "LOG_LEVEL": "INFO",
        }
        env.pop("SECRET_KEY", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base, process)
            with urllib.request.urlopen(f"{base}/", timeout=5) as response:
                home = response.read().decode()
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output
        assert "Beekeeping for the city" in home
        assert (tmp_path / "secret_key").exists()  # generated once, kept for the next start
        events = [json.loads(line)["event"] for line in output.splitlines() if line[:1] == "{"]
        assert "demo_data_loaded" in events
        assert "serving" in events
        assert "request" in events

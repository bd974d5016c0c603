"""`python -m app run` (what `make run` calls): migrate, load the demo once, serve, stop cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

from app.settings import ROOT
from tests.conftest import free_port, throwaway_database, wait_until_ready


def test_run_migrates_seeds_and_serves_the_home_page(database_server_url, tmp_path):
    log = tmp_path / "server.log"
    with throwaway_database(database_server_url, "cityhive_run") as url:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATA_DIR": str(tmp_path / "data"),
            "DEMO_DATA": "true",
            "LOG_LEVEL": "INFO",
        }
        env.pop("SECRET_KEY", None)
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "app", "run"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(process, base, log.read_text)
            with urllib.request.urlopen(f"{base}/", timeout=5) as response:
                home = response.read().decode()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
        output = log.read_text()
        assert process.returncode == 0, output
        assert "Beekeeping for the city" in home
        assert (
            tmp_path / "data" / "secret_key"
        ).exists()  # generated once, kept for the next start
        events = [json.loads(line)["event"] for line in output.splitlines() if line[:1] == "{"]
        assert "demo_data_loaded" in events
        assert "serving" in events
        assert "request" in events

"""The Nu HTML Checker (vnu.jar) over the main pages, signed in and signed out.

    .venv/bin/python bench/valid_html.py --vnu /path/to/vnu.jar

Not part of `make test` (it needs Java): run it after changing templates. vnu.jar comes from the
npm registry (`npm install vnu-jar` puts it at node_modules/vnu-jar/build/dist/vnu.jar) and runs
on any Java 11 or later (Debian: `apt-get install default-jre-headless`).

1. a throwaway database migrated to head (TEST_DATABASE_URL's or DATABASE_URL's server when one
   is set) and `python -m app serve` on it;
2. a beekeeper signed up through the app's form, with a hive, an inspection, a harvest and two
   sensors with a day of readings (bench/lighthouse.py's set-up), so the pages show their lists
   and charts rather than their empty states;
3. every page below fetched as a browser would (a full page, not an htmx fragment), signed out
   and signed in, into a temporary folder, and `java -jar vnu.jar --errors-only` over it.

htmx's own attributes (hx-get, hx-boost, ...) are not HTML's: vnu reports each as "Attribute
hx-… not allowed", and those are filtered out; every other error is printed, and the exit
status is 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import HOST, ROOT, Server, bench_database, get, server, wait_ready
from lighthouse import beekeeper_with_a_hive, sensors_with_readings

SIGNED_OUT = (
    "/",
    "/login",
    "/signup",
    "/swarms/report",
    "/city",
    "/city/stats",
    "/api",
    "/nowhere",
)
SIGNED_IN = (
    "/",
    "/hives",
    "/hives/new",
    "/map",
    "/hives/{hive}",
    "/hives/{hive}/edit",
    "/hives/{hive}/inspections/new",
    "/hives/{hive}/inspections/schedule",
    "/hives/{hive}/colony/new",
    "/hives/{hive}/boxes",
    "/hives/{hive}/sensors",
    "/hives/{hive}/alert-rules",
    "/harvests",
    "/harvests/new",
    "/calendar",
    "/colonies",
    "/medicines",
    "/medicines/new",
    "/treatments",
    "/treatments/new",
    "/swarms",
    "/swarms/report",
    "/alerts",
    "/city",
    "/city/forage",
    "/exports",
    "/profile",
    "/push/devices",
    "/offline",
)
HTMX_ATTRIBUTE = re.compile(r"Attribute “hx-[a-z-]+” not allowed")


def fetch(app: Server, path: str, cookie: str | None, folder: Path, name: str) -> Path:
    """Save one page's HTML; a page that does not answer 200 (404 for /nowhere, the error page)
    is an error of its own."""
    headers = {"Cookie": cookie} if cookie else {}
    reply = get(app.port, headers, path=path, timeout=30)
    if reply.status != (404 if path == "/nowhere" else 200):
        raise SystemExit(f"GET {path} ({name}) answered {reply.status}")
    target = folder / f"{name}{re.sub(r'[^a-z0-9]+', '_', path)}.html"
    target.write_bytes(reply.body)
    return target


def check(vnu: Path, files: list[Path]) -> list[dict]:
    """vnu's errors on the files, htmx's attributes aside."""
    done = subprocess.run(
        ["java", "-jar", str(vnu), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    messages = json.loads(done.stderr or done.stdout)["messages"]
    return [m for m in messages if not HTMX_ATTRIBUTE.search(m.get("message", ""))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--vnu", type=Path, required=True, help="the path of vnu.jar")
    parser.add_argument("--keep", type=Path, help="a folder to keep the fetched pages in")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # import app as `python -m app` does (bench_database needs it)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cityhive-html-"))
    folder.mkdir(parents=True, exist_ok=True)
    with bench_database("cityhive_html") as database_url:
        env = os.environ | {
            "DATABASE_URL": database_url,
            "HOST": HOST,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DEMO_DATA": "false",
            "LOG_LEVEL": "WARNING",
            "DATA_DIR": tempfile.mkdtemp(prefix="cityhive-html-"),
        }
        with (
            tempfile.TemporaryDirectory() as logs,
            server("app", [sys.executable, "-m", "app", "serve"], env, Path(logs)) as app,
        ):
            wait_ready([app], "/health/ready")
            files = [fetch(app, path, None, folder, "signed-out") for path in SIGNED_OUT]
            cookie, hive_id = beekeeper_with_a_hive(app)
            sensors_with_readings(app, cookie, hive_id)
            for path in SIGNED_IN:
                files.append(fetch(app, path.format(hive=hive_id), cookie, folder, "signed-in"))
    errors = check(args.vnu, files)
    for error in errors:
        where = Path(error.get("url", "?")).name
        print(f"{where}:{error.get('lastLine', '?')}: {error['message']}")
        print(f"    {error.get('extract', '').strip()}")
    print(f"{len(files)} pages checked, {len(errors)} errors (htmx's hx-* attributes aside)")
    return 1 if errors else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())

"""The layers hold: no feature imports another feature, and nothing in app/ imports upward
(scripts/check_layers.py). And the checker would notice if they did."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from app.settings import ROOT

SCRIPT = ROOT / "scripts" / "check_layers.py"


def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_layers", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_app_imports_only_its_own_room_and_the_layers_below() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.stdout == ""
    assert result.returncode == 0


def write(root: Path, name: str, source: str = "") -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


def test_a_feature_importing_a_feature_and_an_upward_import_are_caught(tmp_path: Path) -> None:
    write(tmp_path, "keys.py", "from app.web.htmx import render\n")  # core -> web: upward
    write(tmp_path, "web/htmx.py")
    write(tmp_path, "hives/views.py", "from app.sensors import queries\n")  # sideways
    write(tmp_path, "sensors/queries.py", "from app.pages.hive import hive_page\n")  # upward
    write(tmp_path, "pages/hive.py", "from app.hives import views\nfrom app import main\n")
    write(tmp_path, "main.py", "import app.pages.hive\n")

    problems = checker().violations(tmp_path)

    assert problems == [
        "app/hives/views.py:1: feature hives imports feature sensors",
        "app/keys.py:1: keys (core) imports up into web (web)",
        "app/pages/hive.py:2: pages (pages) imports up into main (wiring)",
        "app/sensors/queries.py:1: sensors (feature) imports up into pages (pages)",
    ]


def test_a_room_may_import_itself_and_everything_below(tmp_path: Path) -> None:
    write(tmp_path, "hives/views.py", "from app.hives import queries\nfrom app.geo import point\n")
    write(tmp_path, "geo.py", "from app.web.auth import hive_for\n")
    write(tmp_path, "web/auth.py", "from app.keys import db_key\nfrom app.web.api import Problem\n")

    assert checker().violations(tmp_path) == []

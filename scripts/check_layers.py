"""Fail when an import in app/ points sideways between features or up the layers.

From the bottom: core (settings, keys, db, models, ...), web/ (HTTP plumbing), geo, the feature
rooms, pages/ (screens that gather features), and the wiring on top (main, server, __main__, seed).
A module may import its own room and anything in a lower layer; a feature never imports another
feature. Run it as `python scripts/check_layers.py`; `make test` runs it through
tests/unit/test_layers.py.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

CORE = {
    "settings",
    "keys",
    "db",
    "connection",
    "models",
    "metrics",
    "observability",
    "migrate",
    "assets",
    "slots",
    "catalogues",
}
WIRING = {"main", "server", "__main__", "seed", "__init__"}
LAYERS = {"core": 0, "web": 1, "geo": 2, "feature": 3, "pages": 4, "wiring": 5}


def room_of(parts: tuple[str, ...]) -> str:
    """The room a module of app/ lives in: 'settings', 'web', 'hives', 'pages', ..."""
    return parts[0].removesuffix(".py")


def layer_of(room: str) -> str:
    """core, web, geo, feature, pages or wiring: every room that is none of the others is a
    feature, so a new feature's room is checked from its first line."""
    if room in CORE:
        return "core"
    if room in WIRING:
        return "wiring"
    if room in ("web", "geo", "pages"):
        return room
    return "feature"


def imported_rooms(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        if isinstance(node, ast.ImportFrom) and node.module == "app" and node.level == 0:
            names = [f"app.{alias.name}" for alias in node.names]  # from app import migrate
        for name in names:
            parts = name.split(".")
            if parts[0] == "app" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def violations(root: Path = APP) -> list[str]:
    """Each import in the package at `root` (app/ unless a test says otherwise) that breaks
    the layering, as `app/<file>:<line>: what is wrong`."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        here = room_of(path.relative_to(root).parts)
        here_layer = layer_of(here)
        for line, there in imported_rooms(path):
            there_layer = layer_of(there)
            where = f"app/{path.relative_to(root)}:{line}"
            if there == here:
                continue
            if LAYERS[there_layer] > LAYERS[here_layer]:
                upward = f"{here} ({here_layer}) imports up into {there} ({there_layer})"
                problems.append(f"{where}: {upward}")
            elif there_layer == here_layer == "feature":
                problems.append(f"{where}: feature {here} imports feature {there}")
    return problems


def main() -> int:
    problems = violations()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Cache-busting URLs for static/: each file's URL carries a hash of its content."""

from __future__ import annotations

import hashlib
from pathlib import Path

STATIC_PREFIX = "/static/"


class StaticAssets:
    """Hashes every file under static/ once, at start-up: rendering a URL is a dict look-up."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._versions = {
            path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    def url(self, name: str) -> str:
        """`/static/<name>?v=<hash>`; an unknown name is a bug in a template, so it raises."""
        try:
            version = self._versions[name]
        except KeyError:
            raise LookupError(f"no static file {name!r} under {self.root}") from None
        return f"{STATIC_PREFIX}{name}?v={version}"

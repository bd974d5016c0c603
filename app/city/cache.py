"""The density layer, kept for a while in each app process.

The layer is the same for everyone and reads every hive in the city, a few hundred
milliseconds of database time; a public page that suddenly gets attention must not turn each
visit into that. So each app keeps the last layer for DENSITY_CACHE_SECONDS (the map may be
that far behind), and when it is stale, one request makes the next while the others wait for it.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Kept:
    body: str
    made_at: float  # time.monotonic()


class LayerCache:
    def __init__(self) -> None:
        self._kept: Kept | None = None
        self._lock = asyncio.Lock()

    def _fresh(self, seconds: float) -> Kept | None:
        kept = self._kept
        if kept is not None and time.monotonic() - kept.made_at < seconds:
            return kept
        return None

    async def get(self, seconds: float, make: Callable[[], Awaitable[str]]) -> tuple[str, float]:
        """The layer and how many seconds it stays fresh; made by `make` when it is stale (and
        every time when `seconds` is 0)."""
        if seconds <= 0:
            return await make(), 0.0
        kept = self._fresh(seconds)
        if kept is None:
            async with self._lock:  # one request makes it; the others wait and take it
                kept = self._fresh(seconds)
                if kept is None:
                    kept = self._kept = Kept(await make(), time.monotonic())
        return kept.body, max(0.0, seconds - (time.monotonic() - kept.made_at))


# One cache per app (tests run many apps in one process), gone with its app.
_caches: weakref.WeakKeyDictionary[web.Application, LayerCache] = weakref.WeakKeyDictionary()


def density_cache(app: web.Application) -> LayerCache:
    if app not in _caches:
        _caches[app] = LayerCache()
    return _caches[app]

"""The density layer and the city statistics, kept for a while in each app process.

Both are the same for everyone and read every hive in the city, a few hundred milliseconds of
database time; a public page that suddenly gets attention must not turn each visit into that. So
each app keeps the last of each for DENSITY_CACHE_SECONDS (they may be that far behind), and when
one is stale, one request makes the next while the others wait for it. Asking again within that
time gives the same answer: repeating a question learns nothing and costs nothing.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from app.city.queries import CityStatistics


@dataclass(frozen=True)
class Kept[T]:
    body: T
    made_at: float  # time.monotonic()


class LayerCache[T]:
    def __init__(self) -> None:
        self._kept: Kept[T] | None = None
        self._lock = asyncio.Lock()

    def _fresh(self, seconds: float) -> Kept[T] | None:
        kept = self._kept
        if kept is not None and time.monotonic() - kept.made_at < seconds:
            return kept
        return None

    async def get(self, seconds: float, make: Callable[[], Awaitable[T]]) -> tuple[T, float]:
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


# One cache of each per app (tests run many apps in one process), gone with its app.
_caches: weakref.WeakKeyDictionary[web.Application, LayerCache[str]] = weakref.WeakKeyDictionary()
_statistics: weakref.WeakKeyDictionary[web.Application, LayerCache[CityStatistics]] = (
    weakref.WeakKeyDictionary()
)


def density_cache(app: web.Application) -> LayerCache[str]:
    if app not in _caches:
        _caches[app] = LayerCache()
    return _caches[app]


def statistics_cache(app: web.Application) -> LayerCache[CityStatistics]:
    if app not in _statistics:
        _statistics[app] = LayerCache()
    return _statistics[app]

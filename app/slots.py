"""A cap on how many of one kind of long response run at once: in all, and per account.

A download that a slow (or hostile) client reads for minutes costs the server a coroutine, a
batch of rows in memory and a little database time per batch. Unbounded, one account opening
fifty of them takes the process's share of all three from everyone else. `Slots` counts what is
running in this process; a request that finds no free slot is refused (429) at once instead of
queueing, so a refused client costs nothing. The counts are per process: each replica protects
its own pool and memory, which is what the cap is for.

Taking and releasing happen without an `await` in between checking and counting, so under
asyncio they cannot race.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from types import TracebackType


class SlotsFull(Exception):
    """No slot free: `mine` when the account already holds its share, else the process is full."""

    def __init__(self, *, mine: bool) -> None:
        super().__init__("account" if mine else "process")
        self.mine = mine


class Slots:
    """At most `total` holders at once in this process, and at most `per_key` for one key."""

    def __init__(self, *, total: int, per_key: int) -> None:
        self.total = total
        self.per_key = per_key
        self._held: Counter[int] = Counter()
        self._idle = asyncio.Event()
        self._idle.set()

    def take(self, key: int) -> Slot:
        """A slot for `key`, to be used as a context manager (it is given back on exit)."""
        if self._held[key] >= self.per_key:
            raise SlotsFull(mine=True)
        if self.in_use() >= self.total:
            raise SlotsFull(mine=False)
        self._held[key] += 1
        self._idle.clear()
        return Slot(self, key)

    def in_use(self, key: int | None = None) -> int:
        """Slots held by `key`, or by everyone."""
        return self._held[key] if key is not None else self._held.total()

    async def idle(self) -> None:
        """Return once no slot is held (graceful shutdown; tests waiting for a drop)."""
        await self._idle.wait()

    def _give_back(self, key: int) -> None:
        self._held[key] -= 1
        if self._held[key] <= 0:
            del self._held[key]
        if not self._held:
            self._idle.set()


class Slot:
    """One held slot; leaving the `with` block gives it back, once, however the block ends."""

    def __init__(self, slots: Slots, key: int) -> None:
        self._slots = slots
        self._key = key
        self._held = True

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._held:
            self._held = False
            self._slots._give_back(self._key)

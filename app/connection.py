"""A request's database connection: checked out of the pool at its first session, then lent to
its sessions one at a time until the request ends (app/web/database.py says why)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class RequestConnection:
    """The request's connection: checked out at the first session, lent to one at a time."""

    __slots__ = ("closed", "connection", "engine", "lent")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: AsyncConnection | None = None
        self.lent = False
        self.closed = False

    def free(self) -> bool:
        return not (self.lent or self.closed)

    async def lend(self) -> AsyncConnection:
        self.lent = True  # before the checkout's await: a session opened meanwhile gets its own
        if self.connection is None:
            try:
                self.connection = await self.engine.connect()
            except BaseException:
                self.lent = False
                raise
        return self.connection

    async def give_back(self, *, isolation_changed: bool = False) -> None:
        connection = self.connection
        ended = connection is not None and (connection.invalidated or self.closed)
        try:
            if connection is not None and not ended and isolation_changed:
                level = connection.default_isolation_level
                await connection.execution_options(isolation_level=level)
        finally:
            self.lent = False
        if ended:  # the database went away, or the request ended while it was lent
            await self.close()

    async def close(self) -> None:
        """Back to the pool (at once, or when the session it is lent to ends); later sessions
        of the request check out their own."""
        self.closed = True
        if self.connection is not None and not self.lent:
            connection, self.connection = self.connection, None
            await connection.close()

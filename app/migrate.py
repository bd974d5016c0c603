"""Apply Alembic migrations from code (python -m app migrate, the tests, the benchmarks)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from app.db import create_database_if_missing, drop_database
from app.settings import ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database on `server_url`'s server, built by the migrations, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(create_database_if_missing(url))
    try:
        upgrade(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        yield url
    finally:
        asyncio.run(drop_database(url))

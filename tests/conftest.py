"""Test databases: each run builds throwaway PostGIS databases with the migrations, then drops them.

The server is TEST_DATABASE_URL's when set (any database on it; the tests create their own),
else the local cluster under .data/, started (and created the first time) as `make run` does.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

from app import migrate
from app.db import create_database_if_missing, drop_database, local_cluster
from app.settings import Settings


@pytest.fixture(scope="session")
def database_server_url() -> str:
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url
    settings = Settings()
    cluster = local_cluster(settings.data_dir, settings.local_pg_port)
    cluster.ensure_running()
    return cluster.url("postgres")


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database built by the migrations, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(create_database_if_missing(url))
    try:
        migrate.upgrade(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        yield url
    finally:
        asyncio.run(drop_database(url))


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""In-process tests: the whole app through aiohttp's test client, on a real PostGIS database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db import make_engine
from app.main import create_app
from app.models import Base, User
from app.sensors import webhooks
from app.settings import Settings
from tests.conftest import throwaway_database

PASSWORD = "correct horse battery"
# Argon2 at the app's cost takes tens of milliseconds of CPU per hash and per log-in, in nearly
# every test. The hash records its own cost and the app verifies by what it records, so users
# made by the tests carry this one cheap hash; sign-up and password changes still go through
# the app's hasher, and tests/unit/test_accounts.py checks its cost.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
CSRF_FIELD = re.compile(r'name="_csrf" value="([^"]+)"')


@pytest.fixture(scope="session")
def database_url(database_server_url: str) -> Iterator[str]:
    with throwaway_database(database_server_url, "cityhive_test") as url:
        yield url


def emptying_sql() -> str:
    """Delete every row, children before parents, and start every sequence again.

    It leaves what TRUNCATE ... RESTART IDENTITY CASCADE leaves, but TRUNCATE replaces the files
    of every table, index and reading partition and took 160 ms a test, while deleting the few
    rows a test writes takes 4 ms.
    """
    deletes = [
        f'DELETE FROM "{table.name}";'  # noqa: S608 - the names of our own tables
        for table in reversed(Base.metadata.sorted_tables)
        if table.name != "spatial_ref_sys"
    ]
    restart = (
        "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false)"
        " FROM pg_sequences WHERE schemaname = 'public';"
    )
    return "\n".join([*deletes, restart])


# A connection kept from test to test keeps the plans PostgreSQL made on it, among them those of
# the foreign-key checks, made when a table was nearly empty: a scan of the whole table, which
# on a later test's 100,000 rows ran for minutes. DISCARD PLANS at the start of each test makes
# them anew, as on a new connection; the caches of the tables, the saving, stay.
FORGET_PLANS = "DISCARD PLANS"


@pytest.fixture(scope="session")
async def worker_connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection for the whole run of this worker, to empty the tables between tests: a
    new connection each time spent most of its 25 ms filling its caches of the tables."""
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
async def clean_database(worker_connection: asyncpg.Connection) -> None:
    """Each test starts from empty tables (the schema stays as the migrations built it)."""
    await worker_connection.execute(f"{FORGET_PLANS};\n{emptying_sql()}")  # one transaction


@pytest.fixture
def settings(database_url: str, clean_database: None, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SecretStr("test-secret-" + "k" * 32),
        data_dir=tmp_path,
        demo_data=False,
        log_level="WARNING",
    )


@pytest.fixture
async def client(aiohttp_client, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))


@asynccontextmanager
async def engine_session(url: str) -> AsyncIterator[AsyncSession]:
    """A session on its own engine, disposed of afterwards."""
    engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            yield session
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def worker_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The engine of the tests' own sessions, kept for the whole run of this worker: its pooled
    connection stays warm from one test to the next."""
    engine = make_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(settings: Settings, worker_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session of the tests' own, to set up data and to check what was stored."""
    async with async_sessionmaker(worker_engine, expire_on_commit=False)() as session:
        await session.execute(text(FORGET_PLANS))
        await session.commit()
        yield session


async def make_user(
    db: AsyncSession, *, name: str = "Ada Beekeeper", email: str = "ada@example.org"
) -> User:
    user = User(name=name, email=email, password_hash=PASSWORD_HASH)
    db.add(user)
    await db.commit()
    return user


@pytest.fixture
async def user(db: AsyncSession) -> User:
    return await make_user(db)


async def csrf_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page's form carries: the session's, or a visitor's stateless one."""
    response = await client.get(path)
    match = CSRF_FIELD.search(await response.text())
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def log_in(client: TestClient, email: str = "ada@example.org") -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()


@pytest.fixture
async def logged_in(client: TestClient, user: User) -> TestClient:
    await log_in(client, user.email)
    return client


async def apiary_of(db: AsyncSession, user_id: int, name: str | None = None) -> int:
    """The apiary a new hive of `user_id` goes into (its name, or their first), as the hive form
    chooses it: for tests that add a Hive row directly."""
    found = await db.scalar(
        text("SELECT apiary_for(:user, :name, ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326), 'Home')"),
        {"user": user_id, "name": name},
    )
    return int(found)


async def share(db: AsyncSession, hive_id: int, user_id: int, role: str) -> None:
    """Make `user_id` a member of the apiary of hive `hive_id` with `role` (owner, keeper,
    viewer), as an accepted invitation does."""
    await db.execute(
        text(
            "INSERT INTO apiary_members (apiary_id, user_id, role)"
            " SELECT apiary_id, :user, CAST(:role AS apiary_role) FROM hives WHERE id = :hive"
            " ON CONFLICT (apiary_id, user_id) DO UPDATE SET role = excluded.role"
        ),
        {"hive": hive_id, "user": user_id, "role": role},
    )
    await db.commit()


@pytest.fixture
def webhook_retries_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook retries without the app's waits between them (0.5 s, then 1 s, 2 s ...): the
    attempts are what these tests are about, not the clock."""
    monkeypatch.setattr(webhooks, "RETRY_BASE_SECONDS", 0)

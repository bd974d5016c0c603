"""The backup and restore in docs/deployment.md, run for real: pg_dump, pg_restore, same data."""

from __future__ import annotations

import asyncio
import subprocess

import asyncpg

from app.db import postgres_bin_dir
from app.seed import add_city_hives, load_demo_data
from tests.conftest import throwaway_database
from tests.unit.conftest import engine_session


async def snapshot(url: str) -> dict[str, object]:
    conn = await asyncpg.connect(url)
    try:
        return {
            "users": await conn.fetch(
                "SELECT id, name, email, password_hash FROM users ORDER BY id"
            ),
            "hives": await conn.fetch(
                "SELECT hive.id, hive.owner_id, hive.name, apiary.name AS site, hive.status::text,"
                " ST_AsText(hive.location) AS point, ST_SRID(hive.location) AS srid"
                " FROM hives AS hive JOIN apiaries AS apiary ON apiary.id = hive.apiary_id"
                " ORDER BY hive.id"
            ),
            "members": await conn.fetch(
                "SELECT apiary_id, user_id, role::text FROM apiary_members"
                " ORDER BY apiary_id, user_id"
            ),
            "revision": await conn.fetchval("SELECT version_num FROM alembic_version"),
            "index": await conn.fetchval(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_hives_location'"
            ),
        }
    finally:
        await conn.close()


async def seed(url: str) -> None:
    async with engine_session(url) as db:
        await load_demo_data(db)
        await add_city_hives(db, 300)


def test_a_custom_format_dump_restores_every_row_and_location(database_server_url, tmp_path):
    tools = postgres_bin_dir()
    dump = tmp_path / "cityhive.dump"
    with (
        throwaway_database(database_server_url, "cityhive_backup") as source,
        throwaway_database(database_server_url, "cityhive_restore") as target,
    ):
        asyncio.run(seed(source))
        subprocess.run(
            [tools / "pg_dump", "--format=custom", f"--file={dump}", source],
            check=True,
            capture_output=True,
        )
        # The target was migrated like any new database; a restore goes into an empty one.
        asyncio.run(empty(target))
        subprocess.run(
            [tools / "pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target}", dump],
            check=True,
            capture_output=True,
        )
        before, after = asyncio.run(snapshot(source)), asyncio.run(snapshot(target))
    assert len(before["hives"]) == 305  # the demo's five and the city's 300
    assert after == before
    assert {row["srid"] for row in after["hives"]} == {4326}


async def empty(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()

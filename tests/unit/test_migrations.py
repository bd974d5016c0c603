"""The schema is the migrations' work: they go up and down, and they match the models."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrate
from app.models import Base
from tests.conftest import throwaway_database


def asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def table_names(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def schema_differences(url: str) -> list:
    engine = create_async_engine(asyncpg_url(url))

    def compare(connection) -> list:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                # The readings' monthly partitions (readings_p...) are made by the migration and
                # by create_reading_partitions(), not by the models, which know only the
                # partitioned table itself.
                "include_object": lambda obj, name, type_, *_: (
                    name != "spatial_ref_sys"
                    and not (type_ == "table" and str(name).startswith("readings_p"))
                ),
            },
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(compare)
    await engine.dispose()
    return differences


def test_migrations_build_exactly_the_models_schema(database_url):
    assert asyncio.run(schema_differences(database_url)) == []


def test_migrations_go_down_to_nothing_and_back_up(database_server_url):
    with throwaway_database(database_server_url, "cityhive_migrations") as url:
        assert {"users", "hives", "user_sessions"} <= asyncio.run(table_names(url))
        migrate.downgrade(asyncpg_url(url), "base")
        assert asyncio.run(table_names(url)) == {"alembic_version"}
        migrate.upgrade(asyncpg_url(url))
        assert {"users", "hives", "user_sessions"} <= asyncio.run(table_names(url))
        assert asyncio.run(schema_differences(url)) == []


def test_hive_locations_have_a_gist_index(database_url):
    async def index_definition() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_hives_location'"
            )
        finally:
            await conn.close()

    assert "USING gist (location)" in asyncio.run(index_definition())


async def hives_before_colonies(url: str) -> None:
    """Two hives as they stood before colonies existed: one living, one dead."""
    conn = await asyncpg.connect(url)
    try:
        user = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash) VALUES ('Ada', 'ada@example.org', 'x')"
            " RETURNING id"
        )
        await conn.execute(
            "INSERT INTO hives (owner_id, name, location, frame_type, status, installed_on)"
            " VALUES ($1, 'Rooftop', ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326), 'dadant',"
            " 'active', '2024-04-02'),"
            " ($1, 'Old box', ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326), 'dadant',"
            " 'dead_out', '2023-05-01')",
            user,
        )
    finally:
        await conn.close()


async def colonies_of_hives(url: str) -> list[tuple]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT h.name, c.name, c.status::text, c.started_on::text, c.ended_on IS NULL,"
            " e.kind::text FROM colonies c JOIN hives h ON h.id = c.hive_id"
            " JOIN colony_events e ON e.colony_id = c.id ORDER BY h.name"
        )
        return [tuple(row) for row in rows]
    finally:
        await conn.close()


def test_every_hive_gets_its_colony_when_colonies_arrive(database_server_url):
    with throwaway_database(database_server_url, "cityhive_colonies") as url:
        migrate.downgrade(asyncpg_url(url), "0016-1")
        asyncio.run(hives_before_colonies(url))
        migrate.upgrade(asyncpg_url(url))
        assert asyncio.run(colonies_of_hives(url)) == [
            ("Old box", "Old box", "dead", "2023-05-01", False, "started"),
            ("Rooftop", "Rooftop", "alive", "2024-04-02", True, "started"),
        ]

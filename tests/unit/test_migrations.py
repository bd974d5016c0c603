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

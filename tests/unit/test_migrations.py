"""The schema is the migrations' work: they go up and down, and they match the models."""

from __future__ import annotations

import asyncio
from decimal import Decimal

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


async def hives_before_apiaries(url: str) -> None:
    """Two beekeepers' hives as they stood before apiaries: sites typed freely, some none, one
    name typed by both, and an inspection."""
    conn = await asyncpg.connect(url)
    try:
        ada, ben = [
            await conn.fetchval(
                "INSERT INTO users (name, email, password_hash) VALUES ($1, $2, 'x') RETURNING id",
                name,
                f"{name.lower()}@example.org",
            )
            for name in ("Ada", "Ben")
        ]
        for owner, name, site, lon in [
            (ada, "Roof 1", "Rooftop", 13.40),
            (ada, "Roof 2", "Rooftop", 13.42),
            (ada, "Garden", None, 13.50),
            (ben, "Ben's roof", "Rooftop", 13.30),
        ]:
            hive = await conn.fetchval(
                "INSERT INTO hives (owner_id, name, site, location, frame_type) VALUES"
                " ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, 52.5), 4326), 'dadant') RETURNING id",
                owner,
                name,
                site,
                lon,
            )
            await conn.execute(
                "INSERT INTO inspections (hive_id, done_at) VALUES ($1, now())", hive
            )
    finally:
        await conn.close()


async def apiaries_of_hives(url: str) -> list[tuple]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT h.name, a.name, u.name, m.role::text, round(ST_X(a.location)::numeric, 2),"
            " i.recorded_by = h.owner_id"
            " FROM hives h JOIN apiaries a ON a.id = h.apiary_id"
            " JOIN apiary_members m ON m.apiary_id = a.id JOIN users u ON u.id = m.user_id"
            " JOIN inspections i ON i.hive_id = h.id ORDER BY h.name"
        )
        return [tuple(row) for row in rows]
    finally:
        await conn.close()


def test_each_beekeepers_sites_become_their_apiaries_and_nothing_is_lost(database_server_url):
    with throwaway_database(database_server_url, "cityhive_apiaries") as url:
        migrate.downgrade(asyncpg_url(url), "0018-1")
        asyncio.run(hives_before_apiaries(url))
        migrate.upgrade(asyncpg_url(url))
        # one apiary per beekeeper and site, at the middle of its hives, its beekeeper its owner
        assert asyncio.run(apiaries_of_hives(url)) == [
            ("Ben's roof", "Rooftop", "Ben", "owner", Decimal("13.30"), True),
            ("Garden", "My apiary", "Ada", "owner", Decimal("13.50"), True),
            ("Roof 1", "Rooftop", "Ada", "owner", Decimal("13.41"), True),
            ("Roof 2", "Rooftop", "Ada", "owner", Decimal("13.41"), True),
        ]
        # and back: the sites are as they were typed
        migrate.downgrade(asyncpg_url(url), "0018-1")
        sites = asyncio.run(site_names(url))
        assert sites == [
            ("Ben's roof", "Rooftop"),
            ("Garden", None),
            ("Roof 1", "Rooftop"),
            ("Roof 2", "Rooftop"),
        ]


async def site_names(url: str) -> list[tuple]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT name, site FROM hives ORDER BY name")
        return [tuple(row) for row in rows]
    finally:
        await conn.close()

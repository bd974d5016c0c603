"""Alembic environment: runs migrations over asyncpg against the configured database."""

from __future__ import annotations

import asyncio
from typing import cast

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import SchemaItem

from app.models import Base
from app.settings import Settings

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """The URL the caller gave (python -m app migrate), or DATABASE_URL, or the local cluster."""
    # app.migrate puts a str here; Config.attributes holds Any.
    if url := cast("str | None", config.attributes.get("database_url")):
        return url
    from app.db import with_database

    return with_database(Settings()).async_database_url


def include_object(
    obj: SchemaItem,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    # PostGIS owns these tables; they are not ours to create or drop.
    return not (type_ == "table" and name == "spatial_ref_sys")


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async_migrations(database_url()))

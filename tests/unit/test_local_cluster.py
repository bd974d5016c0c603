"""The embedded default: our own PostGIS cluster, created on first use, kept across restarts."""

from __future__ import annotations

import asyncio
import shutil

import asyncpg
import pytest

from app.db import ClusterError, create_database_if_missing, local_cluster, postgres_bin_dir
from tests.conftest import free_port


async def postgis_and_marker(url: str, write: bool) -> tuple[str, list[str]]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        if write:
            await conn.execute("CREATE TABLE kept (name text)")
            await conn.execute("INSERT INTO kept VALUES ('Queen Mab')")
        version = await conn.fetchval("SELECT postgis_lib_version()")
        names = [row["name"] for row in await conn.fetch("SELECT name FROM kept")]
        return version, names
    finally:
        await conn.close()


def test_a_new_cluster_is_created_started_and_keeps_its_data_across_restarts(tmp_path):
    cluster = local_cluster(tmp_path / ".data", free_port())
    try:
        assert cluster.ensure_running() is True
        assert cluster.ensure_running() is False  # already up: nothing to do
        url = cluster.url("hives")
        assert asyncio.run(create_database_if_missing(url)) is True
        assert asyncio.run(create_database_if_missing(url)) is False
        version, _ = asyncio.run(postgis_and_marker(url, write=True))
        assert version.startswith("3.")
        cluster.stop()
        assert not cluster.is_running()
        assert cluster.ensure_running() is True
        assert asyncio.run(postgis_and_marker(url, write=False))[1] == ["Queen Mab"]
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


def test_the_cluster_listens_on_loopback_with_a_password(tmp_path):
    cluster = local_cluster(tmp_path / ".data", free_port())
    try:
        cluster.ensure_running()
        wrong = cluster.url("postgres").replace(cluster.password_file.read_text().strip(), "x")
        with pytest.raises(asyncpg.InvalidPasswordError):
            asyncio.run(asyncpg.connect(wrong))
        conf = (cluster.root / "pgdata" / "pg_hba.conf").read_text()
        rules = [line.split() for line in conf.splitlines() if line.strip() and line[0] != "#"]
        assert rules
        assert {rule[-1] for rule in rules} == {"scram-sha-256"}
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


def test_without_postgis_installed_the_error_says_what_to_install(monkeypatch, tmp_path):
    (tmp_path / "15" / "bin").mkdir(parents=True)  # PostgreSQL without PostGIS
    monkeypatch.setenv("PG_BIN", str(tmp_path / "15" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ClusterError, match="apt-get install postgresql postgresql-postgis"):
        postgres_bin_dir(installs=tmp_path)

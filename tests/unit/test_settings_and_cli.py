"""Settings from the environment, and the command line an operator uses."""

from __future__ import annotations

import asyncio
import os
import pwd
from pathlib import Path

import pytest
import structlog
from pydantic import ValidationError
from sqlalchemy import func, select, text

from app.__main__ import main
from app.accounts.passwords import verify_password
from app.db import local_cluster
from app.models import Hive, User
from app.seed import DEMO_EMAIL, DEMO_HIVES, DEMO_PASSWORD
from app.settings import Settings, describe_errors
from tests.unit.conftest import engine_session


@pytest.fixture(autouse=True)
def _plain_logging():
    yield
    structlog.reset_defaults()


def test_settings_have_safe_local_defaults(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "SECRET_KEY", "HOST", "PORT", "COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path)
    assert (settings.host, settings.port) == ("localhost", 8080)
    assert settings.database_url is None
    assert settings.cookie_secure is False


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("COOKIE_SECURE", "true")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/hives")
    settings = Settings()
    assert settings.port == 9000
    assert settings.cookie_secure is True
    assert settings.async_database_url == "postgresql+asyncpg://u:p@db:5432/hives"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "99999", "invalid setting PORT: Input should be less than or equal to 65535"),
        ("PORT", "eighty", "invalid setting PORT: Input should be a valid integer"),
        ("DATABASE_URL", "mysql://x/y", "invalid setting DATABASE_URL: Value error, must be a"),
        ("SECRET_KEY", "short", "invalid setting SECRET_KEY: Value error, must be at least 32"),
        ("LOG_LEVEL", "LOUD", "invalid setting LOG_LEVEL: Input should be"),
    ],
)
def test_an_invalid_setting_is_named_clearly(monkeypatch, capsys, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert describe_errors(error.value).startswith(message)
    assert main(["serve"]) == 2
    assert message in capsys.readouterr().err


def test_a_local_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = Settings(data_dir=tmp_path).with_secret()
    second = Settings(data_dir=tmp_path).with_secret()
    assert first.secret_key is not None
    assert len(first.secret_key.get_secret_value()) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_without_a_database_url_the_app_cannot_pretend_to_have_one(tmp_path):
    with pytest.raises(RuntimeError, match="DATABASE_URL is not set"):
        _ = Settings(data_dir=tmp_path, database_url=None).async_database_url


def test_migrate_and_seed_commands_load_the_demo_once(monkeypatch, database_url, clean_database):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["migrate"]) == 0
    assert main(["seed"]) == 0
    assert main(["seed"]) == 0  # a second time adds nothing

    async def stored() -> tuple[int, int, bool, str]:
        async with engine_session(Settings().async_database_url) as db:
            users = await db.scalar(select(func.count()).select_from(User))
            hives = await db.scalar(select(func.count()).select_from(Hive))
            demo = await db.scalar(select(User).where(User.email == DEMO_EMAIL))
            assert demo is not None
            password_ok = await verify_password(demo.password_hash, DEMO_PASSWORD)
            srid = await db.scalar(text("SELECT DISTINCT ST_SRID(location) FROM hives"))
        return users, hives, password_ok, srid

    users, hives, password_ok, srid = asyncio.run(stored())
    assert (users, hives) == (1, len(DEMO_HIVES))
    assert password_ok
    assert srid == 4326

    assert main(["seed", "--hives", "20"]) == 0  # a city around the demo beekeeper
    users, hives, _, _ = asyncio.run(stored())
    assert (users, hives) == (1 + 3, len(DEMO_HIVES) + 20)  # 8 hives per beekeeper
    assert main(["seed", "--hives", "-1"]) == 2


def test_city_hives_stand_in_berlins_green_places(monkeypatch, database_url, clean_database):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["seed", "--hives", "400"]) == 0

    async def spread() -> tuple[float, float, float, float, int]:
        async with engine_session(Settings().async_database_url) as db:
            row = (
                await db.execute(
                    text(
                        "SELECT min(ST_X(hives.location)), max(ST_X(hives.location)), "
                        "min(ST_Y(hives.location)), "
                        "max(ST_Y(hives.location)), count(DISTINCT apiaries.name) FROM hives"
                        " JOIN apiaries ON apiaries.id = hives.apiary_id"
                    )
                )
            ).one()
        return tuple(row)  # type: ignore[return-value]

    west, east, south, north, sites = asyncio.run(spread())
    assert 13.2 < west < east < 13.6  # all within Berlin
    assert 52.4 < south < north < 52.6
    assert sites > 20  # spread over many parks, gardens and roofs


def test_db_url_command_prints_the_configured_database(monkeypatch, capsys, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["db", "url"]) == 0
    assert capsys.readouterr().out.strip() == database_url


@pytest.mark.skipif("TEST_DATABASE_URL" in os.environ, reason="tests use another server")
def test_the_local_cluster_reports_its_state(database_server_url, monkeypatch, capsys):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["db", "status"]) == 0
    assert capsys.readouterr().out.strip() == "running"


def test_the_cluster_lives_under_data_dir_unless_postgres_cannot_reach_it(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    cluster = local_cluster(private / ".data", 54999)
    assert cluster.password_file == private / ".data" / "postgres-password"
    if os.geteuid() == 0:  # the cluster runs as postgres, shut out of this folder
        assert cluster.root.parent == Path(pwd.getpwnam("postgres").pw_dir)
        assert cluster.root.name.startswith("cityhive-")
        assert local_cluster(private / ".data", 54999).root == cluster.root
    else:
        assert cluster.root == private / ".data" / "postgres"

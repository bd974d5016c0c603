"""The database: the engine as an aiohttp cleanup_ctx, and the embedded local PostGIS cluster."""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog
from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from app.keys import db_key, engine_key, settings_key
from app.settings import Settings

log = structlog.get_logger(__name__)


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, pool_timeout: float = 30
) -> AsyncEngine:
    """An engine whose pool checks each connection before use (so it survives a restart)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
    )


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the connection pool for the app's lifetime and close it on shutdown.

    Its size and wait come from the settings. No request keeps a connection while it waits on
    its client (exports read a batch, give the connection back, then write it), so the pool is
    sized for queries, not for downloads.
    """
    settings = app[settings_key]
    pool_size, max_overflow = settings.pool_sizes
    engine = make_engine(
        settings.async_database_url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
    )
    app[engine_key] = engine
    app[db_key] = async_sessionmaker(engine, expire_on_commit=False)
    yield
    await engine.dispose()


class ClusterError(RuntimeError):
    """The local cluster cannot be set up; the message says what to do."""


def postgres_bin_dir(installs: Path = Path("/usr/lib/postgresql")) -> Path:
    """The bin/ of the newest installed PostgreSQL whose PostGIS extension is installed too.

    PG_BIN names one; else Debian's /usr/lib/postgresql/<major>/bin; else pg_ctl on the PATH.
    """
    candidates = []
    if configured := os.environ.get("PG_BIN"):
        candidates.append(Path(configured))
    for lib in sorted(installs.glob("*"), key=_version_key, reverse=True):
        candidates.append(lib / "bin")
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(Path(pg_ctl).parent)
    for bin_dir in candidates:
        if (bin_dir / "initdb").exists() and _has_postgis(bin_dir):
            return bin_dir
    raise ClusterError(
        "PostgreSQL with PostGIS was not found. On Debian or Ubuntu: "
        "sudo apt-get install postgresql postgresql-postgis "
        "(or set DATABASE_URL to a PostGIS database you run yourself)"
    )


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)


def _has_postgis(bin_dir: Path) -> bool:
    """Debian keeps extensions in /usr/share/postgresql/<major>/; source builds beside bin/."""
    shares = [Path("/usr/share/postgresql") / bin_dir.parent.name, bin_dir.parent / "share"]
    return any((share / "extension" / "postgis.control").exists() for share in shares)


@dataclass
class LocalCluster:
    """A PostgreSQL + PostGIS cluster of CityHive's own, its data under `root`, on loopback only.

    As root, PostgreSQL refuses to run, so the cluster is owned and run by the `postgres` user.
    """

    root: Path
    port: int
    password_file: Path
    user: str = "cityhive"

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    def url(self, database: str = "cityhive") -> str:
        password = self.password_file.read_text().strip()
        return f"postgresql://{self.user}:{password}@127.0.0.1:{self.port}/{database}"

    def ensure_running(self) -> bool:
        """Create the cluster if new, start it if stopped. True if this call started it."""
        bin_dir = postgres_bin_dir()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bin_dir)
        if self.is_running(bin_dir):
            return False
        log.info("local_postgres_starting", pgdata=str(self.pgdata), port=self.port)
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        self._run(
            bin_dir / "pg_ctl",
            "start",
            "--wait",
            "--timeout=60",
            "-D",
            self.pgdata,
            "-l",
            self.root / "server.log",
            "-o",
            options,
        )
        return True

    def is_running(self, bin_dir: Path | None = None) -> bool:
        bin_dir = bin_dir or postgres_bin_dir()
        status = self._run(bin_dir / "pg_ctl", "status", "-D", self.pgdata, check=False)
        return status.returncode == 0

    def stop(self) -> None:
        bin_dir = postgres_bin_dir()
        if self.is_running(bin_dir):
            self._run(bin_dir / "pg_ctl", "stop", "--wait", "-m", "fast", "-D", self.pgdata)

    def _initdb(self, bin_dir: Path) -> None:
        log.info("local_postgres_initdb", pgdata=str(self.pgdata))
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            self.password_file.touch(mode=0o600)
            self.password_file.write_text(secrets.token_urlsafe(24))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        pwfile = self.root / "initdb-password"
        pwfile.touch(mode=0o600)
        pwfile.write_text(self.password_file.read_text().strip() + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            self._run(
                bin_dir / "initdb",
                "-D",
                self.pgdata,
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink()

    def _run(self, *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(arg) for arg in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(  # noqa: S603 - fixed programs, arguments are ours
            command, capture_output=True, text=True, check=False, cwd="/"
        )
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
        return result


def local_cluster(data_dir: Path, port: int) -> LocalCluster:
    """The cluster for DATA_DIR: its data in DATA_DIR/postgres, its password beside it.

    As root the cluster runs as `postgres`, who must be able to reach DATA_DIR. When a parent
    folder shuts it out (a private checkout), the data goes under the postgres user's home
    instead, in a folder named after DATA_DIR, so each checkout still has its own cluster.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    root = data_dir / "postgres"
    if os.geteuid() == 0 and not _postgres_can_reach(data_dir):
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        root = Path(pwd.getpwnam("postgres").pw_dir) / f"cityhive-{digest}"
        log.warning("local_postgres_outside_data_dir", data_dir=str(data_dir), pgdata=str(root))
    return LocalCluster(root=root, port=port, password_file=data_dir / "postgres-password")


def local_server_url(settings: Settings) -> str:
    """The local cluster, running, as a URL to its `postgres` database (to create others on)."""
    cluster = local_cluster(settings.data_dir, settings.local_pg_port)
    cluster.ensure_running()
    return cluster.url("postgres")


def _postgres_can_reach(folder: Path) -> bool:
    probe = subprocess.run(  # noqa: S603 - fixed programs, the path is ours
        ["runuser", "-u", "postgres", "--", "test", "-x", str(folder)],  # noqa: S607
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


async def create_database_if_missing(url: str) -> bool:
    """Create the database that `url` names (connecting to the server's `postgres` database).

    True if this call created it.
    """
    name = _database_name(url)
    conn = await asyncpg.connect(_server_dsn(url))
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    conn = await asyncpg.connect(_server_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)')
    finally:
        await conn.close()


def _database_name(url: str) -> str:
    name = make_url(url).database or ""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"unexpected database name {name!r}")
    return name


def _server_dsn(url: str) -> str:
    server = make_url(url).set(drivername="postgresql", database="postgres")
    return server.render_as_string(hide_password=False)


def with_database(settings: Settings) -> Settings:
    """Settings whose DATABASE_URL is usable: the configured one, or the local cluster's.

    Without DATABASE_URL this starts (creating it the first time) the local PostGIS cluster
    under DATA_DIR and its `cityhive` database. With it, nothing is started.
    """
    if settings.database_url is not None:
        return settings
    cluster = local_cluster(settings.data_dir, settings.local_pg_port)
    cluster.ensure_running()
    url = cluster.url("cityhive")
    asyncio.run(create_database_if_missing(url))
    return settings.model_copy(update={"database_url": url})

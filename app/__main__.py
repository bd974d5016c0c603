"""CityHive's command line.

python -m app run        set up the database, migrate, load demo data once, serve (make run)
python -m app serve      serve only
python -m app migrate    apply migrations
python -m app seed       load the demo data into an empty database
python -m app db start|stop|status|url    the local PostGIS cluster under DATA_DIR
python -m app i18n update|add LANG|check  the translation catalogues (docs/i18n.md)
python -m app sensors rebuild-rollups [--since YYYY-MM-DD] [--sensor ID ...]
                         the readings' hourly and daily rollups again from the raw readings
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, time

import structlog
from babel.core import UnknownLocaleError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogues, migrate, server
from app.db import ClusterError, local_cluster, make_engine, with_database
from app.observability import configure_logging
from app.seed import add_city_hives, load_demo_data
from app.sensors.rollups import rebuild_rollups
from app.settings import Settings, describe_errors

log = structlog.get_logger("cityhive")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="CityHive")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="provision, migrate, seed once and serve")
    commands.add_parser("serve", help="serve the app")
    commands.add_parser("migrate", help="apply database migrations")
    seed_parser = commands.add_parser(
        "seed", help="the demo beekeeper into an empty database; --hives N adds N Berlin hives"
    )
    seed_parser.add_argument("--hives", type=int, default=0, metavar="N")
    db = commands.add_parser("db", help="the local PostGIS cluster")
    db.add_argument("action", choices=["start", "stop", "status", "url"])
    i18n = commands.add_parser("i18n", help="extract texts; update, add or check a catalogue")
    i18n.add_argument("action", choices=["update", "add", "check"])
    i18n.add_argument("language", nargs="?", help="for add: the new language's code, e.g. it")
    sensors_parser = commands.add_parser("sensors", help="the sensors' readings")
    sensors_parser.add_argument("action", choices=["rebuild-rollups"])
    sensors_parser.add_argument(
        "--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="from this UTC day on"
    )
    sensors_parser.add_argument(
        "--sensor", type=int, action="append", metavar="ID", help="only these"
    )
    args = parser.parse_args(argv)
    if args.command == "i18n":  # needs no settings: it reads and writes files only
        return translations(args)

    try:
        settings = Settings()
    except ValidationError as error:
        print(describe_errors(error), file=sys.stderr)
        return 2
    serving = args.command in ("run", "serve")
    configure_logging(settings.log_level, sys.stdout if serving else sys.stderr)
    try:
        return COMMANDS[args.command](settings, args)
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Everything `make run` promises: a database, its migrations, demo data once, the server.

    A local cluster started here keeps running afterwards (`python -m app db stop` stops it):
    tests or another server may be using it.
    """
    settings = with_database(settings)
    migrate.upgrade(settings.async_database_url)
    if settings.demo_data:
        asyncio.run(seed_once(settings))
    return serve(settings, args)


def serve(settings: Settings, args: argparse.Namespace) -> int:
    server.serve(with_database(settings).with_secret())
    return 0


def migrate_command(settings: Settings, args: argparse.Namespace) -> int:
    migrate.upgrade(with_database(settings).async_database_url)
    return 0


def seed(settings: Settings, args: argparse.Namespace) -> int:
    if args.hives < 0:
        print("error: --hives must be 0 or more", file=sys.stderr)
        return 2
    asyncio.run(seed_once(with_database(settings), city_hives=args.hives))
    return 0


async def seed_once(settings: Settings, city_hives: int = 0) -> None:
    engine = make_engine(settings.async_database_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            await load_demo_data(db)
            if city_hives:
                await add_city_hives(db, city_hives)
    finally:
        await engine.dispose()


def sensors(settings: Settings, args: argparse.Namespace) -> int:
    """rebuild-rollups: the hourly and daily rollups computed again from the raw readings
    (docs/operations.md), one sensor at a time while the app runs."""
    since = datetime.combine(args.since, time(), UTC) if args.since else None
    rebuilt = asyncio.run(rebuild(with_database(settings), since, args.sensor))
    print(f"rollups rebuilt for {rebuilt} sensors" + (f" from {args.since}" if since else ""))
    return 0


async def rebuild(settings: Settings, since: datetime | None, sensor_ids: list[int] | None) -> int:
    engine = make_engine(settings.async_database_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            return await rebuild_rollups(db, since, sensor_ids)
    finally:
        await engine.dispose()


def database(settings: Settings, args: argparse.Namespace) -> int:
    cluster = local_cluster(settings.data_dir, settings.local_pg_port)
    if args.action == "start":
        with_database(settings)
    elif args.action == "stop":
        cluster.stop()
    elif args.action == "status":
        running = cluster.is_running()
        print("running" if running else "stopped")
        return 0 if running else 3
    else:
        print(with_database(settings).database_url)
    return 0


def translations(args: argparse.Namespace) -> int:
    if args.action == "add":
        if not args.language:
            print(
                "error: name the language to add, e.g. `python -m app i18n add it`", file=sys.stderr
            )
            return 2
        try:
            path = catalogues.add(args.language)
        except UnknownLocaleError:
            print(
                f"error: {args.language!r} is no language Babel knows (it, pl, pt_BR)",
                file=sys.stderr,
            )
            return 2
        except FileExistsError as exists:
            print(f"error: {exists}", file=sys.stderr)
            return 2
        print(f"{path}: translate its messages, then add the language to app/web/i18n.py")
        return 0
    if args.action == "update":
        template = catalogues.update_all()
        print(f"{len(template)} messages; catalogues: {', '.join(catalogues.languages())}")
        return 0
    found = [problem for code in catalogues.languages() for problem in catalogues.problems(code)]
    print("\n".join(found) or "every catalogue is complete")
    return 1 if found else 0


COMMANDS = {
    "run": run,
    "serve": serve,
    "migrate": migrate_command,
    "seed": seed,
    "db": database,
    "sensors": sensors,
}

if __name__ == "__main__":
    sys.exit(main())

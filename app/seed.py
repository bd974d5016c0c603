"""Demo data: a believable Berlin.

`load_demo_data` gives an empty database one demo beekeeper whose hives stand on a rooftop, in a
community garden and in an allotment colony. `add_city_hives` adds any number of other
beekeepers' hives (100,000 in a few seconds) around places where Berlin's bees really live:
parks, allotment colonies, community gardens and rooftops.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import hash_password
from app.colonies import queries as colonies
from app.colonies.schemas import StartForm
from app.models import (
    ColonyOrigin,
    FrameType,
    Harvest,
    HarvestShare,
    Hive,
    Inspection,
    QueenCells,
    Temperament,
    User,
    VarroaMethod,
)

log = structlog.get_logger(__name__)

DEMO_EMAIL = "demo@cityhive.local"
DEMO_PASSWORD = "demo-beekeeper-2026"  # noqa: S105 - documented in the README, demo data only

DEMO_HIVES = [
    # name, site, lon, lat, frame type, origin, installed
    (
        "Königin Luise",
        "Roof of the Kulturbrauerei",
        13.4133,
        52.5390,
        "dadant",
        "nucleus",
        "2024-05-11",
    ),
    ("Spree", "Roof of the Kulturbrauerei", 13.4135, 52.5391, "dadant", "swarm", "2025-06-02"),
    ("Moritz", "Prinzessinnengarten", 13.4105, 52.4985, "langstroth", "package", "2023-04-20"),
    ("Linde", "Prinzessinnengarten", 13.4107, 52.4987, "langstroth", "split", "2025-07-14"),
    ("Alte Warré", "Kolonie Feldblume", 13.3745, 52.4640, "warre", "swarm", "2022-06-30"),
]

# Where hives stand in Berlin: (place, lon, lat, spread in metres).
BERLIN_PLACES = [
    ("Tempelhofer Feld", 13.4040, 52.4730, 900),
    ("Großer Tiergarten", 13.3500, 52.5145, 900),
    ("Volkspark Friedrichshain", 13.4340, 52.5280, 400),
    ("Treptower Park", 13.4700, 52.4880, 600),
    ("Volkspark Hasenheide", 13.4170, 52.4850, 350),
    ("Mauerpark", 13.4030, 52.5430, 250),
    ("Görlitzer Park", 13.4370, 52.4960, 250),
    ("Park am Gleisdreieck", 13.3740, 52.4960, 350),
    ("Volkspark Humboldthain", 13.3840, 52.5450, 300),
    ("Viktoriapark", 13.3810, 52.4880, 250),
    ("Schlosspark Charlottenburg", 13.2950, 52.5230, 450),
    ("Volkspark Wilmersdorf", 13.3230, 52.4850, 350),
    ("Britzer Garten", 13.4230, 52.4310, 600),
    ("Volkspark Rehberge", 13.3380, 52.5530, 450),
    ("Schillerpark", 13.3520, 52.5600, 300),
    ("Stadtpark Steglitz", 13.3210, 52.4510, 300),
    ("Plänterwald", 13.4820, 52.4800, 700),
    ("Wuhlheide", 13.5450, 52.4600, 900),
    ("Kolonie Feldblume", 13.3745, 52.4640, 200),
    ("Kolonie Famos", 13.4390, 52.4700, 200),
    ("Kleingartenanlage Bornholm", 13.4040, 52.5540, 300),
    ("Kolonie Ruhwald", 13.2700, 52.5170, 250),
    ("Prinzessinnengarten", 13.4105, 52.4985, 80),
    ("Himmelbeet", 13.3460, 52.5470, 80),
    ("Allmende-Kontor", 13.4010, 52.4770, 100),
    ("Kulturbrauerei roof", 13.4133, 52.5390, 60),
    ("Roofs of Kreuzberg", 13.4030, 52.4990, 900),
    ("Roofs of Prenzlauer Berg", 13.4200, 52.5380, 900),
    ("Roofs of Neukölln", 13.4350, 52.4800, 900),
    ("Roofs of Mitte", 13.3950, 52.5200, 900),
    ("Roofs of Schöneberg", 13.3520, 52.4850, 800),
    ("Roofs of Friedrichshain", 13.4550, 52.5130, 800),
    ("Roofs of Wedding", 13.3600, 52.5500, 800),
    ("Roofs of Charlottenburg", 13.3050, 52.5050, 900),
]
HIVES_PER_BEEKEEPER = 8
METRES_PER_DEGREE = 111_320.0


async def load_demo_data(db: AsyncSession) -> bool:
    """Add the demo beekeeper and hives to an empty database. True if anything was added."""
    if await db.scalar(select(func.count()).select_from(User)):
        return False
    user = User(
        name="Demo Beekeeper",
        email=DEMO_EMAIL,
        password_hash=await hash_password(DEMO_PASSWORD),
    )
    db.add(user)
    await db.flush()
    for name, site, lon, lat, frame, origin, installed in DEMO_HIVES:
        at = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
        db.add(
            Hive(
                owner_id=user.id,
                apiary_id=await db.scalar(select(func.apiary_for(user.id, site, at, None))),
                name=name,
                location=at,
                frame_type=FrameType(frame),
                origin=ColonyOrigin(origin),
                installed_on=date.fromisoformat(installed),
            )
        )
    await db.flush()
    await add_demo_colonies(db, user.id)
    await add_demo_field_log(db, user.id)
    await db.commit()
    log.info("demo_data_loaded", email=DEMO_EMAIL, hives=len(DEMO_HIVES))
    return True


async def add_demo_colonies(db: AsyncSession, owner_id: int) -> None:
    """A colony in each demo hive since it was installed, as the migration gave existing hives."""
    hives = await db.scalars(select(Hive).where(Hive.owner_id == owner_id).order_by(Hive.id))
    for hive in hives:
        since = hive.installed_on or date.today()
        await colonies.start(db, owner_id, hive, StartForm(happened_on=since), since)


async def add_demo_field_log(db: AsyncSession, owner_id: int) -> None:
    """A few weeks of inspections, one harvest and the coming schedule, so Today has content."""
    hives = list(await db.scalars(select(Hive).where(Hive.owner_id == owner_id).order_by(Hive.id)))
    now = datetime.now(UTC)
    for number, hive in enumerate(hives):
        for weeks_ago in (3, 2, 1):
            db.add(
                Inspection(
                    hive_id=hive.id,
                    done_at=now - timedelta(weeks=weeks_ago, hours=number),
                    frames_of_bees=6 + number % 4,
                    queen_seen=number != 1,
                    eggs_seen=number != 1,
                    larvae_seen=True,
                    capped_brood_seen=True,
                    queen_cells=QueenCells.swarm
                    if number == 2 and weeks_ago == 1
                    else QueenCells.none,
                    queen_cell_count=3 if number == 2 and weeks_ago == 1 else None,
                    brood_pattern=4,
                    temperament=Temperament.calm,
                    varroa_count=4 + 3 * (number == 3) * weeks_ago,
                    varroa_method=VarroaMethod.alcohol_wash,
                    varroa_sample=300,
                    weight_kg=Decimal("38.5") + number + weeks_ago,
                )
            )
        db.add(Inspection(hive_id=hive.id, scheduled_for=now.date() + timedelta(days=number - 1)))
    if hives:
        harvest = Harvest(
            owner_id=owner_id,
            harvested_on=now.date() - timedelta(days=10),
            total_kg=Decimal("18.00"),
            frames=8,
            honey_kind="Summer blossom",
        )
        db.add(harvest)
        await db.flush()
        for hive in hives[:2]:
            db.add(HarvestShare(harvest_id=harvest.id, hive_id=hive.id, kg=Decimal("9.00")))


async def add_city_hives(db: AsyncSession, count: int, *, seed: int = 2026) -> int:
    """Add `count` hives of generated beekeepers around Berlin's green places; returns count.

    The same `seed` gives the same city. Every generated beekeeper can log in with the demo
    password (one hash, computed once: this is demo data).
    """
    rng = random.Random(seed)  # noqa: S311 - places for demo hives, not secrets
    password_hash = await hash_password(DEMO_PASSWORD)
    first = (await db.scalar(select(func.coalesce(func.max(User.id), 0)))) or 0
    beekeepers = max(1, -(-count // HIVES_PER_BEEKEEPER))
    user_ids = list(
        await db.scalars(
            text(
                "INSERT INTO users (name, email, password_hash) "
                "SELECT 'Beekeeper ' || n, 'beekeeper' || n || '@city.example', :hash "
                "FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n RETURNING id"
            ),
            {"hash": password_hash, "first": first + 1, "last": first + beekeepers},
        )
    )
    columns: dict[str, list[object]] = {
        key: [] for key in ("owner", "name", "apiary", "lon", "lat", "frame", "origin", "installed")
    }
    frames = [f.value for f in FrameType]
    origins = [o.value for o in ColonyOrigin]
    # Each new beekeeper's hives at one place stand in one apiary of theirs, there: what
    # apiary_for would answer for each hive of a new account, made here in three statements
    # (apiary_for once per hive costs a plan per hive, and on stale statistics far more).
    apiaries: dict[tuple[int, str], int] = {}  # (owner, place): its number in `places`
    places: list[tuple[int, str, float, float]] = []
    numbers: list[int] = []  # each hive's apiary, by its number in `places`
    for index in range(count):
        place, lon, lat, spread = BERLIN_PLACES[rng.randrange(len(BERLIN_PLACES))]
        east, north = rng.gauss(0, spread / 2), rng.gauss(0, spread / 2)
        owner = user_ids[index // HIVES_PER_BEEKEEPER]
        if (owner, place) not in apiaries:
            apiaries[(owner, place)] = len(places)
            places.append((owner, place, lon, lat))
        columns["owner"].append(owner)
        columns["name"].append(f"Hive {index % HIVES_PER_BEEKEEPER + 1}")
        numbers.append(apiaries[(owner, place)])
        columns["lon"].append(lon + east / (METRES_PER_DEGREE * 0.6088))  # cos(52.5°)
        columns["lat"].append(lat + north / METRES_PER_DEGREE)
        columns["frame"].append(rng.choice(frames))
        columns["origin"].append(rng.choice(origins))
        columns["installed"].append(date(2026, 6, 1) - timedelta(days=rng.randrange(2000)))
    ids = list(
        await db.scalars(
            text("SELECT nextval('apiaries_id_seq') FROM generate_series(1, :n)"),
            {"n": len(places)},
        )
    )
    await db.execute(
        text(
            "INSERT INTO apiaries (id, name, location) "
            "SELECT id, name, ST_SetSRID(ST_MakePoint(lon, lat), 4326) "
            "FROM unnest(CAST(:id AS int[]), CAST(:name AS text[]), CAST(:lon AS float8[]), "
            "CAST(:lat AS float8[])) AS t(id, name, lon, lat)"
        ),
        {
            "id": ids,
            "name": [place for _, place, _, _ in places],
            "lon": [lon for _, _, lon, _ in places],
            "lat": [lat for _, _, _, lat in places],
        },
    )
    await db.execute(
        text(
            "INSERT INTO apiary_members (apiary_id, user_id, role) "
            "SELECT apiary, owner, 'owner' FROM unnest(CAST(:apiary AS int[]), "
            "CAST(:owner AS int[])) AS t(apiary, owner)"
        ),
        {"apiary": ids, "owner": [owner for owner, _, _, _ in places]},
    )
    columns["apiary"] = [ids[number] for number in numbers]
    await db.execute(
        text(
            "INSERT INTO hives (owner_id, name, apiary_id, location, frame_type, origin, "
            "installed_on) "
            "SELECT owner, name, apiary, at, "
            "CAST(frame AS frame_type), CAST(origin AS colony_origin), installed "
            "FROM (SELECT *, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS at "
            "FROM unnest(CAST(:owner AS int[]), CAST(:name AS text[]), CAST(:apiary AS int[]), "
            "CAST(:lon AS float8[]), CAST(:lat AS float8[]), CAST(:frame AS text[]), "
            "CAST(:origin AS text[]), CAST(:installed AS date[])) "
            "AS t(owner, name, apiary, lon, lat, frame, origin, installed)) AS hive"
        ),
        columns,
    )
    await db.commit()
    await db.execute(text("ANALYZE hives"))
    log.info("city_hives_added", hives=count, beekeepers=beekeepers)
    return count

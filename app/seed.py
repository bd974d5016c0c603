"""Demo data for a first start: one beekeeper with hives on two London sites."""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import hash_password
from app.models import ColonyOrigin, FrameType, Hive, User

log = structlog.get_logger(__name__)

DEMO_EMAIL = "demo@cityhive.local"
DEMO_PASSWORD = "demo-beekeeper-2026"  # noqa: S105 - documented in the README, demo data only

DEMO_HIVES = [
    # name, site, lon, lat, frame type, origin, installed
    ("Queen Mab", "Roof of the Barbican", -0.0937, 51.5202, "national", "nucleus", "2024-05-11"),
    ("Sunny", "Roof of the Barbican", -0.0935, 51.5203, "national", "swarm", "2025-06-02"),
    ("Hackney Wick", "Hackney allotment", -0.0253, 51.5433, "langstroth", "package", "2023-04-20"),
    ("Marigold", "Hackney allotment", -0.0251, 51.5435, "langstroth", "split", "2025-07-14"),
    ("Old Warré", "Hackney allotment", -0.0256, 51.5431, "warre", "swarm", "2022-06-30"),
]


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
        db.add(
            Hive(
                owner_id=user.id,
                name=name,
                site=site,
                location=func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326),
                frame_type=FrameType(frame),
                origin=ColonyOrigin(origin),
                installed_on=date.fromisoformat(installed),
            )
        )
    await db.commit()
    log.info("demo_data_loaded", email=DEMO_EMAIL, hives=len(DEMO_HIVES))
    return True

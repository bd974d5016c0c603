"""Many collectors claiming one report at the same moment: exactly one wins, and the others are
told it is taken, over many connections at once and through the app itself."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.main import create_app
from app.models import SwarmCollector, SwarmReport, SwarmStatus, User
from app.swarms.queries import ClaimRefused, claim
from tests.unit.conftest import csrf_token, log_in, make_user

CLAIMERS = 40
ROUNDS = 5


async def add_collectors(db, count: int) -> list[int]:
    ids = []
    for n in range(count):
        user = User(name=f"Collector {n}", email=f"collector{n}@example.org", password_hash="x")
        db.add(user)
        await db.flush()
        db.add(
            SwarmCollector(
                user_id=user.id,
                location=func.ST_SetSRID(func.ST_MakePoint(13.4, 52.52), 4326),
                radius_m=5000,
            )
        )
        ids.append(user.id)
    await db.commit()
    return ids


async def add_report(db) -> int:
    report = SwarmReport(
        location=func.ST_SetSRID(func.ST_MakePoint(13.41, 52.53), 4326),
        seen_at=func.now(),
        height="ground",
        size="medium",
        description="On the fence",
        contact="+49 30 1234567",
        status_token_hash=f"race {await db.scalar(select(func.count(SwarmReport.id)))}",
        reporter_address="192.0.2.1",
        expires_at=text("now() + interval '1 day'"),
    )
    db.add(report)
    await db.commit()
    return report.id


async def test_of_many_simultaneous_claims_exactly_one_wins(db, settings):
    collectors = await add_collectors(db, CLAIMERS)
    # One connection per claimer, all open at once.
    engine = create_async_engine(settings.async_database_url, pool_size=CLAIMERS, max_overflow=0)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        for _ in range(ROUNDS):
            report_id = await add_report(db)
            # Released together once every claimer holds its own connection.
            all_connected = asyncio.Barrier(CLAIMERS)

            async def claimer(
                user_id: int, report_id: int = report_id, all_connected=all_connected
            ):
                async with sessions() as session:
                    await session.execute(text("SELECT 1"))  # connected before the start
                    await all_connected.wait()
                    return await claim(session, report_id, user_id)

            results = await asyncio.gather(*(claimer(user_id) for user_id in collectors))

            winners = [u for u, result in zip(collectors, results, strict=True) if result is None]
            assert len(winners) == 1, results
            assert results.count(ClaimRefused.claimed) == CLAIMERS - 1
            stored = await db.get(SwarmReport, report_id, populate_existing=True)
            assert stored is not None
            assert (stored.status, stored.claimed_by) == (SwarmStatus.claimed, winners[0])
    finally:
        await engine.dispose()


async def test_through_the_app_one_claim_succeeds_and_the_rest_are_refused(
    db, settings, aiohttp_client
):
    clients = []
    for n in range(8):
        email = f"bee{n}@example.org"
        await make_user(db, name=f"Bee {n}", email=email)
        client = await aiohttp_client(create_app(settings))
        await log_in(client, email)
        token = await csrf_token(client, "/swarms")
        response = await client.post(
            "/swarms/collector",
            data={"latitude": "52.52", "longitude": "13.40", "radius_km": "5", "_csrf": token},
            allow_redirects=False,
        )
        assert response.status == 303
        clients.append((client, await csrf_token(client, "/swarms")))
    report_id = await add_report(db)

    responses = await asyncio.gather(
        *(
            client.post(f"/swarms/{report_id}/claim", data={"_csrf": token}, allow_redirects=False)
            for client, token in clients
        )
    )
    statuses = sorted(response.status for response in responses)
    assert statuses == [303] + [409] * 7
    for response in responses:
        if response.status == 409:
            assert "Another beekeeper claimed this swarm first" in await response.text()

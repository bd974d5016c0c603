"""The collectors' radius query at 100,000 reports: exactly the open reports within the radius,
nearest first, found through the spatial index on swarm_reports.location."""

from __future__ import annotations

import re

import asyncpg
from sqlalchemy import text

from app.models import SwarmCollector
from app.swarms.queries import OPEN_REPORTS_NEAR, open_reports_near

CENTRE = (13.4132, 52.5219)  # lon, lat: Alexanderplatz
RADIUS_M = 5_000

# 100,000 reports spread over the service area (Berlin), in every state: most open, some
# claimed, some closed, and a tenth of the open ones expired. setseed makes it the same city
# every run.
SEED_REPORTS = text(
    """
    SELECT setseed(0.42);
    INSERT INTO swarm_reports (location, seen_at, height, size, description, contact,
                               status_token_hash, reporter_address, status, outcome,
                               claimed_by, expires_at)
    SELECT ST_SetSRID(ST_MakePoint(13.088 + random() * 0.673, 52.338 + random() * 0.337), 4326),
           now(), 'unknown', 'unknown', 'A swarm', '+49 30 1234567',
           md5(n::text), '192.0.2.1',
           CAST(state AS swarm_status),
           CASE WHEN state = 'closed' THEN CAST('collected' AS swarm_outcome) END,
           NULL,
           CASE WHEN random() < 0.1 THEN now() - interval '1 hour' ELSE now() + interval '1 day' END
    FROM (
        SELECT n, CASE WHEN r < 0.7 THEN 'open' WHEN r < 0.85 THEN 'claimed' ELSE 'closed' END
               AS state
        FROM (SELECT n, random() AS r FROM generate_series(1, 100000) AS n) AS drawn
    ) AS states
    """
)

# Reports just inside and just outside the circle, in eight directions: the index's box around
# the circle must not cut off the first, and the exact test must drop the second.
EDGE_REPORTS = text(
    """
    INSERT INTO swarm_reports (location, seen_at, height, size, description, contact,
                               status_token_hash, reporter_address, expires_at)
    SELECT ST_Project(ST_MakePoint(:lon, :lat)::geography, metres, radians(azimuth))::geometry,
           now(), 'unknown', 'unknown', 'On the edge', '+49 30 1234567',
           md5('edge' || metres || azimuth), '192.0.2.1', now() + interval '1 day'
    FROM unnest(CAST(:distances AS float8[])) AS metres,
         generate_series(0, 315, 45) AS azimuth
    """
)

EXPECTED = text(
    """
    SELECT r.id FROM swarm_reports AS r, swarm_collectors AS c
    WHERE c.user_id = :user_id AND r.status = 'open' AND r.expires_at > now()
      AND ST_Distance(r.location::geography, c.location::geography) <= c.radius_m
    """
)


def positional(sql: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)", number, sql), names


async def test_at_100000_reports_exactly_those_within_the_radius_through_the_index(
    db, user, database_url
):
    lon, lat = CENTRE
    db.add(
        SwarmCollector(
            user_id=user.id,
            location=text(f"ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)"),
            radius_m=RADIUS_M,
        )
    )
    await db.commit()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(SEED_REPORTS.text)
    finally:
        await conn.close()
    await db.execute(
        EDGE_REPORTS, {"lon": lon, "lat": lat, "distances": [RADIUS_M - 1.0, RADIUS_M + 1.0]}
    )
    await db.commit()
    await db.execute(text("ANALYZE swarm_reports"))
    await db.commit()

    expected = set(await db.scalars(EXPECTED, {"user_id": user.id}))
    near = await open_reports_near(db, user.id, limit=None)
    assert {report.id for report in near} == expected
    assert 2_000 < len(expected) < 10_000  # a real share of the city, not all of it
    distances = [report.distance_m for report in near]
    assert distances == sorted(distances)
    assert max(distances) <= RADIUS_M
    edge = [report for report in near if report.description == "On the edge"]
    assert len(edge) == 8  # the eight just inside; none of the eight just outside
    assert [report.id for report in await open_reports_near(db, user.id)] == [
        report.id for report in near[:20]
    ]

    plan = "\n".join(
        await db.scalars(
            text("EXPLAIN " + OPEN_REPORTS_NEAR.text), {"user_id": user.id, "limit": 20}
        )
    )
    assert "ix_swarm_reports_location" in plan, plan

    # A pooled connection runs the statement prepared; after five runs PostgreSQL may switch
    # to a generic plan, made without the values. That plan must use the index too.
    sql, names = positional(OPEN_REPORTS_NEAR.text)
    values = {"user_id": user.id, "limit": 20}
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE near AS {sql}")
        arguments = ", ".join(str(values[name]) for name in names)
        generic = "\n".join(
            row[0] for row in await conn.fetch(f"EXPLAIN EXECUTE near({arguments})")
        )
    finally:
        await conn.close()
    assert "ix_swarm_reports_location" in generic, generic

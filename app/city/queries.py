"""The city layer's SQL: colonies per hexagon, forage pressure around a spot, city statistics.

Nothing here returns a hive's location, a hive's owner or a count below MINIMUM_COUNT for a
place smaller than the whole city.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.city.grid import HEXAGON_POLYGON, HexGrid, hexagon_cells, within_metres

# A hexagon with fewer colonies than this is shown as a band, "1-2", never as a count.
MINIMUM_COUNT = 3
SMALL_BAND = "1-2"

# Colonies per hexagon: each active hive in the service area is put in the hexagon whose centre
# is nearest (arithmetic on its coordinates, see app/city/grid.py), the hexagons are counted and
# only those with colonies are drawn, as PostGIS's own hexagon polygons. `plane` has OFFSET 0 so
# that the planner keeps it a separate step: flattened into the steps after it, every use of
# x and y would call ST_X and ST_Y again (a dozen times per hive instead of once).
# `&&` against the area uses the GiST index when the area holds few of the hives; for a whole
# city that holds nearly all of them, a sequential scan is the better plan and is chosen.
DENSITY = text(
    f"""
    WITH plane AS (
        SELECT ST_X(location) * CAST(:kx AS float8) AS x,
               ST_Y(location) * CAST(:ky AS float8) AS y
        FROM hives
        WHERE status = 'active'
          AND location && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
        OFFSET 0
    ), {hexagon_cells("plane")},
    counted AS (
        SELECT i, j, count(*) AS colonies FROM cells GROUP BY i, j
    )
    SELECT json_build_object(
        'type', 'FeatureCollection',
        'features', COALESCE(
            json_agg(
                json_build_object(
                    'type', 'Feature',
                    'id', i || ':' || j,
                    'geometry', ST_AsGeoJSON({HEXAGON_POLYGON.format(i="i", j="j")}, 6)::json,
                    'properties', json_build_object(
                        'count', CASE WHEN colonies >= {MINIMUM_COUNT} THEN colonies END,
                        'band', CASE
                            WHEN colonies < {MINIMUM_COUNT} THEN '{SMALL_BAND}'
                            WHEN colonies <= 5 THEN '3-5'
                            WHEN colonies <= 10 THEN '6-10'
                            WHEN colonies <= 20 THEN '11-20'
                            ELSE '21+'
                        END
                    )
                ) ORDER BY i, j
            ),
            '[]'::json
        ),
        'hexagonAreaKm2', 1,
        'minimumCount', {MINIMUM_COUNT}
    )::text
    FROM counted
    """  # noqa: S608 - built from this module's constants; values are bound parameters
)


async def density_geojson(
    db: AsyncSession, grid: HexGrid, bounds: tuple[float, float, float, float]
) -> str:
    """Colonies per hexagon in the service area `bounds`, as GeoJSON text built by PostGIS."""
    west, south, east, north = bounds
    edges = {"west": west, "south": south, "east": east, "north": north}
    return str(await db.scalar(DENSITY, {**grid.parameters(), **edges}))


# The hives within the forage radius of the centre of the spot's hexagon, not of the spot
# itself: any signed-in user can ask about any spot, and exact circles around spots of their
# choosing would let them find a hive by where the count changes. Around the hexagon's centre,
# the answer says no more about where hives stand than the density map does.
FORAGE = text(
    f"""
    WITH spot AS (
        SELECT CAST(:longitude AS float8) * CAST(:kx AS float8) AS x,
               CAST(:latitude AS float8) * CAST(:ky AS float8) AS y
    ), {hexagon_cells("spot")},
    centre AS (
        SELECT ST_SetSRID(ST_MakePoint(cx / CAST(:kx AS float8), cy / CAST(:ky AS float8)), 4326)
            AS point
        FROM cells
    )
    SELECT count(hives.id)
    FROM centre
    LEFT JOIN hives ON hives.status = 'active'
        AND NOT (hives.id = :exclude_hive_id AND hives.owner_id = :owner_id)
        AND {within_metres("hives.location", "centre.point", "CAST(:radius AS float8)")}
    """  # noqa: S608 - built from this module's constants; values are bound parameters
)


@dataclass(frozen=True)
class ForagePressure:
    """How crowded the forage around a spot is, and whether that is past the threshold."""

    colonies: int  # already there, not counting the hive being placed
    radius_m: int
    threshold_per_km2: float

    @property
    def area_km2(self) -> float:
        return math.pi * (self.radius_m / 1000) ** 2

    @property
    def per_km2_with_new(self) -> float:
        """Colonies per km² of forage once the new hive stands there too."""
        return (self.colonies + 1) / self.area_km2

    @property
    def too_crowded(self) -> bool:
        return self.per_km2_with_new > self.threshold_per_km2


async def forage_pressure(
    db: AsyncSession,
    grid: HexGrid,
    *,
    latitude: float,
    longitude: float,
    radius_m: int,
    threshold_per_km2: float,
    exclude_hive_id: int | None = None,
    owner_id: int | None = None,
) -> ForagePressure:
    """Active colonies within `radius_m` of the spot's hexagon centre.

    `exclude_hive_id` is the hive being moved, which must not count against itself; it is left
    out only if `owner_id` owns it, or anyone could learn whether a hive of theirs choosing
    stands near the spot by asking with and without it.
    """
    colonies = await db.scalar(
        FORAGE,
        {
            **grid.parameters(),
            "latitude": latitude,
            "longitude": longitude,
            "radius": radius_m,
            "exclude_hive_id": exclude_hive_id or 0,
            "owner_id": owner_id or 0,
        },
    )
    return ForagePressure(int(colonies or 0), radius_m, threshold_per_km2)


@dataclass(frozen=True)
class MonthOfSwarms:
    month: date
    reported: int
    collected: int


@dataclass(frozen=True)
class CityStatistics:
    season: int  # the year
    colonies: int
    beekeepers: int
    swarms_reported: int
    swarms_collected: int
    harvested_colonies: int
    harvest_kg: float
    months: list[MonthOfSwarms]

    @property
    def harvest_per_colony_kg(self) -> float | None:
        """Mean kg per colony that was harvested this season; None with too few colonies to
        keep any one beekeeper's harvest private."""
        if self.harvested_colonies < MINIMUM_COUNT:
            return None
        return self.harvest_kg / self.harvested_colonies


CITY_TOTALS = text(
    """
    WITH area AS (
        SELECT ST_MakeEnvelope(:west, :south, :east, :north, 4326) AS box
    ), colonies AS (
        SELECT hives.id, hives.owner_id FROM hives, area
        WHERE hives.status = 'active' AND hives.location && area.box
    ), season AS (
        SELECT date_trunc('year', now()) AS starts
    ), harvested AS (
        SELECT harvest_shares.hive_id, sum(harvest_shares.kg) AS kg
        FROM harvest_shares
        JOIN harvests ON harvests.id = harvest_shares.harvest_id
        JOIN hives ON hives.id = harvest_shares.hive_id, area, season
        WHERE harvests.harvested_on >= season.starts AND hives.location && area.box
        GROUP BY harvest_shares.hive_id
    )
    SELECT
        (SELECT CAST(extract(year FROM starts) AS int) FROM season),
        (SELECT count(*) FROM colonies),
        (SELECT count(DISTINCT owner_id) FROM colonies),
        (SELECT count(*) FROM swarm_reports, season WHERE created_at >= season.starts),
        (SELECT count(*) FROM swarm_reports, season
         WHERE created_at >= season.starts AND outcome = 'collected'),
        (SELECT count(*) FROM harvested),
        (SELECT COALESCE(sum(kg), 0) FROM harvested)
    """
)

SWARMS_BY_MONTH = text(
    """
    SELECT month::date,
           count(swarm_reports.id),
           count(swarm_reports.id) FILTER (WHERE swarm_reports.outcome = 'collected')
    FROM generate_series(
        date_trunc('year', now()), date_trunc('year', now()) + interval '11 months',
        interval '1 month'
    ) AS month
    LEFT JOIN swarm_reports ON date_trunc('month', swarm_reports.created_at) = month
    GROUP BY month
    ORDER BY month
    """
)


async def city_statistics(
    db: AsyncSession, bounds: tuple[float, float, float, float]
) -> CityStatistics:
    """This season's figures for the service area `bounds`: aggregates only."""
    west, south, east, north = bounds
    edges = {"west": west, "south": south, "east": east, "north": north}
    totals = (await db.execute(CITY_TOTALS, edges)).one()
    months = [MonthOfSwarms(*row) for row in await db.execute(SWARMS_BY_MONTH)]
    season, colonies, beekeepers, reported, collected, harvested, kg = totals
    return CityStatistics(
        season=season,
        colonies=colonies,
        beekeepers=beekeepers,
        swarms_reported=reported,
        swarms_collected=collected,
        harvested_colonies=harvested,
        harvest_kg=float(kg),
        months=months,
    )

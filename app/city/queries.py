"""The city layer's SQL: the published hexagons, and the three answers made from them only:
the density map, forage pressure around a spot, and city statistics.

Every answer about where colonies stand is a function of the *published* hexagons (see
PUBLISHED), the same for every asker, signed in or not. A hexagon's count is published only when
it holds colonies of at least PUBLISHED_BEEKEEPERS distinct beekeepers: whoever asks, and
whatever hives they add, at least MINIMUM_OTHER_BEEKEEPERS of them are somebody else. Below that
a hexagon says only FEW, whatever its count, so that adding hives of one's own to it, one by one,
never shows where its count changes band. docs/security.md states the guarantee.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.city.grid import EDGE_M, HEXAGON_POLYGON, HexGrid, hexagon_cells
from app.geo import feature_collection, within_metres
from app.web.auth import MEMBERS_HIVE, roles_for

# The beekeepers behind some hives, as a threshold counts them: the accounts that added them,
# but no more than the apiaries they stand in. The members of a shared apiary all know its hives,
# so four members who each added one in a hexagon are one party there, not four: counted as
# four, the hexagon's count minus their hives would be the outsiders' colonies.
BEEKEEPERS = "least(count(DISTINCT owner_id), count(DISTINCT apiary_id))"
# Whoever asks, a published count covers the colonies of at least this many other beekeepers.
MINIMUM_OTHER_BEEKEEPERS = 3
# So a hexagon needs one more in all: an asker who keeps bees in it still leaves three others.
PUBLISHED_BEEKEEPERS = MINIMUM_OTHER_BEEKEEPERS + 1
# What a hexagon with colonies of fewer beekeepers says instead of a count: one band for all of
# them, never a count or a smaller band.
FEW = "few"


# The one rule that makes a hexagon's count public, from `counted` (i, j, cx, cy, colonies,
# beekeepers): a count with PUBLISHED_BEEKEEPERS or more, else FEW and no count.
PUBLISH = f"""
    published AS (
        SELECT i, j, cx, cy,
            CASE WHEN beekeepers >= {PUBLISHED_BEEKEEPERS} THEN colonies END AS count,
            CASE
                WHEN beekeepers < {PUBLISHED_BEEKEEPERS} THEN '{FEW}'
                WHEN colonies <= 5 THEN '3-5'
                WHEN colonies <= 10 THEN '6-10'
                WHEN colonies <= 20 THEN '11-20'
                ELSE '21+'
            END AS band
        FROM counted
    )"""  # noqa: S608 - built from this module's constants


def published_cells(nearby: str = "TRUE") -> str:
    """CTEs (to follow a WITH) giving `published`: one row per hexagon that holds active hives in
    the service area (`:west`, `:south`, `:east`, `:north`), with `i`, `j`, its centre `cx`, `cy`
    on the plane, `count` (None below PUBLISHED_BEEKEEPERS) and `band`; and `cells`, the hives
    themselves (`id`, `owner_id`, `i`, `j`), for a caller that must recognise one of the asker's.

    `nearby` narrows which hives are read (an index condition around a spot): a caller that
    narrows must read every hive of every hexagon it then uses, so that each is counted whole
    and says exactly what the density map says of it.

    Each hive goes in the hexagon whose centre is nearest (arithmetic on its coordinates, see
    app/city/grid.py). `plane` has OFFSET 0 so that the planner keeps it a separate step:
    flattened into the steps after it, every use of x and y would call ST_X and ST_Y again (a
    dozen times per hive instead of once). `&&` against the area uses the GiST index when the
    area holds few of the hives; for a whole city a sequential scan is the better plan.
    """
    return f"""
    plane AS (
        SELECT id, owner_id, apiary_id,
               ST_X(location) * CAST(:kx AS float8) AS x,
               ST_Y(location) * CAST(:ky AS float8) AS y
        FROM hives
        WHERE status = 'active'
          AND location && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
          AND {nearby}
        OFFSET 0
    ), {hexagon_cells("plane")},
    counted AS (
        SELECT i, j, min(cx) AS cx, min(cy) AS cy, count(*) AS colonies,
               {BEEKEEPERS} AS beekeepers
        FROM cells GROUP BY i, j
    ), {PUBLISH}"""  # noqa: S608 - `nearby` is SQL from this module, never user input


# The density map: the published hexagons, drawn as PostGIS's own hexagon polygons.
DENSITY = text(
    f"""
    WITH {published_cells()}
    SELECT {
        feature_collection(
            feature_id="i || ':' || j",
            geometry=HEXAGON_POLYGON.format(i="i", j="j"),
            properties="'count', count, 'band', band",
            order="i, j",
            members=f", 'hexagonAreaKm2', 1, 'minimumBeekeepers', {PUBLISHED_BEEKEEPERS}",
        )
    }
    FROM published
    """  # noqa: S608 - built from this module's constants; values are bound parameters
)


def area_parameters(bounds: tuple[float, float, float, float]) -> dict[str, float]:
    west, south, east, north = bounds
    return {"west": west, "south": south, "east": east, "north": north}


async def density_geojson(
    db: AsyncSession, grid: HexGrid, bounds: tuple[float, float, float, float]
) -> str:
    """Colonies per hexagon in the service area `bounds`, as GeoJSON text built by PostGIS."""
    return str(await db.scalar(DENSITY, {**grid.parameters(), **area_parameters(bounds)}))


# Forage pressure: the published hexagons that the forage circle reaches, each counted with the
# share of its area inside the circle (its colonies taken as spread evenly over it). The circle
# is drawn around the centre of the spot's hexagon, not the spot: every spot in a hexagon gets
# the same answer, and it is made of published counts only, so no choice of spots says more than
# the density map. A hexagon below the threshold adds no number, only to `few_hexagons`.
#
# Hives are read around the centre within the radius plus two edges: a hexagon the circle reaches
# has its centre within radius + edge, and its hives within one more edge (5% more for the plane's
# distortion). That is what the spatial index serves, and every hexagon used is read whole.
FORAGE = text(
    f"""
    WITH spot AS (
        SELECT CAST(:longitude AS float8) * CAST(:kx AS float8) AS x,
               CAST(:latitude AS float8) * CAST(:ky AS float8) AS y
    ), {hexagon_cells("spot", prefix="spot_")},
    centre AS (
        SELECT ST_SetSRID(ST_MakePoint(cx / CAST(:kx AS float8), cy / CAST(:ky AS float8)), 4326)
                   AS point,
               ST_Buffer(ST_MakePoint(cx, cy), CAST(:radius AS float8), 32) AS circle
        FROM spot_cells
    ), {
        published_cells(
            within_metres(
                "location",
                "(SELECT point FROM centre)",
                f"1.05 * (CAST(:radius AS float8) + {2 * EDGE_M:.1f})",
            )
        )
    },
    reached AS (
        SELECT published.*,
               ST_Area(ST_Intersection(ST_Hexagon(CAST(:edge AS float8), i, j), centre.circle))
                   / ST_Area(ST_Hexagon(CAST(:edge AS float8), i, j)) AS share,
               (SELECT count(*) FROM cells
                WHERE cells.i = published.i AND cells.j = published.j
                  AND cells.id = :exclude_hive_id
                  AND EXISTS (SELECT 1 FROM hives AS hive
                              WHERE hive.id = cells.id AND {MEMBERS_HIVE})) AS moving
        FROM published, centre
        WHERE ST_Intersects(ST_Hexagon(CAST(:edge AS float8), i, j), centre.circle)
    )
    SELECT COALESCE(sum(share * (count - moving)) FILTER (WHERE count IS NOT NULL), 0),
           count(*) FILTER (WHERE count IS NULL)
    FROM reached
    """  # noqa: S608 - built from this module's constants; values are bound parameters
)


@dataclass(frozen=True)
class ForagePressure:
    """How crowded the forage around a spot is, and whether that is past the threshold.

    `colonies` is what the published hexagons say: a hexagon whose count is not published (too
    few beekeepers) adds nothing to it, and is counted in `few_hexagons` instead, so the pressure
    is "at least" whenever `few_hexagons` is not 0.
    """

    colonies: float  # already there, not counting the hive being placed
    few_hexagons: int
    radius_m: int
    threshold_per_km2: float

    @property
    def shown_colonies(self) -> int:
        return round(self.colonies)

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
    bounds: tuple[float, float, float, float],
    *,
    latitude: float,
    longitude: float,
    radius_m: int,
    threshold_per_km2: float,
    exclude_hive_id: int | None = None,
    owner_id: int | None = None,
) -> ForagePressure:
    """The colonies that the published hexagons around the spot's hexagon hold.

    `exclude_hive_id` is the hive being moved, which must not count against itself: it is
    taken off a published count that holds it, and only if `owner_id` may read it (a member of
    its apiary, who knows where it stands already), or anyone could learn whether a hive of
    their choosing stands near the spot by asking with and without it.
    """
    colonies, few = (
        await db.execute(
            FORAGE,
            {
                **grid.parameters(),
                **area_parameters(bounds),
                "latitude": latitude,
                "longitude": longitude,
                "radius": radius_m,
                "exclude_hive_id": exclude_hive_id or 0,
                "user_id": owner_id or 0,
                "roles": [role.value for role in roles_for()],
            },
        )
    ).one()
    return ForagePressure(float(colonies or 0), int(few or 0), radius_m, threshold_per_km2)


@dataclass(frozen=True)
class MonthOfSwarms:
    month: date
    reported: int
    collected: int


@dataclass(frozen=True)
class CityStatistics:
    season: int  # the year
    colonies: int  # in published hexagons: the sum of the density map's counts
    few_hexagons: int  # hexagons whose colonies are not counted (too few beekeepers)
    beekeepers: int  # people with an active hive in the city: a count of accounts, not places
    swarms_reported: int
    swarms_collected: int
    # Mean kg per colony harvested this season; None unless at least PUBLISHED_BEEKEEPERS
    # beekeepers harvested, so the asker's own harvests cannot be taken out of it to leave fewer
    # than MINIMUM_OTHER_BEEKEEPERS others' (the totals behind it never leave the database).
    harvest_per_colony_kg: float | None
    months: list[MonthOfSwarms]


# The colonies are the published counts added up, never a count of hives: the city's exact total
# minus the published counts would be the colonies of the hexagons below the threshold.
CITY_TOTALS = text(
    f"""
    WITH {published_cells()},
    season AS (
        SELECT date_trunc('year', now()) AS starts
    ), harvested AS (
        SELECT harvest_shares.hive_id, hives.owner_id, hives.apiary_id, sum(harvest_shares.kg) AS kg
        FROM harvest_shares
        JOIN harvests ON harvests.id = harvest_shares.harvest_id
        JOIN hives ON hives.id = harvest_shares.hive_id, season
        WHERE harvests.harvested_on >= season.starts
          AND hives.location && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
        GROUP BY harvest_shares.hive_id, hives.owner_id, hives.apiary_id
    )
    SELECT
        (SELECT CAST(extract(year FROM starts) AS int) FROM season),
        (SELECT COALESCE(sum(count), 0) FROM published),
        (SELECT count(*) FROM published WHERE count IS NULL),
        (SELECT count(DISTINCT owner_id) FROM plane),
        (SELECT count(*) FROM swarm_reports, season WHERE created_at >= season.starts),
        (SELECT count(*) FROM swarm_reports, season
         WHERE created_at >= season.starts AND outcome = 'collected'),
        (SELECT CASE WHEN {BEEKEEPERS} >= {PUBLISHED_BEEKEEPERS}
                     THEN sum(kg) / count(*) END
         FROM harvested)
    """  # noqa: S608 - built from this module's constants; values are bound parameters
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
    db: AsyncSession, grid: HexGrid, bounds: tuple[float, float, float, float]
) -> CityStatistics:
    """This season's figures for the service area `bounds`, made from published figures only."""
    totals = (await db.execute(CITY_TOTALS, {**grid.parameters(), **area_parameters(bounds)})).one()
    months = [MonthOfSwarms(*row) for row in await db.execute(SWARMS_BY_MONTH)]
    season, colonies, few, beekeepers, reported, collected, per_colony = totals
    return CityStatistics(
        season=season,
        colonies=int(colonies),
        few_hexagons=few,
        beekeepers=beekeepers,
        swarms_reported=reported,
        swarms_collected=collected,
        harvest_per_colony_kg=None if per_colony is None else float(per_colony),
        months=months,
    )

"""The city's hexagon grid and the SQL that puts a point in its hexagon ("within so many
metres" is app/geo.py's `within_metres`).

The grid is PostGIS's hexagon grid (`ST_Hexagon(edge, i, j)`, the cells of `ST_HexagonGrid`:
flat-topped, odd columns half a row up) laid on a plane in metres: x = longitude times metres per
degree of longitude at the service area's middle latitude, y = latitude times metres per degree of
latitude. Over a city that plane is true to within a fraction of a percent, so each cell covers
about 1 km² of ground, and mapped back to degrees the cells are still exact straight-edged
polygons: what PostGIS says a published hexagon contains is what was counted in it.

The grid is fixed by the settings alone, never by what a request asks for. That matters for
privacy: a cell always counts every hive inside it, so no choice of bounding box can split a
cell and reveal one hive by the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HEXAGON_AREA_M2 = 1_000_000.0
# A regular hexagon of edge a has area 3√3/2 · a²: a ≈ 620.4 m for 1 km².
EDGE_M = math.sqrt(2 * HEXAGON_AREA_M2 / (3 * math.sqrt(3)))
METRES_PER_DEGREE = 111_320.0  # of latitude, and of longitude at the equator (WGS 84 sphere)


@dataclass(frozen=True)
class HexGrid:
    """The plane's scale (metres per degree) and the hexagons' edge in metres."""

    metres_per_degree_lon: float
    metres_per_degree_lat: float = METRES_PER_DEGREE
    edge_m: float = EDGE_M

    @classmethod
    def for_area(cls, bounds: tuple[float, float, float, float]) -> HexGrid:
        """The grid for a service area (west, south, east, north), scaled at its middle."""
        _, south, _, north = bounds
        middle = math.radians((south + north) / 2)
        return cls(metres_per_degree_lon=METRES_PER_DEGREE * math.cos(middle))

    def parameters(self) -> dict[str, float]:
        """The values the SQL below names :kx, :ky and :edge."""
        return {
            "kx": self.metres_per_degree_lon,
            "ky": self.metres_per_degree_lat,
            "edge": self.edge_m,
        }


def hexagon_cells(points: str, prefix: str = "") -> str:
    """CTEs (to follow a WITH) giving `cells` (named `{prefix}cells`, so that one statement can
    place two sets of points): every row of `points`, which has x and y in metres on the plane,
    with `i` and `j`, the column and row of its hexagon (`ST_Hexagon`'s cell_i and cell_j), and
    `cx`, `cy`, the hexagon's centre on the plane.

    A point belongs to the hexagon whose centre is nearest: axial coordinates, rounded as cube
    coordinates (the one that rounding moved most is recomputed from the other two), which is
    exact for a hexagonal grid. A point exactly on an edge goes to one hexagon only.

    Each step ends in OFFSET 0 so that the planner keeps it a step of its own: flattened into
    the next one, every use of q or r would compute it again (each is used five or six times),
    which doubles the time for a city's hives.
    """
    return f"""
    {prefix}axial AS (
        SELECT *, x * 2 / 3 / CAST(:edge AS float8) AS q,
               (y / sqrt(3.0) - x / 3) / CAST(:edge AS float8) AS r
        FROM {points}
        OFFSET 0
    ), {prefix}rounded AS (
        SELECT *, round(q) AS rq, round(r) AS rr, round(-q - r) AS rs FROM {prefix}axial OFFSET 0
    ), {prefix}cube AS (
        SELECT *,
            CASE WHEN abs(rq - q) > abs(rr - r) AND abs(rq - q) > abs(rs + q + r)
                 THEN -rr - rs ELSE rq END AS cell_q,
            CASE WHEN abs(rq - q) > abs(rr - r) AND abs(rq - q) > abs(rs + q + r) THEN rr
                 WHEN abs(rr - r) > abs(rs + q + r) THEN -rq - rs
                 ELSE rr END AS cell_r
        FROM {prefix}rounded
        OFFSET 0
    ), {prefix}cells AS (
        SELECT *,
            CAST(cell_q AS int) AS i,
            CAST(cell_r + (cell_q - (CAST(cell_q AS int8) & 1)) / 2 AS int) AS j,
            1.5 * CAST(:edge AS float8) * cell_q AS cx,
            sqrt(3.0) * CAST(:edge AS float8) * (cell_r + cell_q / 2) AS cy
        FROM {prefix}cube
    )"""  # noqa: S608 - `points` and `prefix` are names from this module's callers, never user input


# The hexagon (i, j) as a polygon in degrees: PostGIS's own cell, scaled from the plane.
HEXAGON_POLYGON = (
    "ST_SetSRID(ST_Scale(ST_Hexagon(CAST(:edge AS float8), {i}, {j}), "
    "1 / CAST(:kx AS float8), 1 / CAST(:ky AS float8)), 4326)"
)

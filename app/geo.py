"""Points on the map, the way every feature stores, reads, measures and publishes them.

Locations are PostGIS geometries in SRID 4326 (WGS 84 degrees) with a GiST index. A point is
made from longitude then latitude, as GeoJSON writes it; forms and people say latitude first.
Distances in metres are measured on the spheroid, and GeoJSON is built by the database and sent
on as text. Nothing here knows a feature: hives, swarms and the city's hexagons all use it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from sqlalchemy import func

from app.web.i18n import _

SRID = 4326
MAX_COORDINATE_CHARACTERS = 24


def point(latitude: float, longitude: float) -> Any:
    """The SQL expression of a point at these degrees (GeoJSON order inside: x is longitude)."""
    return func.ST_SetSRID(func.ST_MakePoint(longitude, latitude), SRID)


def decimal_text(value: object) -> object:
    """Phones in many locales type 51,5203: read it as 51.5203. Anything longer than a
    coordinate can be is refused before it is parsed."""
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
        if len(value) > MAX_COORDINATE_CHARACTERS:
            raise ValueError(_("That is too long for a number here"))
    return value


def _coordinate(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError(_("Required: use your position, tap the map, or type it"))
    return decimal_text(value)


Coordinate = BeforeValidator(_coordinate)
Latitude = Annotated[float, Coordinate, Field(ge=-90, le=90)]
Longitude = Annotated[float, Coordinate, Field(ge=-180, le=180)]


def within_metres(column: str, point: str, metres: str, *, box_metres: str | None = None) -> str:
    """SQL true when the geometry `column` (SRID 4326, GiST-indexed) lies within `metres` of the
    geometry `point`, measured on the spheroid.

    `ST_DWithin` on geography is exact but cannot use an index on the geometry column, so a
    box around the point in degrees goes first: `&&` against it is what the index serves. The
    box is 1% wider than the circle needs (a degree of longitude is at least 111,320 m times the
    cosine of the latitude, and a degree of latitude at least 110,574 m), so it never cuts off
    a point that the exact test would keep. When `metres` depends on the row of `column`,
    `box_metres` is its largest value from `point`'s side alone, so the index can still serve.
    """
    box = box_metres or metres
    return (
        f"{column} && ST_Expand({point}, "
        f"1.01 * {box} / (111320 * cos(radians(ST_Y({point})))), "
        f"1.01 * {box} / 110574.0) "
        f"AND ST_DWithin({column}::geography, {point}::geography, {metres})"
    )


def feature_collection(
    *,
    feature_id: str,
    geometry: str,
    properties: str,
    order: str,
    only: str = "",
    members: str = "",
) -> str:
    """The SELECT list that folds the rows of the FROM after it into one GeoJSON
    FeatureCollection, as text: PostGIS writes each geometry (6 decimals, about 10 cm) and the
    database the whole document, so no Python object is made per feature.

    `feature_id`, `geometry` and `properties` (the arguments of a `json_build_object`) are SQL
    over one row; `order` orders the features; `only` is a condition a row must meet to be a
    feature (a cap, say); `members` adds `, 'name', value` pairs to the collection itself.
    """
    keep = f"FILTER (WHERE {only})" if only else ""
    return f"""
    json_build_object(
        'type', 'FeatureCollection',
        'features', COALESCE(
            json_agg(
                json_build_object(
                    'type', 'Feature',
                    'id', {feature_id},
                    'geometry', ST_AsGeoJSON({geometry}, 6)::json,
                    'properties', json_build_object({properties})
                ) ORDER BY {order}
            ) {keep},
            '[]'::json
        ){members}
    )::text"""

"""The hives' SQL. Every query is scoped to the owner: another user's hive simply is not found.

One hive, for a page or an API call, comes from app/web/auth.py's `hive_for`, which asks
`hives_of`: the one statement of who may see a hive, which the list here starts from too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.geo import SRID, feature_collection, point
from app.hives.schemas import Bbox, HiveForm, HiveListQuery
from app.models import Hive
from app.web.auth import HiveView, hives_of

PER_PAGE = 20

SORTS: dict[str, Any] = {
    "name": (Hive.name, Hive.id),
    "site": (Hive.site.nulls_last(), Hive.name, Hive.id),
    "status": (Hive.status, Hive.name, Hive.id),
    "installed": (Hive.installed_on.nulls_last(), Hive.name, Hive.id),
    "-name": (Hive.name.desc(), Hive.id),
    "-site": (Hive.site.desc().nulls_last(), Hive.name, Hive.id),
    "-status": (Hive.status.desc(), Hive.name, Hive.id),
    "-installed": (Hive.installed_on.desc().nulls_last(), Hive.name, Hive.id),
}


def _values(form: HiveForm) -> dict[str, Any]:
    values = form.model_dump(exclude={"latitude", "longitude"})
    values["location"] = point(form.latitude, form.longitude)
    return values


async def create_hive(db: AsyncSession, owner_id: int, form: HiveForm) -> int:
    hive_id = await add_hive(db, owner_id, form)
    await db.commit()
    return hive_id


async def add_hive(db: AsyncSession, owner_id: int, form: HiveForm) -> int:
    """A new hive in the caller's transaction (an idempotent create commits it with its key)."""
    hive = Hive(owner_id=owner_id, **_values(form))
    db.add(hive)
    await db.flush()
    return hive.id


async def update_hive(db: AsyncSession, owner_id: int, hive_id: int, form: HiveForm) -> bool:
    result = await db.execute(
        update(Hive)
        .where(Hive.id == hive_id, Hive.owner_id == owner_id)
        .values(**_values(form), updated_at=func.now())
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_hive(db: AsyncSession, owner_id: int, hive_id: int) -> bool:
    result = await db.execute(delete(Hive).where(Hive.id == hive_id, Hive.owner_id == owner_id))
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class HivePage:
    hives: list[HiveView]
    total: int
    page: int
    pages: int


async def list_hives(db: AsyncSession, owner_id: int, query: HiveListQuery) -> HivePage:
    """One page of the owner's hives matching the search and filters, in the chosen order."""
    selection = hives_of(owner_id)
    if query.q:
        pattern = _contains(query.q)
        selection = selection.where(
            or_(Hive.name.ilike(pattern), Hive.site.ilike(pattern), Hive.notes.ilike(pattern))
        )
    if query.site:
        selection = selection.where(Hive.site == query.site)
    if query.status is not None:
        selection = selection.where(Hive.status == query.status)
    total = await db.scalar(select(func.count()).select_from(selection.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(query.page, pages)
    rows = await db.execute(
        selection.order_by(*SORTS[query.sort]).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    )
    hives = [HiveView(hive, latitude, longitude) for hive, latitude, longitude in rows]
    return HivePage(hives=hives, total=total, page=page, pages=pages)


def _contains(words: str) -> str:
    """An ILIKE pattern matching `words` anywhere, with LIKE's wildcards taken literally."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def sites_of(db: AsyncSession, owner_id: int) -> list[str]:
    rows = await db.scalars(
        select(Hive.site).where(Hive.owner_id == owner_id, Hive.site.is_not(None)).distinct()
    )
    return sorted(site for site in rows if site)


# The FeatureCollection is built by PostGIS and sent on as text: one statement, no Python
# objects per hive. `&&` against the envelope uses the GiST index on location; `inside` is
# MATERIALIZED so that the cap's ORDER BY id LIMIT cannot lure the planner into walking the
# primary key and filtering a whole city's hives instead. With and without a box are two
# statements, not one with an `IS NULL OR` branch: a prepared statement's generic plan (used
# after five runs on a pooled connection) could not use the index through such a branch.
_FEATURE_COLLECTION = """
    WITH inside AS MATERIALIZED (
        SELECT id, name, site, status, location
        FROM hives
        WHERE owner_id = :owner_id {within}
    ), matched AS (
        SELECT * FROM inside ORDER BY id LIMIT :cap + 1
    ), numbered AS (
        SELECT *, row_number() OVER (ORDER BY id) AS n FROM matched
    )
    SELECT {collection}
    FROM numbered
"""
_HIVE_FEATURES = feature_collection(
    feature_id="id",
    geometry="location",
    properties="'name', name, 'site', site, 'status', status",
    order="id",
    only="n <= :cap",
    members=", 'numberReturned', LEAST(count(*), :cap), 'truncated', count(*) > :cap",
)
GEOJSON = text(
    _FEATURE_COLLECTION.format(
        within=f"AND location && ST_MakeEnvelope(:west, :south, :east, :north, {SRID})",
        collection=_HIVE_FEATURES,
    )
)
GEOJSON_ALL = text(_FEATURE_COLLECTION.format(within="", collection=_HIVE_FEATURES))


async def hives_geojson(db: AsyncSession, owner_id: int, bbox: Bbox | None, cap: int) -> str:
    """The owner's hives in `bbox` (all of them without one), at most `cap`, as GeoJSON text."""
    if bbox is None:
        collection = await db.scalar(GEOJSON_ALL, {"owner_id": owner_id, "cap": cap})
    else:
        edges = {"west": bbox.west, "south": bbox.south, "east": bbox.east, "north": bbox.north}
        collection = await db.scalar(GEOJSON, {"owner_id": owner_id, "cap": cap, **edges})
    return str(collection)

"""The hives' SQL. Every query is scoped to the asker's apiaries: another's hive is not found.

One hive, for a page or an API call, comes from app/web/auth.py's `hive_for`, which asks
`hives_of`: the one statement of who may see a hive, which the list here starts from too.

A hive stands in an apiary, named on its form and in the API as its `site`: the name of one of
the asker's apiaries where they may change hives (the earliest of that name), or a new apiary
that they own, placed at the hive. Only an apiary's owners move a hive out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.geo import SRID, feature_collection, point
from app.hives.schemas import Bbox, HiveForm, HiveListQuery
from app.models import CHANGING_ROLES, Apiary, ApiaryRole, Hive
from app.web.auth import MEMBERS_HIVE, HiveView, apiaries_of, hives_of, roles_for
from app.web.i18n import N_, translate

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


UNNAMED_APIARY = N_("My apiary")


MOVE_REFUSED = N_("Only the apiary's owners can move a hive to another apiary.")


class MoveRefused(Exception):
    """A keeper tried to move a hive to another apiary, which only the apiary's owners may."""


def _values(form: HiveForm) -> dict[str, Any]:
    values = form.model_dump(exclude={"latitude", "longitude", "site"})
    values["location"] = point(form.latitude, form.longitude)
    return values


async def apiary_named(db: AsyncSession, user_id: int, form: HiveForm) -> int:
    """The apiary `form.site` names among the user's apiaries open to their changes (without a
    name, their earliest), else a new one they own, where the hive stands: the database's
    `apiary_for` (migration 0018), which the seed and the benchmarks call too."""
    found = await db.scalar(
        select(
            func.apiary_for(
                user_id,
                form.site or None,
                point(form.latitude, form.longitude),
                translate(UNNAMED_APIARY),
            )
        )
    )
    assert found is not None  # apiary_for always answers an apiary
    return int(found)


async def create_hive(db: AsyncSession, owner_id: int, form: HiveForm) -> int:
    hive_id = await add_hive(db, owner_id, form)
    await db.commit()
    return hive_id


async def add_hive(db: AsyncSession, owner_id: int, form: HiveForm) -> int:
    """A new hive in the caller's transaction (an idempotent create commits it with its key),
    added by `owner_id`, in the apiary its form names."""
    apiary_id = await apiary_named(db, owner_id, form)
    hive = Hive(owner_id=owner_id, apiary_id=apiary_id, **_values(form))
    db.add(hive)
    await db.flush()
    return hive.id


async def update_hive(db: AsyncSession, user_id: int, found: HiveView, form: HiveForm) -> None:
    """Store `form` as the hive (which `user_id` may change: see hive_for). A new apiary name
    moves it there, if the user owns the apiary it leaves (else MoveRefused, nothing changed);
    no name keeps it where it is."""
    apiary_id = found.hive.apiary_id
    if form.site and form.site != found.hive.site:
        owners = apiaries_of(user_id, [ApiaryRole.owner])
        if not await db.scalar(
            select(Hive.id).where(Hive.id == found.hive.id, Hive.apiary_id.in_(owners))
        ):
            raise MoveRefused
        apiary_id = await apiary_named(db, user_id, form)
    await db.execute(
        update(Hive)
        .where(Hive.id == found.hive.id)
        .values(**_values(form), apiary_id=apiary_id, updated_at=func.now())
    )
    await db.commit()


async def delete_hive(db: AsyncSession, hive_id: int) -> None:
    """Delete a hive that the asker owns (see hive_for's `own`)."""
    await db.execute(delete(Hive).where(Hive.id == hive_id))
    await db.commit()


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


async def sites_of(db: AsyncSession, user_id: int) -> list[str]:
    """The names of the apiaries the user may put hives in, for the form's suggestions."""
    rows = await db.scalars(
        select(Apiary.name)
        .where(Apiary.id.in_(apiaries_of(user_id, CHANGING_ROLES)), Apiary.archived_at.is_(None))
        .distinct()
    )
    return sorted(rows)


# The FeatureCollection is built by PostGIS and sent on as text: one statement, no Python
# objects per hive. `&&` against the envelope uses the GiST index on location; `inside` is
# MATERIALIZED so that the cap's ORDER BY id LIMIT cannot lure the planner into walking the
# primary key and filtering a whole city's hives instead. With and without a box are two
# statements, not one with an `IS NULL OR` branch: a prepared statement's generic plan (used
# after five runs on a pooled connection) could not use the index through such a branch.
_FEATURE_COLLECTION = """
    WITH inside AS MATERIALIZED (
        SELECT hive.id, hive.name, apiary.name AS site, hive.status, hive.location
        FROM hives AS hive JOIN apiaries AS apiary ON apiary.id = hive.apiary_id
        WHERE {members_hive} {within}
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
        members_hive=MEMBERS_HIVE,
        within=f"AND hive.location && ST_MakeEnvelope(:west, :south, :east, :north, {SRID})",
        collection=_HIVE_FEATURES,
    )
)
GEOJSON_ALL = text(
    _FEATURE_COLLECTION.format(members_hive=MEMBERS_HIVE, within="", collection=_HIVE_FEATURES)
)


async def hives_geojson(db: AsyncSession, user_id: int, bbox: Bbox | None, cap: int) -> str:
    """The hives the user may see in `bbox` (all without one), at most `cap`, as GeoJSON text."""
    asker = {"user_id": user_id, "roles": list(roles_for()), "cap": cap}
    if bbox is None:
        collection = await db.scalar(GEOJSON_ALL, asker)
    else:
        edges = {"west": bbox.west, "south": bbox.south, "east": bbox.east, "north": bbox.north}
        collection = await db.scalar(GEOJSON, {**asker, **edges})
    return str(collection)

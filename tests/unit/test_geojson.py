"""The map's GeoJSON: built by PostGIS, filtered by bbox, capped, only the owner's hives."""

from __future__ import annotations

import json
import re

import asyncpg
from geojson_pydantic import FeatureCollection
from sqlalchemy import func, null, text

from app.hives.queries import GEOJSON
from app.main import create_app
from app.models import Hive
from app.seed import add_city_hives
from tests.unit.conftest import log_in, make_user

KREUZBERG = {"west": 13.39, "south": 52.49, "east": 13.42, "north": 52.505}


def hive(
    owner_id: int, name: str, lon: float, lat: float, site: str | None = None, **fields
) -> Hive:
    """A hive of `owner_id`'s, in their apiary named `site` (else their first)."""
    location = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    return Hive(
        owner_id=owner_id,
        apiary_id=func.apiary_for(owner_id, null() if site is None else site, location, "Home"),
        name=name,
        location=location,
        frame_type="national",
        **fields,
    )


async def geojson(client, query: str = ""):
    response = await client.get(f"/hives.geojson{query}")
    return response, json.loads(await response.text())


async def test_features_are_lon_lat_rounded_and_typed_as_geojson(logged_in, db, user):
    db.add(hive(user.id, "Queen <Mab>", -0.093712345, 51.520298765, site="Roof"))
    await db.commit()
    response, collection = await geojson(logged_in)
    assert response.status == 200
    assert response.content_type == "application/geo+json"
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [-0.093712, 51.520299]}
    assert feature["properties"] == {"name": "Queen <Mab>", "site": "Roof", "status": "active"}
    assert isinstance(feature["id"], int)
    assert (collection["numberReturned"], collection["truncated"]) == (1, False)
    parsed = FeatureCollection.model_validate(collection)  # RFC 7946's structure and types
    assert parsed.features[0].geometry.coordinates.longitude == -0.093712


async def test_the_bbox_selects_what_the_map_shows(logged_in, db, user):
    db.add_all(
        [
            hive(user.id, "London", -0.1, 51.5),
            hive(user.id, "Paris", 2.35, 48.85),
            hive(user.id, "On the edge", 0.0, 52.0),
        ]
    )
    await db.commit()
    _, london = await geojson(logged_in, "?bbox=-0.5,51.0,0.0,52.0")
    assert sorted(f["properties"]["name"] for f in london["features"]) == ["London", "On the edge"]
    _, nothing = await geojson(logged_in, "?bbox=10,10,11,11")
    assert nothing["features"] == []
    assert nothing["truncated"] is False


async def test_a_bad_bbox_is_a_clear_422(logged_in):
    for bad in ("1,2,3", "a,b,c,d", "0,0,-1,1", "-200,0,0,1", "-60,-30,60,30"):
        response, problem = await geojson(logged_in, f"?bbox={bad}")
        assert response.status == 422
        assert response.content_type == "application/problem+json"
        assert problem["detail"].startswith("Invalid bbox")
    _, too_large = await geojson(logged_in, "?bbox=-60,-30,60,30")
    assert "zoom in" in too_large["detail"]


async def test_too_many_hives_are_capped_and_the_answer_says_so(aiohttp_client, settings, db):
    user = await make_user(db)
    db.add_all(hive(user.id, f"Hive {n}", -0.1 + n / 1000, 51.5) for n in range(7))
    await db.commit()
    client = await aiohttp_client(create_app(settings.model_copy(update={"map_feature_cap": 5})))
    await log_in(client)
    _, collection = await geojson(client)
    assert len(collection["features"]) == 5
    assert (collection["numberReturned"], collection["truncated"]) == (5, True)


async def test_other_peoples_hives_are_never_in_it(logged_in, db, user):
    other = await make_user(db, name="Bob", email="bob@example.org")
    db.add_all([hive(user.id, "Mine", -0.1, 51.5), hive(other.id, "Bobs", -0.1, 51.5)])
    await db.commit()
    _, collection = await geojson(logged_in, "?bbox=-1,51,1,52")
    assert [f["properties"]["name"] for f in collection["features"]] == ["Mine"]


# Every hive to one account, in one apiary of theirs (apiary_for runs once: an InitPlan).
ALL_TO = text(
    "UPDATE hives SET owner_id = :owner, apiary_id = (SELECT apiary_for(:owner, NULL,"
    " ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326), 'Home'))"
)
MEMBER = ["owner", "keeper", "viewer"]  # the roles that read a hive (MEMBERS_HIVE's :roles)


def as_literal(value: object) -> str:
    """A value written into SQL: an array of texts as ARRAY[...], anything else by repr."""
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(repr(item) for item in value) + "]"
    return repr(value)


def as_positional(sql: str) -> tuple[str, list[str]]:
    """`sql` with its :name parameters numbered $1, $2, ... as PREPARE wants, and the names."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)", number, sql), names


async def test_at_100000_hives_the_bbox_query_uses_the_spatial_index(db, user, database_url):
    # One account with the whole city's hives (a city association's, say): the owner filter
    # narrows nothing, so only the bounding box can make the query fast.
    await add_city_hives(db, 100_000)
    await db.execute(ALL_TO, {"owner": user.id})
    await db.commit()
    await db.execute(text("ANALYZE hives"))
    await db.commit()
    plan = "\n".join(
        await db.scalars(
            text("EXPLAIN " + GEOJSON.text),
            {"user_id": user.id, "roles": MEMBER, "cap": 2000, **KREUZBERG},
        )
    )
    assert "ix_hives_location" in plan, plan

    # A pooled connection runs the statement prepared, and after five runs PostgreSQL may use
    # a generic plan, made without the box's values: that plan must use the index too.
    names: list[str] = []
    positional = re.sub(
        r"(?<![:\w]):([a-z_]+)",
        lambda m: (
            f"${(names.append(m[1]) if m[1] not in names else None) or names.index(m[1]) + 1}"
        ),
        GEOJSON.text,
    )
    values = {"user_id": user.id, "roles": MEMBER, "cap": 2000, **KREUZBERG}
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE map_in_box AS {positional}")
        arguments = ", ".join(as_literal(values[name]) for name in names)
        rows = await conn.fetch(f"EXPLAIN EXECUTE map_in_box({arguments})")
        generic = "\n".join(row[0] for row in rows)
    finally:
        await conn.close()
    assert "ix_hives_location" in generic, generic


async def test_the_bbox_returns_exactly_the_hives_inside(logged_in, db, user):
    await add_city_hives(db, 2_000, seed=7)
    await db.execute(ALL_TO, {"owner": user.id})
    await db.commit()
    inside = set(
        await db.scalars(
            text(
                "SELECT id FROM hives WHERE ST_X(location) BETWEEN :west AND :east "
                "AND ST_Y(location) BETWEEN :south AND :north"
            ),
            KREUZBERG,
        )
    )
    bbox = ",".join(str(KREUZBERG[edge]) for edge in ("west", "south", "east", "north"))
    _, collection = await geojson(logged_in, f"?bbox={bbox}")
    assert 0 < len(inside) < 2_000
    assert {feature["id"] for feature in collection["features"]} == inside

"""The city layer's public side: the density map and its privacy, city statistics, and the
forage pressure shown when a beekeeper places a hive."""

from __future__ import annotations

import asyncio
import json
import math
import re
from datetime import date
from decimal import Decimal

import pytest
from geojson_pydantic import FeatureCollection
from sqlalchemy import func, select, text, update

from app.city import cache, queries
from app.city.grid import EDGE_M, HexGrid
from app.city.queries import ForagePressure
from app.main import create_app
from app.models import Harvest, HarvestShare, Hive, HiveStatus, SwarmOutcome, SwarmReport
from app.seed import add_city_hives
from app.settings import Settings
from tests.unit.conftest import csrf_token, log_in, make_user

GRID = HexGrid.for_area(Settings().service_bounds)
SPOT = (52.5219, 13.4132)  # latitude, longitude: Alexanderplatz


def hive(owner_id: int, lon: float, lat: float, status: str = "active") -> Hive:
    return Hive(
        owner_id=owner_id,
        name="Hive",
        location=func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326),
        frame_type="national",
        status=HiveStatus(status),
    )


async def density(client) -> tuple[object, dict]:
    response = await client.get("/city/density.geojson")
    return response, json.loads(await response.text())


def exact_hexagon(feature: dict) -> str:
    """PostGIS's own hexagon for the feature's cell (its id is "i:j"), scaled to degrees: the
    polygon to count in, independently of how the app assigned hives to cells."""
    i, j = (int(part) for part in feature["id"].split(":"))
    return (
        f"ST_SetSRID(ST_Scale(ST_Hexagon({GRID.edge_m}, {i}, {j}), "
        f"1 / {GRID.metres_per_degree_lon}, 1 / {GRID.metres_per_degree_lat}), 4326)"
    )


async def active_hives_in(db, polygon: str) -> int:
    covered = f"ST_Covers({polygon}, location)"
    query = f"SELECT count(*) FROM hives WHERE status = 'active' AND {covered}"  # noqa: S608
    return await db.scalar(text(query))


# --- the density map ---------------------------------------------------------------------------


async def test_the_city_map_is_public(client):
    response = await client.get("/city")
    page = await response.text()
    assert response.status == 200
    assert 'data-map="density" data-geojson-url="/city/density.geojson"' in page
    assert "fewer than 3 colonies" in page
    fragment = await (await client.get("/city", headers={"HX-Request": "true"})).text()
    assert "<html" not in fragment
    assert 'data-map="density"' in fragment


async def test_the_density_layer_hides_small_counts_and_adds_up(client, db):
    """At 3,000 hives around Berlin: no hexagon says fewer than 3, every count is what PostGIS
    finds in that hexagon, and the hexagons together hold every active hive in the area."""
    await add_city_hives(db, 3_000, seed=11)
    await db.execute(text("UPDATE hives SET status = 'dead_out' WHERE id % 10 = 0"))
    owner = await db.scalar(select(Hive.owner_id).limit(1))
    db.add(hive(owner, 2.3522, 48.8566))  # Paris: outside the service area
    await db.commit()

    response, collection = await density(client)
    assert response.status == 200
    assert response.content_type == "application/geo+json"
    FeatureCollection.model_validate(collection)
    features = collection["features"]
    assert (collection["minimumCount"], collection["hexagonAreaKm2"]) == (3, 1)

    total = 0
    banded = 0
    for feature in features:
        properties = feature["properties"]
        assert set(properties) == {"count", "band"}  # nothing that could name a hive
        inside = await active_hives_in(db, exact_hexagon(feature))
        total += inside
        if properties["count"] is None:
            assert properties["band"] == "1-2"
            assert inside in (1, 2)
            banded += 1
        else:
            assert properties["count"] >= 3
            assert properties["count"] == inside
    in_area = await db.scalar(
        text(
            "SELECT count(*) FROM hives WHERE status = 'active' "
            "AND location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
        ),
        dict(zip("wsen", Settings().service_bounds, strict=True)),
    )
    assert in_area == 2_700
    assert total == in_area
    assert banded > 0  # the privacy rule was exercised, not just vacuous
    assert len({feature["id"] for feature in features}) == len(features)


async def test_published_hexagons_are_postgis_cells_of_about_a_square_kilometre(client, db, user):
    db.add(hive(user.id, SPOT[1], SPOT[0]))
    await db.commit()
    _, collection = await density(client)
    [feature] = collection["features"]
    published = json.dumps(feature["geometry"])
    distance, area = (
        await db.execute(
            text(
                f"SELECT ST_HausdorffDistance(ST_GeomFromGeoJSON(:g), {exact_hexagon(feature)}), "
                "ST_Area(ST_GeomFromGeoJSON(:g)::geography)"
            ),
            {"g": published},
        )
    ).one()
    assert distance < 1e-6  # six decimals of a degree
    assert 0.99e6 < area < 1.01e6  # m²
    assert pytest.approx(620.4, abs=0.1) == EDGE_M


@pytest.fixture
async def uncached(aiohttp_client, settings):
    """A client of an app that makes the density layer afresh for every request."""
    return await aiohttp_client(
        create_app(settings.model_copy(update={"density_cache_seconds": 0}))
    )


async def test_one_or_two_colonies_are_a_band_and_three_a_count(uncached, db, user):
    client = uncached
    db.add(hive(user.id, SPOT[1], SPOT[0]))
    db.add(hive(user.id, SPOT[1], SPOT[0], status="dead_out"))  # only active colonies count
    await db.commit()
    _, collection = await density(client)
    assert [f["properties"] for f in collection["features"]] == [{"count": None, "band": "1-2"}]
    db.add_all([hive(user.id, SPOT[1] + 0.0001, SPOT[0]), hive(user.id, SPOT[1], SPOT[0] + 1e-4)])
    await db.commit()
    _, collection = await density(client)
    assert [f["properties"] for f in collection["features"]] == [{"count": 3, "band": "3-5"}]


async def test_an_empty_city_is_an_empty_collection(client):
    _, collection = await density(client)
    assert collection["features"] == []


async def test_shared_caches_keep_the_layer_only_without_a_new_session(client):
    first, _ = await density(client)  # a first visit: this answer sets the session cookie
    assert first.headers["Cache-Control"] in ("private, max-age=60", "private, max-age=59")
    assert "Set-Cookie" in first.headers
    again, _ = await density(client)
    assert again.headers["Cache-Control"].startswith("public, max-age=")
    assert "Set-Cookie" not in again.headers


async def test_each_app_keeps_the_layer_for_a_minute(client, db, user, monkeypatch):
    """Mocked: the clock. Spied on: how often the layer is made."""
    made = []
    real = queries.density_geojson

    async def counted(*args, **kwargs):
        made.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(queries, "density_geojson", counted)
    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])

    await density(client)
    db.add(hive(user.id, SPOT[1], SPOT[0]))
    await db.commit()
    now[0] += 30
    response, collection = await density(client)
    assert collection["features"] == []  # kept: the map may be a minute behind
    assert response.headers["Cache-Control"].endswith("max-age=30")

    now[0] += 31  # stale: made again, once for many requests arriving together
    answers = await asyncio.gather(*(density(client) for _ in range(5)))
    assert all(len(collection["features"]) == 1 for _, collection in answers)
    assert len(made) == 2


# --- city statistics ---------------------------------------------------------------------------


async def test_city_statistics_are_aggregates_of_this_season(client, db):
    ada = await make_user(db)
    bob = await make_user(db, name="Bob", email="bob@example.org")
    hives = [hive(ada.id, 13.40, 52.52), hive(ada.id, 13.41, 52.52), hive(bob.id, 13.42, 52.5)]
    db.add_all([*hives, hive(bob.id, 13.42, 52.5, status="dead_out"), hive(bob.id, 2.35, 48.85)])
    await db.commit()
    outcomes = (SwarmOutcome.collected, SwarmOutcome.collected, SwarmOutcome.gone, None)
    for number, outcome in enumerate(outcomes):
        db.add(
            SwarmReport(
                location=func.ST_SetSRID(func.ST_MakePoint(13.4, 52.5), 4326),
                seen_at=func.now(),
                height="ground",
                size="small",
                description="A swarm",
                contact="+49 30 1234567",
                status_token_hash=f"token {number}",
                reporter_address="127.0.0.1",
                status="closed" if outcome else "open",
                outcome=outcome,
                expires_at=func.now(),
            )
        )
    await db.commit()

    page = await (await client.get("/city/stats")).text()
    assert f"City statistics {date.today().year}" in page
    stat = dict(re.findall(r'data-stat="([a-z-]+)">([^<]+)<', page))
    assert stat == {
        "colonies": "3",
        "beekeepers": "2",
        "swarms-reported": "4",
        "swarms-collected": "2",
        "harvest-per-colony": "Not enough harvests yet",
    }
    month = date.today().strftime("%B")
    assert f"<title>{month}: 4 reported</title>" in page
    assert f"<title>{month}: 2 collected</title>" in page
    assert "style=" not in page  # the chart is SVG attributes and CSS classes, CSP-clean

    # Harvested colonies: shown once three or more make the mean nobody's own figure.
    harvest = Harvest(owner_id=ada.id, harvested_on=date.today(), total_kg=Decimal("60"))
    db.add(harvest)
    await db.flush()
    for kg, each in zip(("10", "20"), hives, strict=False):
        db.add(HarvestShare(harvest_id=harvest.id, hive_id=each.id, kg=Decimal(kg)))
    await db.commit()
    page = await (await client.get("/city/stats")).text()
    assert "Not enough harvests yet" in page
    db.add(HarvestShare(harvest_id=harvest.id, hive_id=hives[2].id, kg=Decimal("30")))
    await db.commit()
    page = await (await client.get("/city/stats")).text()
    assert 'data-stat="harvest-per-colony">20.0 kg<' in page


async def test_city_statistics_as_a_fragment(client):
    fragment = await (await client.get("/city/stats", headers={"HX-Request": "true"})).text()
    assert fragment.startswith('<section aria-labelledby="stats-title">')


# --- forage pressure ---------------------------------------------------------------------------


def ring(owner_id: int, count: int, metres: float = 150) -> list[Hive]:
    """`count` hives on a circle of `metres` around SPOT."""
    lat, lon = SPOT
    return [
        hive(
            owner_id,
            lon + metres * math.cos(2 * math.pi * n / count) / GRID.metres_per_degree_lon,
            lat + metres * math.sin(2 * math.pi * n / count) / GRID.metres_per_degree_lat,
        )
        for n in range(count)
    ]


async def forage(client, query: str, **headers: str):
    response = await client.get(f"/city/forage?{query}", headers=headers)
    return response, await response.text()


async def test_forage_pressure_warns_above_the_threshold_but_never_blocks(logged_in, db, user):
    other = await make_user(db, name="Bob", email="bob@example.org")
    db.add_all(ring(other.id, 15))
    await db.commit()
    here = f"latitude={SPOT[0]}&longitude={SPOT[1]}"
    response, fragment = await forage(logged_in, here, **{"HX-Request": "true"})
    assert response.status == 200
    assert '<strong data-colonies="15">15 colonies</strong>' in fragment
    assert "With one more: 5.1 colonies per km²" in fragment
    assert "forage-warning" in fragment
    assert "<html" not in fragment

    db.add_all(ring(other.id, 15, metres=5_000))  # beyond the forage radius
    await db.execute(update(Hive).where(Hive.id <= 3).values(status=HiveStatus.dead_out))
    await db.commit()
    _, fragment = await forage(logged_in, here, **{"HX-Request": "true"})
    assert '<strong data-colonies="12">12 colonies</strong>' in fragment
    assert "forage-warning" not in fragment  # 13 / 3.14 km² = 4.1 per km²

    # The warning informs: a hive is still added in a crowded spot.
    token = await csrf_token(logged_in, "/hives/new")
    response = await logged_in.post(
        "/hives",
        data={
            "name": "Crowded",
            "latitude": str(SPOT[0]),
            "longitude": str(SPOT[1]),
            "frame_type": "national",
            "status": "active",
            "_csrf": token,
        },
        allow_redirects=False,
    )
    assert response.status == 303


async def test_the_hive_being_moved_does_not_count_against_itself(logged_in, db, user):
    other = await make_user(db, name="Bob", email="bob@example.org")
    mine, theirs = hive(user.id, SPOT[1], SPOT[0]), hive(other.id, SPOT[1], SPOT[0])
    db.add_all([mine, theirs])
    await db.commit()
    here = f"latitude={SPOT[0]}&longitude={SPOT[1]}"
    headers = {"HX-Request": "true"}
    assert 'data-colonies="2"' in (await forage(logged_in, here, **headers))[1]
    assert 'data-colonies="1"' in (await forage(logged_in, f"{here}&hive={mine.id}", **headers))[1]
    # Another's hive is never left out: that would tell whether it stands near the spot.
    assert (
        'data-colonies="2"' in (await forage(logged_in, f"{here}&hive={theirs.id}", **headers))[1]
    )


def hexagon_centre_near(latitude: float, longitude: float) -> tuple[float, float]:
    """The centre of a grid hexagon close to the point (PostGIS's layout: column i at x =
    1.5 edge i, odd columns half a row up)."""
    i = round(longitude * GRID.metres_per_degree_lon / (1.5 * GRID.edge_m))
    height = math.sqrt(3) * GRID.edge_m
    j = round(latitude * GRID.metres_per_degree_lat / height - (i & 1) / 2)
    x, y = 1.5 * GRID.edge_m * i, height * (j + (i & 1) / 2)
    return y / GRID.metres_per_degree_lat, x / GRID.metres_per_degree_lon


async def test_forage_is_counted_around_the_hexagon_not_the_exact_spot(logged_in, db, user):
    """Exact circles around spots of one's choosing would find a hive where the count changes;
    around the hexagon's centre, every spot in a hexagon gets the same answer."""
    latitude, longitude = hexagon_centre_near(*SPOT)
    lat_ring = [
        hive(user.id, longitude, latitude + north * 950 / GRID.metres_per_degree_lat)
        for north in (1, -1)
    ]
    db.add_all(lat_ring)
    await db.commit()
    answers = []
    for north in (0, 100, 200):  # metres from the centre, all inside its hexagon
        spot = latitude + north / GRID.metres_per_degree_lat
        _, page = await forage(logged_in, f"latitude={spot}&longitude={longitude}")
        answers.append(re.search(r'data-colonies="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert answers == ["2", "2", "2"]  # from 200 m north, the south hive is 1,150 m away


async def test_the_forage_page_works_without_javascript(logged_in):
    response, page = await forage(logged_in, "")
    assert response.status == 200
    assert '<form class="card form" action="/city/forage" method="get"' in page
    assert "Place the hive to see how many colonies" in page
    response, page = await forage(logged_in, "latitude=95&longitude=13.4&hive=7")
    assert response.status == 422
    assert 'id="latitude-error"' in page
    assert '<input type="hidden" name="hive" value="7">' in page
    response, fragment = await forage(
        logged_in, "latitude=95&longitude=13.4", **{"HX-Request": "true"}
    )
    assert response.status == 200  # the hive form itself says what is wrong
    assert "Check the coordinates" in fragment
    response, page = await forage(logged_in, f"latitude={SPOT[0]}&longitude={SPOT[1]}")
    assert response.status == 200
    assert 'data-colonies="0"' in page


async def test_forage_pressure_is_for_signed_in_beekeepers(client):
    response = await client.get("/city/forage?latitude=52.5&longitude=13.4", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login")


async def test_the_hive_form_asks_for_forage_pressure_as_the_spot_changes(logged_in, db, user):
    page = await (await logged_in.get("/hives/new")).text()
    assert (
        'hx-get="/city/forage" hx-trigger="load, change from:#latitude, change from:#longitude"'
        in page
    )
    assert "hx-vals" not in page
    assert 'hx-disabled-elt="unset"' in page  # a forage request must not disable Add hive
    db.add(hive(user.id, SPOT[1], SPOT[0]))
    await db.commit()
    hive_id = await db.scalar(select(Hive.id))
    page = await (await logged_in.get(f"/hives/{hive_id}/edit")).text()
    assert f'hx-vals=\'{{"hive": "{hive_id}"}}\'' in page
    assert (
        f'href="/city/forage?latitude={SPOT[0]:.6f}&amp;longitude={SPOT[1]:.6f}&amp;hive={hive_id}"'
        in page
    )


def test_forage_pressure_per_square_kilometre():
    pressure = ForagePressure(colonies=14, radius_m=1000, threshold_per_km2=5)
    assert pressure.area_km2 == pytest.approx(math.pi)
    assert pressure.per_km2_with_new == pytest.approx(15 / math.pi)
    assert not pressure.too_crowded
    assert ForagePressure(colonies=15, radius_m=1000, threshold_per_km2=5).too_crowded


async def test_only_the_signed_in_see_the_nav_links_they_can_use(
    client, aiohttp_client, settings, db
):
    page = await (await client.get("/")).text()
    assert '<a href="/swarms/report">Report a swarm</a>' in page
    assert '<a href="/city">City</a>' in page
    await make_user(db)
    other = await aiohttp_client(create_app(settings))
    await log_in(other)
    page = await (await other.get("/city")).text()
    assert '<a href="/city" aria-current="page">City</a>' in page


async def test_forage_pressure_counts_through_the_spatial_index(db):
    await add_city_hives(db, 5_000, seed=3)
    await db.execute(text("ANALYZE hives"))
    await db.commit()
    values = {
        **GRID.parameters(),
        "latitude": SPOT[0],
        "longitude": SPOT[1],
        "radius": 1000,
        "exclude_hive_id": 0,
        "owner_id": 0,
    }
    plan = "\n".join(await db.scalars(text("EXPLAIN " + queries.FORAGE.text), values))
    assert "ix_hives_location" in plan, plan

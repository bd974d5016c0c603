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
from sqlalchemy import func, null, select, text, update

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
    location = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    return Hive(
        owner_id=owner_id,
        apiary_id=func.apiary_for(owner_id, null(), location, "Home"),
        name="Hive",
        location=location,
        frame_type="national",
        status=HiveStatus(status),
    )


async def beekeepers(db, count: int, first: int = 1) -> list[int]:
    """The ids of `count` new beekeepers (named Keeper <first>, Keeper <first + 1>, ...)."""
    users = [
        await make_user(db, name=f"Keeper {n}", email=f"keeper{n}@example.org")
        for n in range(first, first + count)
    ]
    return [each.id for each in users]


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


async def active_hives_in(db, polygon: str) -> tuple[int, int]:
    """The active hives in the polygon, and how many beekeepers they belong to."""
    covered = f"ST_Covers({polygon}, location)"
    query = (
        "SELECT count(*), count(DISTINCT owner_id) FROM hives "  # noqa: S608
        f"WHERE status = 'active' AND {covered}"
    )
    colonies, keepers = (await db.execute(text(query))).one()
    return colonies, keepers


# --- the density map ---------------------------------------------------------------------------


async def test_the_city_map_is_public(client):
    response = await client.get("/city")
    page = await response.text()
    assert response.status == 200
    assert 'data-map="density" data-geojson-url="/city/density.geojson"' in page
    assert "where fewer than 4 beekeepers keep bees" in page
    fragment = await (await client.get("/city", headers={"HX-Request": "true"})).text()
    assert "<html" not in fragment
    assert 'data-map="density"' in fragment


async def test_the_density_layer_hides_small_counts_and_adds_up(client, db):
    """At 3,000 hives around Berlin: a hexagon says a count only when at least 4 beekeepers keep
    bees in it, every count is what PostGIS finds in that hexagon, and the hexagons together
    hold every active hive in the area."""
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
    assert (collection["minimumBeekeepers"], collection["hexagonAreaKm2"]) == (4, 1)

    total = 0
    banded = 0
    for feature in features:
        properties = feature["properties"]
        assert set(properties) == {"count", "band"}  # nothing that could name a hive
        inside, keepers = await active_hives_in(db, exact_hexagon(feature))
        total += inside
        if properties["count"] is None:
            assert properties["band"] == "few"
            assert 1 <= keepers < 4
            banded += 1
        else:
            assert keepers >= 4
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


async def test_a_hexagon_is_counted_only_once_four_beekeepers_keep_bees_in_it(uncached, db):
    """Changed with issue 13: three colonies of one beekeeper used to be a count, "3"."""
    client = uncached
    first, *others = await beekeepers(db, 4)
    db.add(hive(first, SPOT[1], SPOT[0]))
    db.add(hive(first, SPOT[1], SPOT[0], status="dead_out"))  # only active colonies count
    await db.commit()
    _, collection = await density(client)
    assert [f["properties"] for f in collection["features"]] == [{"count": None, "band": "few"}]
    db.add_all([hive(first, SPOT[1] + 0.0001, SPOT[0]), hive(first, SPOT[1], SPOT[0] + 1e-4)])
    db.add_all(hive(owner, SPOT[1], SPOT[0]) for owner in others[:2])
    await db.commit()
    _, collection = await density(client)  # five colonies, three beekeepers
    assert [f["properties"] for f in collection["features"]] == [{"count": None, "band": "few"}]
    db.add(hive(others[2], SPOT[1], SPOT[0]))
    await db.commit()
    _, collection = await density(client)
    assert [f["properties"] for f in collection["features"]] == [{"count": 6, "band": "6-10"}]


async def test_the_members_of_one_shared_apiary_count_as_one_beekeeper(uncached, db):
    """Four members of one apiary, each adding a hive in one hexagon, all know those hives: as
    four beekeepers, the published count minus theirs would be the outsiders' colonies there."""
    members = await beekeepers(db, 4)
    db.add(hive(members[0], SPOT[1], SPOT[0]))
    await db.commit()
    apiary = await db.scalar(select(Hive.apiary_id))
    for member in members[1:]:
        await db.execute(
            text("INSERT INTO apiary_members (apiary_id, user_id, role) VALUES (:a, :u, 'keeper')"),
            {"a": apiary, "u": member},
        )
        db.add(
            Hive(
                owner_id=member,
                apiary_id=apiary,
                name="Shared",
                location=func.ST_SetSRID(func.ST_MakePoint(SPOT[1], SPOT[0]), 4326),
                frame_type="national",
            )
        )
    await db.commit()
    _, collection = await density(uncached)
    assert [f["properties"] for f in collection["features"]] == [{"count": None, "band": "few"}]


async def test_an_empty_city_is_an_empty_collection(client):
    _, collection = await density(client)
    assert collection["features"] == []


async def test_shared_caches_keep_the_layer_which_never_sets_a_cookie(client):
    """The layer runs without a session (issue 13, item 14), so even a first visit's answer
    carries no cookie and is public."""
    first, _ = await density(client)
    assert first.headers["Cache-Control"] in ("public, max-age=60", "public, max-age=59")
    assert "Set-Cookie" not in first.headers
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


def stats_of(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-stat="([a-z-]+)">([^<]+)<', page))


async def harvest(db, owner_id: int, *shares: tuple[Hive, str]) -> None:
    """A harvest of today by `owner_id`, in kg per hive."""
    made = Harvest(owner_id=owner_id, harvested_on=date.today(), total_kg=Decimal("0"))
    db.add(made)
    await db.flush()
    for each, kg in shares:
        db.add(HarvestShare(harvest_id=made.id, hive_id=each.id, kg=Decimal(kg)))
    await db.commit()


async def test_city_statistics_are_aggregates_of_this_season(uncached, db):
    """Changed with issue 13: the colonies are the map's published counts added up, and the
    honey is shown once four beekeepers (not three colonies) have harvested."""
    client = uncached
    keepers = await beekeepers(db, 5)
    hives = [hive(owner, 13.40, 52.52) for owner in keepers[:4]]  # one hexagon, four beekeepers
    db.add_all([*hives, hive(keepers[4], 13.30, 52.45)])  # a hexagon of one beekeeper
    db.add_all([hive(keepers[0], 13.40, 52.52, status="dead_out"), hive(keepers[0], 2.35, 48.85)])
    await db.commit()
    outcomes = (SwarmOutcome.collected, SwarmOutcome.collected, SwarmOutcome.gone, None)
    await add_swarm_reports(db, outcomes)

    page = await (await client.get("/city/stats")).text()
    assert f"City statistics {date.today().year}" in page
    assert stats_of(page) == {
        "colonies": "4",
        "few-hexagons": "1",
        "beekeepers": "5",
        "swarms-reported": "4",
        "swarms-collected": "2",
        "harvest-per-colony": "Not enough harvests yet",
    }
    month = date.today().strftime("%B")
    assert f"<title>{month}: 4 reported</title>" in page
    assert f"<title>{month}: 2 collected</title>" in page
    assert "style=" not in page  # the chart is SVG attributes and CSS classes, CSP-clean

    # Honey: shown once four beekeepers have harvested, so that whoever asks, it is the mean of
    # at least three others'.
    for owner, each, kg in zip(keepers[:3], hives, ("10", "20", "30"), strict=False):
        await harvest(db, owner, (each, kg))
    page = await (await client.get("/city/stats")).text()
    assert stats_of(page)["harvest-per-colony"] == "Not enough harvests yet"
    await harvest(db, keepers[3], (hives[3], "40"))
    page = await (await client.get("/city/stats")).text()
    assert stats_of(page)["harvest-per-colony"] == "25.0 kg"


async def test_each_app_keeps_the_statistics_for_a_minute(client, db):
    page = await (await client.get("/city/stats")).text()
    assert stats_of(page)["few-hexagons"] == "0"
    owner, *_ = await beekeepers(db, 1)
    db.add(hive(owner, SPOT[1], SPOT[0]))
    await db.commit()
    page = await (await client.get("/city/stats")).text()
    assert stats_of(page)["few-hexagons"] == "0"  # the same answer for everyone, for a while


async def test_city_statistics_as_a_fragment(client):
    fragment = await (await client.get("/city/stats", headers={"HX-Request": "true"})).text()
    assert fragment.startswith('<section aria-labelledby="stats-title">')


# --- forage pressure ---------------------------------------------------------------------------


def hexagon_centre_near(latitude: float, longitude: float) -> tuple[float, float]:
    """The centre of a grid hexagon close to the point (PostGIS's layout: column i at x =
    1.5 edge i, odd columns half a row up)."""
    i = round(longitude * GRID.metres_per_degree_lon / (1.5 * GRID.edge_m))
    height = math.sqrt(3) * GRID.edge_m
    j = round(latitude * GRID.metres_per_degree_lat / height - (i & 1) / 2)
    x, y = 1.5 * GRID.edge_m * i, height * (j + (i & 1) / 2)
    return y / GRID.metres_per_degree_lat, x / GRID.metres_per_degree_lon


CENTRE = hexagon_centre_near(*SPOT)  # latitude, longitude of the hexagon around SPOT


def moved(place: tuple[float, float], east: float = 0, north: float = 0) -> tuple[float, float]:
    """`place` (latitude, longitude) moved by so many metres."""
    latitude, longitude = place
    return (
        latitude + north / GRID.metres_per_degree_lat,
        longitude + east / GRID.metres_per_degree_lon,
    )


def ring(owners: list[int], count: int, metres: float = 150) -> list[Hive]:
    """`count` hives on a circle of `metres` around CENTRE, their owners taken in turn."""
    lat, lon = CENTRE
    return [
        hive(
            owners[n % len(owners)],
            lon + metres * math.cos(2 * math.pi * n / count) / GRID.metres_per_degree_lon,
            lat + metres * math.sin(2 * math.pi * n / count) / GRID.metres_per_degree_lat,
        )
        for n in range(count)
    ]


async def forage(client, query: str, **headers: str):
    response = await client.get(f"/city/forage?{query}", headers=headers)
    return response, await response.text()


def at(place: tuple[float, float]) -> str:
    return f"latitude={place[0]}&longitude={place[1]}"


def colonies_in(page: str) -> str:
    return re.search(r'data-colonies="(\d+)"', page).group(1)  # type: ignore[union-attr]


async def test_forage_pressure_warns_above_the_threshold_but_never_blocks(logged_in, db, user):
    others = await beekeepers(db, 4)
    db.add_all(ring(others, 15))
    await db.commit()
    here = at(CENTRE)
    response, fragment = await forage(logged_in, here, **{"HX-Request": "true"})
    assert response.status == 200
    assert '<strong data-colonies="15">15 colonies</strong>' in fragment
    assert "With one more: 5.1 colonies per km²" in fragment
    assert "forage-warning" in fragment
    assert "<html" not in fragment

    db.add_all(ring(others, 15, metres=5_000))  # beyond the forage radius
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
            "latitude": str(CENTRE[0]),
            "longitude": str(CENTRE[1]),
            "frame_type": "national",
            "status": "active",
            "_csrf": token,
        },
        allow_redirects=False,
    )
    assert response.status == 303


async def test_the_hive_being_moved_does_not_count_against_itself(logged_in, db, user):
    others = await beekeepers(db, 3)
    mine = hive(user.id, CENTRE[1], CENTRE[0])
    theirs = [hive(owner, CENTRE[1], CENTRE[0]) for owner in others]
    db.add_all([mine, *theirs])
    await db.commit()
    here = at(CENTRE)
    headers = {"HX-Request": "true"}
    assert colonies_in((await forage(logged_in, here, **headers))[1]) == "4"
    assert colonies_in((await forage(logged_in, f"{here}&hive={mine.id}", **headers))[1]) == "3"
    # Another's hive is never left out: that would tell whether it stands near the spot.
    page = (await forage(logged_in, f"{here}&hive={theirs[0].id}", **headers))[1]
    assert colonies_in(page) == "4"


# A neighbouring hexagon's share of the forage circle (1 km around a hexagon's centre): the
# circle holds the whole centre hexagon (its corners are 620 m out) and reaches into the six
# around it, equally, and no further.
NEIGHBOUR_SHARE = (math.pi - 1) / 6


async def test_forage_is_counted_around_the_hexagon_not_the_exact_spot(logged_in, db, user):
    """Exact circles around spots of one's choosing would find a hive where the count changes;
    around the hexagon's centre, every spot in a hexagon gets the same answer. Each hexagon
    the circle reaches adds its count times the share of it inside the circle."""
    others = await beekeepers(db, 4)
    height = math.sqrt(3) * GRID.edge_m  # from one hexagon's centre to the next one's
    for north in (height, -height):
        place = moved(CENTRE, north=north)
        db.add_all(hive(owner, place[1], place[0]) for owner in others)
    await db.commit()
    answers = []
    for north in (0, 100, 200):  # metres from the centre, all inside its hexagon
        _, page = await forage(logged_in, at(moved(CENTRE, north=north)))
        answers.append(colonies_in(page))
    assert answers == [str(round(8 * NEIGHBOUR_SHARE))] * 3


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
    pressure = ForagePressure(colonies=14, few_hexagons=0, radius_m=1000, threshold_per_km2=5)
    assert pressure.area_km2 == pytest.approx(math.pi)
    assert pressure.per_km2_with_new == pytest.approx(15 / math.pi)
    assert not pressure.too_crowded
    assert ForagePressure(15, few_hexagons=2, radius_m=1000, threshold_per_km2=5).too_crowded


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
        "user_id": 0,
        "roles": ["owner", "keeper", "viewer"],
        **dict(zip(("west", "south", "east", "north"), Settings().service_bounds, strict=True)),
    }
    plan = "\n".join(await db.scalars(text("EXPLAIN " + queries.FORAGE.text), values))
    assert "ix_hives_location" in plan, plan


# --- issue 13: an attacker with an account, hives and harvests of their own --------------------
#
# The guarantee (docs/security.md, items 2-3): every answer about colonies is made from the
# published hexagons only, the same for every asker, and a hexagon's count is published only when
# at least three beekeepers other than any one asker keep bees in it.


def hive_at(owner_id: int, place: tuple[float, float]) -> Hive:
    return hive(owner_id, place[1], place[0])


# The six hexagons around one, flat-topped: their centres are √3 edges away, every 60° from 30°.
NEIGHBOURS = [
    (
        math.sqrt(3) * GRID.edge_m * math.cos(math.radians(30 + 60 * n)),
        math.sqrt(3) * GRID.edge_m * math.sin(math.radians(30 + 60 * n)),
    )
    for n in range(6)
]


def what_forage_says(page: str) -> tuple[str, str]:
    """The colonies counted and the hexagons of a few colonies that a forage answer names."""
    few = re.search(r'data-few-hexagons="(\d+)"', page)
    return colonies_in(page), few.group(1) if few else "0"


async def test_item2_seven_overlapping_forage_answers_cannot_locate_a_lone_hive(
    logged_in, db, user
):
    """A lone hive stands somewhere in a hexagon; the attacker asks about that hexagon and the
    six around it, whose forage circles overlap. Wherever in its hexagon the hive stands (350 m
    east of the centre, or 350 m west), all seven answers are the same, none counts the hive,
    and each says only that a hexagon nearby holds a few colonies: what the map says."""
    victim, *_ = await beekeepers(db, 1)
    lone = hive_at(victim, moved(CENTRE, east=350))
    db.add(lone)
    await db.commit()
    spots = [CENTRE, *(moved(CENTRE, east=x, north=y) for x, y in NEIGHBOURS)]

    async def seven_answers() -> list[tuple[str, str]]:
        return [what_forage_says((await forage(logged_in, at(spot)))[1]) for spot in spots]

    east = await seven_answers()
    west = moved(CENTRE, east=-350)
    await db.execute(
        update(Hive)
        .where(Hive.id == lone.id)
        .values(location=func.ST_SetSRID(func.ST_MakePoint(west[1], west[0]), 4326))
    )
    await db.commit()
    assert await seven_answers() == east == [("0", "1")] * 7


async def test_item2_forage_look_ups_are_rate_limited_per_account(
    aiohttp_client, settings, db, user
):
    """Eight look-ups sent at once by one account with a limit of five: five answered, three
    refused with 429 and Retry-After; another account still gets its answer."""
    await make_user(db, name="Bob", email="bob@example.org")
    limited = settings.model_copy(
        update={"forage_lookups_per_user": 5, "forage_lookup_window_seconds": 600}
    )
    attacker = await aiohttp_client(create_app(limited))
    await log_in(attacker, user.email)
    other = await aiohttp_client(create_app(limited))
    await log_in(other, "bob@example.org")

    answers = await asyncio.gather(
        *(
            forage(attacker, at(moved(CENTRE, east=100 * n)), **{"HX-Request": "true"})
            for n in range(8)
        )
    )
    statuses = sorted(response.status for response, _ in answers)
    assert statuses == [200] * 5 + [429] * 3
    for response, fragment in answers:
        if response.status == 429:
            assert 0 < int(response.headers["Retry-After"]) <= 600
            assert "You have checked many spots in a short time" in fragment
            assert "data-colonies" not in fragment
    response, _ = await forage(other, at(CENTRE))
    assert response.status == 200


async def test_item2_the_city_colonies_are_the_map_counts_added_up(uncached, db):
    """A lone hive in one hexagon, four beekeepers' hives in another: the city's colonies say
    4, not 5, or the statistics minus the map would count the lone hive."""
    client = uncached
    lone_keeper, *keepers = await beekeepers(db, 5)
    db.add(hive_at(lone_keeper, moved(CENTRE, east=5_000)))
    db.add_all(hive_at(owner, CENTRE) for owner in keepers)
    await db.commit()
    page = await (await client.get("/city/stats")).text()
    assert (stats_of(page)["colonies"], stats_of(page).get("few-hexagons")) == ("4", "1")
    _, collection = await density(client)
    assert sorted(str(f["properties"]["count"]) for f in collection["features"]) == ["4", "None"]


async def test_item3_own_hives_never_turn_a_few_hexagon_into_a_count(
    aiohttp_client, settings, db, user
):
    """A beekeeper keeps one hive in a hexagon. The attacker (signed in) adds hives of their own
    to it, one by one: the map, forage pressure and statistics say "a few" all along, the same
    to the attacker as to a visitor, so the difference never counts the beekeeper's colonies.
    With a second beekeeper the hexagon still says "a few"; only with a third other beekeeper
    is there a count, and then it covers the colonies of three beekeepers besides the attacker."""
    uncached = settings.model_copy(update={"density_cache_seconds": 0})
    attacker = await aiohttp_client(create_app(uncached))
    await log_in(attacker, user.email)
    visitor = await aiohttp_client(create_app(uncached))
    first, second, third = await beekeepers(db, 3)
    db.add(hive_at(first, moved(CENTRE, north=200)))
    await db.commit()

    async def answers() -> tuple[list[int | None], tuple[str, str | None], tuple[str, str]]:
        _, seen = await density(attacker)
        _, public = await density(visitor)
        assert seen == public  # the same answer to everyone: nothing to difference
        stats = stats_of(await (await attacker.get("/city/stats")).text())
        assert stats_of(await (await visitor.get("/city/stats")).text()) == stats
        forage_says = what_forage_says((await forage(attacker, at(CENTRE)))[1])
        counts = [feature["properties"]["count"] for feature in seen["features"]]
        return counts, (stats["colonies"], stats.get("few-hexagons")), forage_says

    for own in range(1, 6):
        db.add(hive_at(user.id, moved(CENTRE, east=10 * own)))
        await db.commit()
        assert await answers() == ([None], ("0", "1"), ("0", "1")), own

    db.add(hive_at(second, moved(CENTRE, north=-200)))
    await db.commit()
    assert await answers() == ([None], ("0", "1"), ("0", "1"))

    db.add(hive_at(third, CENTRE))
    await db.commit()  # three beekeepers besides the attacker: 5 of theirs, 3 of the others'
    assert await answers() == ([8], ("8", "0"), ("8", "0"))


async def test_item3_a_large_harvest_of_ones_own_does_not_reveal_the_citys_honey(
    uncached, db, user
):
    """One beekeeper harvested two colonies, 12 and 18 kg. The attacker adds a harvest of
    1,000 kg from a colony of their own, then from two more: the mean per colony is never shown,
    so 3 times the mean less 1,000 can never give the other beekeeper's 30 kg."""
    client = uncached
    victim, *_ = await beekeepers(db, 1)
    theirs = [hive_at(victim, CENTRE), hive_at(victim, moved(CENTRE, north=50))]
    mine = [hive_at(user.id, moved(CENTRE, east=50 * n)) for n in range(1, 4)]
    db.add_all([*theirs, *mine])
    await db.commit()
    await harvest(db, victim, (theirs[0], "12"), (theirs[1], "18"))
    for count in range(1, 4):
        await harvest(db, user.id, *((each, "1000") for each in mine[:count]))
        page = await (await client.get("/city/stats")).text()
        assert stats_of(page)["harvest-per-colony"] == "Not enough harvests yet", count


# --- in the reader's language ------------------------------------------------------------------

GERMAN_MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]
FRENCH_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


async def test_city_statistics_in_german_with_german_month_names(uncached, db):
    client = uncached
    await add_swarm_reports(db, (SwarmOutcome.collected, None, None))
    month = date.today().month - 1

    response = await client.get("/city/stats", headers={"Accept-Language": "de-DE,de;q=0.9"})
    page = await response.text()
    assert response.headers["Content-Language"] == "de"
    assert f"Stadtstatistik {date.today().year}" in page
    assert "<dt>Aktive Imker</dt>" in page
    assert f"<title>{GERMAN_MONTHS[month]}: 3 gemeldet</title>" in page
    assert f"<title>{GERMAN_MONTHS[month]}: 1 eingefangen</title>" in page
    assert '<th scope="col">Mär</th>' in page  # the table's months, as German shortens them
    assert '<th scope="col">Dez</th>' in page
    assert '<span class="chart-key chart-key--reported">gemeldet</span>' in page
    assert "Schwärme nach Monat" in page
    assert "reported</title>" not in page

    client.session.cookie_jar.update_cookies({"cityhive_lang": "fr"})
    page = await (await client.get("/city/stats")).text()
    assert f"Statistiques de la ville {date.today().year}" in page
    assert f"<title>{FRENCH_MONTHS[month]}\u00a0: 1 récupéré</title>" in page
    assert '<th scope="col">janv.</th>' in page


async def test_forage_pressure_in_german_with_decimal_commas(logged_in, db, user):
    others = await beekeepers(db, 4)
    db.add_all(ring(others, 15))
    await db.commit()
    logged_in.session.cookie_jar.update_cookies({"cityhive_lang": "de"})
    response, page = await forage(logged_in, at(CENTRE))
    assert response.status == 200
    assert "<h1>Wie stark ist die Tracht hier schon genutzt?</h1>" in page
    assert '<strong data-colonies="15">15 Völker</strong> sammeln bereits' in page
    assert "(3,1 km²)" in page
    assert "Mit einem weiteren: 5,1 Völker je km²." in page
    assert "Bei mehr als 5 Völkern je km²" in page
    assert "already forage" not in page


async def add_swarm_reports(db, outcomes) -> None:
    """A swarm report this season for each outcome: closed with it, or open (None)."""
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

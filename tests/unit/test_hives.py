"""Hives: create, read, update, retire, delete, list and search, and nobody sees another's hive."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.hives.queries import PER_PAGE
from app.main import create_app
from app.models import Hive, HiveStatus
from tests.unit.conftest import csrf_token, log_in, make_user

HIVE = {
    "name": "Queen Mab",
    "latitude": "51.520200",
    "longitude": "-0.093700",
    "site": "Barbican roof",
    "frame_type": "national",
    "origin": "swarm",
    "status": "active",
    "installed_on": "2025-05-11",
    "notes": "Gentle colony.",
}


async def add_hive(client, **fields: str):
    token = await csrf_token(client, "/hives/new")
    return await client.post(
        "/hives", data={**HIVE, **fields, "_csrf": token}, allow_redirects=False
    )


async def new_hive_id(client, **fields: str) -> int:
    response = await add_hive(client, **fields)
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def stored(db, hive_id: int) -> tuple[Hive, str]:
    row = (
        await db.execute(select(Hive, func.ST_AsText(Hive.location)).where(Hive.id == hive_id))
    ).one()
    await db.refresh(row[0])
    return row[0], row[1]


async def test_adding_a_hive_stores_it_where_it_stands(logged_in, db, user):
    hive_id = await new_hive_id(logged_in)
    hive, point = await stored(db, hive_id)
    assert (hive.owner_id, hive.name, hive.site) == (user.id, "Queen Mab", "Barbican roof")
    assert point == "POINT(-0.0937 51.5202)"  # lon, lat
    assert hive.installed_on == date(2025, 5, 11)
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert '<h1 id="hive-title">Queen Mab</h1>' in page
    assert 'data-lat="51.520200" data-lon="-0.093700"' in page
    assert "Gentle colony." in page


async def test_decimal_commas_and_blank_optional_fields_are_understood(logged_in, db):
    hive_id = await new_hive_id(
        logged_in, latitude="51,5", longitude="-0,1", site=" ", origin="", installed_on=""
    )
    hive, point = await stored(db, hive_id)
    assert point == "POINT(-0.1 51.5)"
    assert (hive.site, hive.origin, hive.installed_on) == (None, None, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latitude", "91", "Input should be less than or equal to 90."),
        ("longitude", "-181", "Input should be greater than or equal to -180."),
        ("latitude", "north", "Input should be a valid number"),
        ("name", "", "This field is required."),
        ("frame_type", "hexagonal", "Input should be"),
        ("installed_on", (date.today() + timedelta(days=2)).isoformat(), "cannot be in the future"),
    ],
)
async def test_bad_hive_fields_are_refused_with_a_message(logged_in, db, field, value, message):
    response = await add_hive(logged_in, **{field: value})
    body = await response.text()
    assert response.status == 422
    assert f'id="{field}-error"' in body
    assert message in body
    assert await db.scalar(select(func.count()).select_from(Hive)) == 0


async def test_null_island_is_not_a_place_for_a_hive(logged_in):
    response = await add_hive(logged_in, latitude="0", longitude="0")
    assert response.status == 422
    assert "both 0" in await response.text()


async def test_editing_retires_a_hive_and_keeps_it(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    form = await (await logged_in.get(f"/hives/{hive_id}/edit")).text()
    assert 'value="51.520200"' in form
    assert '<option value="national" selected>' in form
    token = await csrf_token(logged_in, f"/hives/{hive_id}/edit")
    response = await logged_in.post(
        f"/hives/{hive_id}/edit",
        data={**HIVE, "status": "dead_out", "latitude": "51.53", "_csrf": token},
        allow_redirects=False,
    )
    assert response.headers["Location"] == f"/hives/{hive_id}"
    hive, point = await stored(db, hive_id)
    assert hive.status == HiveStatus.dead_out
    assert point == "POINT(-0.0937 51.53)"


async def test_an_invalid_edit_changes_nothing(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    token = await csrf_token(logged_in, f"/hives/{hive_id}/edit")
    response = await logged_in.post(
        f"/hives/{hive_id}/edit", data={**HIVE, "name": "", "latitude": "99", "_csrf": token}
    )
    assert response.status == 422
    hive, point = await stored(db, hive_id)
    assert hive.name == "Queen Mab"
    assert point == "POINT(-0.0937 51.5202)"


async def test_deleting_asks_first_then_removes_the_hive(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    confirm = await (await logged_in.get(f"/hives/{hive_id}/delete")).text()
    assert "Delete Queen Mab?" in confirm
    assert await db.scalar(select(func.count()).select_from(Hive)) == 1
    token = await csrf_token(logged_in, f"/hives/{hive_id}/delete")
    response = await logged_in.post(
        f"/hives/{hive_id}/delete", data={"_csrf": token}, allow_redirects=False
    )
    assert response.headers["Location"] == "/hives"
    assert await db.scalar(select(func.count()).select_from(Hive)) == 0


async def test_another_users_hive_does_not_exist_for_them(logged_in, db, aiohttp_client, settings):
    hive_id = await new_hive_id(logged_in)
    await make_user(db, name="Mallory", email="mallory@example.org")
    other = await aiohttp_client(create_app(settings))
    await log_in(other, "mallory@example.org")
    token = await csrf_token(other, "/profile")
    for path in ("", "/card", "/edit", "/delete"):
        assert (await other.get(f"/hives/{hive_id}{path}")).status == 404
    for path in ("/edit", "/delete"):
        response = await other.post(f"/hives/{hive_id}{path}", data={**HIVE, "_csrf": token})
        assert response.status == 404
    hive, _ = await stored(db, hive_id)
    assert hive.name == "Queen Mab"
    geojson = json.loads(await (await other.get("/hives.geojson")).text())
    assert geojson["features"] == []


async def test_anonymous_visitors_are_sent_to_log_in_and_get_401_for_geojson(
    logged_in, aiohttp_client, settings
):
    """As from every signed-in page: the hive's pages send them to log in (and back), without
    a word of the hive; another user's hive is a 404 (the access matrix)."""
    hive_id = await new_hive_id(logged_in)
    anonymous = await aiohttp_client(create_app(settings))
    for path in ("", "/card", "/edit", "/delete"):
        response = await anonymous.get(f"/hives/{hive_id}{path}", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == f"/login?next=/hives/{hive_id}{path}"
        assert "Queen Mab" not in await response.text()
    geojson = await anonymous.get("/hives.geojson")
    assert geojson.status == 401
    assert geojson.content_type == "application/problem+json"
    listing = await anonymous.get("/hives", allow_redirects=False)
    assert listing.headers["Location"] == "/login?next=/hives"


async def test_the_list_searches_filters_sorts_and_keeps_it_in_the_url(logged_in):
    await new_hive_id(logged_in, name="Alpha", site="Roof")
    await new_hive_id(logged_in, name="Bravo", site="Allotment", status="sold")
    await new_hive_id(logged_in, name="Charlie", site="Roof", notes="calm 100% of the time")

    async def names(query: str, **headers: str) -> list[str]:
        body = await (await logged_in.get(f"/hives?{query}", headers=headers)).text()
        return [n for n in ("Alpha", "Bravo", "Charlie") if f">{n}</a>" in body]

    assert await names("") == ["Alpha", "Bravo", "Charlie"]
    assert await names("q=brav") == ["Bravo"]
    assert await names("q=roof") == ["Alpha", "Charlie"]  # the site matches too
    assert await names("q=100%25") == ["Charlie"]  # % is a character, not a wildcard
    assert await names("site=Roof&status=active") == ["Alpha", "Charlie"]
    assert await names("status=sold") == ["Bravo"]
    page = await (await logged_in.get("/hives?sort=-name&q=a")).text()
    assert page.index(">Charlie</a>") < page.index(">Bravo</a>") < page.index(">Alpha</a>")
    assert 'value="a"' in page  # the search box keeps what was typed
    assert '<option value="-name" selected>' in page
    assert await names("status=nonsense&sort=sideways") == ["Alpha", "Bravo", "Charlie"]


async def test_active_search_gets_only_the_results_fragment(logged_in):
    await new_hive_id(logged_in, name="Alpha")
    response = await logged_in.get("/hives?q=alp", headers={"HX-Request": "true"})
    body = await response.text()
    assert body.lstrip().startswith('<section id="hive-results"')
    assert ">Alpha</a>" in body
    assert "<html" not in body
    assert response.headers["Vary"] == "HX-Request"
    tidy = await logged_in.get(
        "/hives?q=alp&site=&status=&sort=name&page=1", headers={"HX-Request": "true"}
    )
    assert tidy.headers["HX-Push-Url"] == "/hives?q=alp"  # defaults left out of the address


async def test_pagination_links_keep_the_search(logged_in, db, user):
    db.add_all(
        Hive(
            owner_id=user.id,
            name=f"Hive {n:02d}",
            location=func.ST_SetSRID(func.ST_MakePoint(-0.1, 51.5), 4326),
            frame_type="langstroth",
        )
        for n in range(PER_PAGE + 5)
    )
    await db.commit()
    first = await (await logged_in.get("/hives?q=hive")).text()
    assert f"{PER_PAGE + 5} hives, page 1 of 2" in first
    assert 'href="/hives?q=hive&amp;page=2" rel="next"' in first
    second = await (await logged_in.get("/hives?q=hive&page=2")).text()
    assert ">Hive 24</a>" in second
    assert ">Hive 00</a>" not in second
    assert 'href="/hives?q=hive" rel="prev"' in second


async def test_the_map_page_needs_a_log_in_and_names_its_tiles(logged_in, settings):
    page = await (await logged_in.get("/map")).text()
    assert 'data-map="hives"' in page
    assert f'data-tile-url="{settings.tile_url}"' in page
    csp = (await logged_in.get("/map")).headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp

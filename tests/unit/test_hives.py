"""Hives: create, read, update, retire, delete, list and search, and nobody sees another's hive."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from app.hives.queries import PER_PAGE
from app.main import create_app
from app.models import Harvest, HarvestShare, Hive, HiveStatus, Inspection
from tests.unit.conftest import apiary_of, csrf_token, log_in, make_user

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
    # no site: the beekeeper's first apiary, made for the hive where it stands
    assert (hive.site, hive.origin, hive.installed_on) == ("My apiary", None, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latitude", "91", "Enter 90 or less."),
        ("longitude", "-181", "Enter -180 or more."),
        ("latitude", "north", "Enter a number."),
        ("name", "", "This field is required."),
        ("frame_type", "hexagonal", "Choose one of the options."),
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
    # the page differs by htmx, and by the browser's language where no choice was made
    assert response.headers["Vary"] == "HX-Request, Accept-Encoding, Accept-Language"
    tidy = await logged_in.get(
        "/hives?q=alp&site=&status=&sort=name&page=1", headers={"HX-Request": "true"}
    )
    assert tidy.headers["HX-Push-Url"] == "/hives?q=alp"  # defaults left out of the address


async def test_pagination_links_keep_the_search(logged_in, db, user):
    apiary = await apiary_of(db, user.id)
    db.add_all(
        Hive(
            owner_id=user.id,
            apiary_id=apiary,
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


# --- In German and in French ------------------------------------------------------------------

GERMAN = {"cityhive_lang": "de"}
FRENCH = {"cityhive_lang": "fr"}


async def test_the_hive_list_speaks_german_and_french(logged_in):
    await new_hive_id(logged_in, name="Alpha")
    await new_hive_id(logged_in, name="Bravo", site="", status="sold")
    german = await (await logged_in.get("/hives", cookies=GERMAN)).text()
    assert "<h1>Ihre Völker</h1>" in german
    assert "2 Völker" in german
    assert '<option value="">Alle Standorte</option>' in german
    assert '<option value="-installed">Neueste zuerst</option>' in german
    assert 'placeholder="Name, Standort oder Notizen"' in german
    # Bravo, without a site, went into the apiary Alpha's site made: a name, shown as given
    assert german.count('<span class="hive-site">Barbican roof</span>') == 2
    assert '<span class="badge badge--sold">Verkauft</span>' in german
    assert '<option value="sold">Verkauft</option>' in german  # the value stays English
    french = await (await logged_in.get("/hives?q=brav", cookies=FRENCH)).text()
    assert "<h1>Vos colonies</h1>" in french
    assert "1 colonie" in french
    assert '<option value="">Tous les ruchers</option>' in french
    assert '<span class="hive-site">Barbican roof</span>' in french
    assert '<span class="badge badge--sold">Vendue</span>' in french
    both = await (await logged_in.get("/hives", cookies=FRENCH)).text()
    assert "2 colonies" in both
    none = await (await logged_in.get("/hives?q=zulu", cookies=GERMAN)).text()
    assert "Keine Völker gefunden." in none


async def test_the_hive_form_speaks_german_and_french_and_refuses_in_german(logged_in, db):
    form = await (await logged_in.get("/hives/new", cookies=GERMAN)).text()
    assert "<h1>Volk hinzufügen</h1>" in form
    assert '<label for="frame_type">Rähmchenmaß</label>' in form
    assert '<option value="top_bar">Oberträger</option>' in form
    assert '<option value="nucleus">Begattungsableger</option>' in form
    assert '<option value="">Unbekannt</option>' in form
    assert "-90 bis 90, z. B. 51,5203" in form
    token = await csrf_token(logged_in, "/hives/new")
    future = (date.today() + timedelta(days=2)).isoformat()
    response = await logged_in.post(
        "/hives", data={**HIVE, "installed_on": future, "_csrf": token}, cookies=GERMAN
    )
    body = await response.text()
    assert response.status == 422
    assert (
        '<p class="error" id="installed_on-error">'
        "Das Aufstelldatum darf nicht in der Zukunft liegen.</p>"
    ) in body
    assert '<label for="installed_on">Aufgestellt am</label>' in body
    island = await logged_in.post(
        "/hives", data={**HIVE, "latitude": "0", "longitude": "0", "_csrf": token}, cookies=GERMAN
    )
    assert "Breiten- und Längengrad sind beide 0" in await island.text()
    french = await logged_in.post(
        "/hives", data={**HIVE, "installed_on": future, "_csrf": token}, cookies=FRENCH
    )
    assert "La date d&#39;installation ne peut pas être dans le futur." in await french.text()
    assert await db.scalar(select(func.count()).select_from(Hive)) == 0
    hive_id = await new_hive_id(logged_in)
    edit = await (await logged_in.get(f"/hives/{hive_id}/edit", cookies=FRENCH)).text()
    assert "<h1>Modifier Queen Mab</h1>" in edit
    assert "Enregistrer les modifications" in edit
    confirm = await (await logged_in.get(f"/hives/{hive_id}/delete", cookies=GERMAN)).text()
    assert "Queen Mab löschen?" in confirm


async def test_a_hives_page_speaks_german_and_french(logged_in):
    hive_id = await new_hive_id(logged_in, frame_type="top_bar", origin="nucleus")
    german = await (await logged_in.get(f"/hives/{hive_id}", cookies=GERMAN)).text()
    assert '<span class="badge badge--active">Aktiv</span>' in german
    assert 'aria-label="Wo Queen Mab steht"' in german
    assert "<dt>Rähmchenmaß</dt><dd>Oberträger</dd>" in german
    assert "<dt>Herkunft des Volkes</dt><dd>Begattungsableger</dd>" in german
    assert "<dt>Aufgestellt</dt><dd>11. Mai 2025</dd>" in german
    assert "<dd>51,52020; -0,09370</dd>" in german  # decimal commas, so not a comma between
    assert ">Bearbeiten</a>" in german
    french = await (await logged_in.get(f"/hives/{hive_id}", cookies=FRENCH)).text()
    assert "<dt>Type de cadre</dt><dd>Barrettes</dd>" in french
    assert "<dt>Installée</dt><dd>11 mai 2025</dd>" in french
    assert '<dt>Rucher</dt><dd><a href="/apiaries/' in french
    card = await (await logged_in.get(f"/hives/{hive_id}/card", cookies=FRENCH)).text()
    assert '<span class="badge badge--active">Active</span>' in card
    assert ">Ouvrir</a>" in card


async def test_today_and_the_welcome_speak_german_and_french(
    logged_in, db, user, aiohttp_client, settings
):
    hive_id = await new_hive_id(logged_in)
    harvest = Harvest(owner_id=user.id, harvested_on=date.today(), total_kg=Decimal("23.5"))
    db.add_all(
        [
            Inspection(hive_id=hive_id, scheduled_for=date(2024, 11, 26)),
            Inspection(hive_id=hive_id, done_at=datetime(2024, 11, 20, 13, 5, tzinfo=UTC)),
            harvest,
        ]
    )
    await db.flush()
    db.add(HarvestShare(harvest_id=harvest.id, hive_id=hive_id, kg=Decimal("23.5")))
    await db.commit()
    today = datetime.now(settings.zone).date()
    german = await (await logged_in.get("/", cookies=GERMAN)).text()
    assert "Guten Tag, Ada Beekeeper" in german
    day = format_date(today, "EEE, d. MMMM y", locale="de_DE")
    assert f"Heute ist {day}. Sie betreuen 1 Volk." in german
    assert "<h3>Überfällig</h3>" in german
    assert '<span class="due__when">Di., 26. November 2024</span>' in german
    assert ">Als erledigt markieren</button>" in german
    assert "Zuletzt durchgesehen: 20. November 2024" in german
    assert '<a href="/harvests">23,50 kg</a> Honig aus 1 Ernte.' in german
    assert f"Saison {today.year}" in german
    assert '<span class="badge badge--active">aktiv</span>' in german
    french = await (await logged_in.get("/", cookies=FRENCH)).text()
    assert "Bonjour, Ada Beekeeper" in french
    assert "Vous avez 1 colonie." in french
    assert '<span class="due__when">mar. 26 novembre 2024</span>' in french
    assert "Dernière visite\u00a0: 20 novembre 2024" in french
    assert '<a href="/harvests">23,50 kg</a> de miel en 1 récolte.' in french
    visitor = await aiohttp_client(create_app(settings))
    welcome = await (await visitor.get("/", headers={"Accept-Language": "de-DE"})).text()
    assert "Imkern in der Stadt" in welcome
    bienvenue = await (await visitor.get("/", cookies=FRENCH)).text()
    assert "L'apiculture en ville" in bienvenue

"""Harvests over one or several hives, season totals, and refusals that save nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.models import Harvest, HarvestShare
from tests.unit.conftest import csrf_token, log_in, make_user
from tests.unit.test_hives import new_hive_id


async def log_harvest(client, hive_ids, key: str | None = None, **fields: str):
    token = await csrf_token(client, "/harvests/new")
    data = [("harvested_on", date.today().isoformat()), ("_csrf", token)]
    data += [("hive_ids", str(hive)) for hive in hive_ids]
    data += list(fields.items())
    if key:
        data.append(("idempotency_key", key))
    return await client.post("/harvests", data=data, allow_redirects=False)


async def shares(db) -> dict[int, Decimal]:
    """Each hive's kg over all harvests, as stored."""
    rows = await db.execute(
        select(HarvestShare.hive_id, func.sum(HarvestShare.kg)).group_by(HarvestShare.hive_id)
    )
    return dict(rows.all())


async def test_an_even_split_shares_the_total_to_the_gram(logged_in, db):
    hives = [await new_hive_id(logged_in, name=name) for name in ("A", "B", "C")]
    response = await log_harvest(
        logged_in, hives, split="even", total_kg="10", frames="9", moisture_pct="17,4",
        honey_kind="Lime", quality='{"hmf_mg_kg": 8}',
    )  # fmt: skip
    assert response.status == 303, await response.text()
    assert await shares(db) == {
        hives[0]: Decimal("3.34"),
        hives[1]: Decimal("3.33"),
        hives[2]: Decimal("3.33"),
    }
    harvest = await db.scalar(select(Harvest))
    assert (harvest.total_kg, harvest.frames, harvest.moisture_pct, harvest.quality) == (
        Decimal("10.00"),
        9,
        Decimal("17.4"),
        {"hmf_mg_kg": 8},
    )
    page = await (await logged_in.get(response.headers["Location"])).text()
    assert "10.00 kg" in page
    assert "Lime" in page
    assert "hmf_mg_kg" in page


async def test_a_split_by_weight_takes_each_hives_kg_and_the_totals_add_up(logged_in, db):
    north = await new_hive_id(logged_in, name="North", site="Roof")
    south = await new_hive_id(logged_in, name="South", site="Roof")
    garden = await new_hive_id(logged_in, name="Garden", site="Allotment")
    await log_harvest(
        logged_in, [north, south], split="weight", **{f"kg_{north}": "12.5", f"kg_{south}": "7"}
    )
    await log_harvest(logged_in, [garden, north], split="even", total_kg="4")
    assert await shares(db) == {
        north: Decimal("14.50"),
        south: Decimal("7.00"),
        garden: Decimal("2.00"),
    }
    page = await (await logged_in.get("/harvests")).text()
    assert "23.50 kg this season" in page
    per_site = page.split("<caption>Per site</caption>")[1].split("</table>")[0]
    assert "Roof</td><td>21.50 kg" in per_site
    assert "Allotment</td><td>2.00 kg" in per_site
    hive_page = await (await logged_in.get(f"/hives/{north}")).text()
    assert "12.50 kg of 19.50 kg" in hive_page
    today = await (await logged_in.get("/")).text()
    assert "23.50 kg</a> of honey from 2 harvests" in today


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"split": "even", "total_kg": "-1"}, "total_kg", "Enter 0 or more."),
        ({"split": "even"}, "total_kg", "Say how many kg were taken"),
        ({"split": "weight"}, "kg_by_hive", "Give the kg for every chosen hive"),
        (
            {
                "split": "even",
                "total_kg": "3",
                "harvested_on": (date.today() + timedelta(days=9)).isoformat(),
            },
            "harvested_on",
            "cannot be dated in the future",
        ),
        ({"split": "even", "total_kg": "3", "quality": "not json"}, "quality", "JSON object"),
    ],
)
async def test_bad_harvests_are_refused_and_nothing_is_saved(logged_in, db, fields, field, message):
    hive_id = await new_hive_id(logged_in)
    response = await log_harvest(logged_in, [hive_id], **fields)
    assert response.status == 422
    page = await response.text()
    assert message in page
    assert await db.scalar(select(Harvest)) is None


async def test_no_hive_chosen_is_refused(logged_in, db):
    response = await log_harvest(logged_in, [], split="even", total_kg="2")
    assert response.status == 422
    page = await response.text()
    assert '<p class="error" id="hive_ids-error">Choose at least one.</p>' in page
    assert "List should have" not in page  # pydantic's own words never reach a reader


async def test_another_users_hive_cannot_take_part_in_a_harvest(client, db, user):
    await log_in(client, user.email)
    theirs = await new_hive_id(client)
    await make_user(db, name="Bea", email="bea@example.org")
    client.session.cookie_jar.clear()
    await log_in(client, "bea@example.org")
    mine = await new_hive_id(client)
    response = await log_harvest(client, [mine, theirs], split="even", total_kg="2")
    assert response.status == 404
    assert await db.scalar(select(Harvest)) is None


async def test_a_double_submitted_harvest_is_stored_once(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    key = "harvest-0001-double-tap"
    first = await log_harvest(logged_in, [hive_id], key=key, split="even", total_kg="5")
    second = await log_harvest(logged_in, [hive_id], key=key, split="even", total_kg="5")
    assert second.status == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert len((await db.scalars(select(Harvest))).all()) == 1


async def test_deleting_a_harvest(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    response = await log_harvest(logged_in, [hive_id], split="even", total_kg="5")
    harvest_path = response.headers["Location"]
    token = await csrf_token(logged_in, harvest_path)
    deleted = await logged_in.post(
        f"{harvest_path}/delete", data={"_csrf": token}, allow_redirects=False
    )
    assert deleted.status == 303
    assert (await logged_in.get(harvest_path)).status == 404
    assert await shares(db) == {}


async def test_the_harvest_form_preselects_the_hive_it_came_from(logged_in):
    hive_id = await new_hive_id(logged_in, name="Queen Mab")
    page = await (await logged_in.get(f"/harvests/new?hive={hive_id}")).text()
    assert f'value="{hive_id}" checked' in page
    assert 'data-outbox="harvest"' in page
    assert 'data-outbox-label="Harvest · Queen Mab"' in page


async def test_past_seasons_are_browsable(logged_in):
    page = await (await logged_in.get(f"/harvests?season={date.today().year - 1}")).text()
    assert f"Season {date.today().year - 1}" in page
    assert "0.00 kg this season" in page


async def test_the_seasons_lead_back_only_to_the_first_one_with_a_harvest(logged_in):
    this_year = date.today().year
    page = await (await logged_in.get("/harvests")).text()
    assert "/harvests?season=" not in page  # no harvest yet: no season to go back to

    hive_id = await new_hive_id(logged_in)
    token = await csrf_token(logged_in, "/harvests/new")
    two_years_ago = date(this_year - 2, 7, 1).isoformat()
    saved = await logged_in.post(
        "/harvests",
        data=[
            ("_csrf", token),
            ("harvested_on", two_years_ago),
            ("hive_ids", str(hive_id)),
            ("split", "even"),
            ("total_kg", "10"),
        ],
        allow_redirects=False,
    )
    assert saved.status == 303
    page = await (await logged_in.get(f"/harvests?season={this_year - 1}")).text()
    assert f"/harvests?season={this_year - 2}" in page
    first = await (await logged_in.get(f"/harvests?season={this_year - 2}")).text()
    assert f"/harvests?season={this_year - 3}" not in first
    assert f"/harvests?season={this_year - 1}" in first

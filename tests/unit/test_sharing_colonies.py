"""Colonies, queens and their events in a shared apiary: read by every member through the
hive, recorded by owners and keepers under their own name; a viewer's changes are 404, and a
member taken out of the apiary finds none of it."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts import queries as key_queries
from app.models import Colony, ColonyEvent, Hive, Queen
from app.web.api import new_key
from tests.unit.test_colonies import colony_with_hive, event
from tests.unit.test_hives import new_hive_id
from tests.unit.test_sharing_inspections import member_client, post, remove

SPRING = "2025-06-10"


async def test_a_viewer_reads_colonies_but_records_no_event(
    logged_in, aiohttp_client, settings, db
):
    hive_id, colony_id = await colony_with_hive(logged_in, name="Acacia")
    assert (
        await event(logged_in, colony_id, "requeen", happened_on=SPRING, year="2025")
    ).status == 303
    queen_id = await db.scalar(select(Queen.id))
    empty_hive = await new_hive_id(logged_in, name="Empty")  # same apiary as Acacia
    viewer, vic = await member_client(aiohttp_client, settings, db, hive_id, "viewer", "Vic")

    page = await viewer.get(f"/colonies/{colony_id}")
    assert page.status == 200
    text = await page.text()
    assert "Recorded by" in text
    assert "Ada Beekeeper" in text
    assert f"/colonies/{colony_id}/requeen" not in text
    assert f"/queens/{queen_id}/edit" not in text
    assert f"/colonies/{colony_id}" in await (await viewer.get("/colonies")).text()
    assert (
        f"/colonies/{colony_id}/split" not in await (await viewer.get(f"/hives/{hive_id}")).text()
    )

    refused = {
        "form": await viewer.get(f"/colonies/{colony_id}/requeen"),
        "requeen": await post(
            viewer, f"/colonies/{colony_id}/requeen", [("happened_on", SPRING), ("year", "2025")]
        ),
        "start": await post(viewer, f"/hives/{empty_hive}/colony/new", [("happened_on", SPRING)]),
        "queen": await viewer.get(f"/queens/{queen_id}/edit"),
        "boxes": await post(viewer, f"/hives/{hive_id}/boxes", [("brood_boxes", "2")]),
    }
    assert {name: answer.status for name, answer in refused.items()} == dict.fromkeys(refused, 404)
    assert await db.scalar(select(func.count()).select_from(Queen)) == 1
    assert await db.scalar(select(func.count()).select_from(Colony)) == 1

    made = new_key()
    await key_queries.create_key(db, vic.id, name="k", prefix=made.prefix, key_hash=made.hash)
    auth = {"Authorization": f"Bearer {made.key}"}
    listed = await (await viewer.get("/api/v1/colonies", headers=auth)).json()
    assert [item["id"] for item in listed["items"]] == [colony_id]
    body = {"kind": "died", "colony_id": colony_id, "happened_on": SPRING}
    assert (await viewer.post("/api/v1/colony-events", json=body, headers=auth)).status == 404


async def test_a_keeper_records_events_under_their_own_name(
    logged_in, aiohttp_client, settings, db, user
):
    hive_id, colony_id = await colony_with_hive(logged_in, name="Acacia")
    keeper, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    answer = await post(
        keeper, f"/colonies/{colony_id}/requeen", [("happened_on", SPRING), ("year", "2025")]
    )
    assert answer.status == 303, await answer.text()
    queen = (await db.scalars(select(Queen))).one()
    assert queen.owner_id == kim.id
    answer = await post(
        keeper, f"/colonies/{colony_id}/split",
        [("happened_on", "2025-07-01"), ("new_hive_name", "Acacia II")],
    )  # fmt: skip
    assert answer.status == 303, await answer.text()
    daughter = await db.scalar(select(Colony).where(Colony.id != colony_id))
    new_hive = await db.scalar(select(Hive).where(Hive.name == "Acacia II"))
    mother_hive = await db.get(Hive, hive_id)
    assert (daughter.owner_id, new_hive.owner_id) == (kim.id, kim.id)
    assert new_hive.apiary_id == mother_hive.apiary_id  # beside the mother, in her apiary
    page = await (await logged_in.get(f"/colonies/{daughter.id}")).text()
    assert "Recorded by" in page
    assert "Kim" in page
    tree = await (await logged_in.get(f"/colonies/{colony_id}")).text()
    assert f"/colonies/{daughter.id}" in tree  # the owner's family tree holds Kim's split
    # each of Kim's events says so, on the colony's page and on the hive's timeline
    events = await db.scalars(select(ColonyEvent).where(ColonyEvent.colony_id == colony_id))
    assert {e.kind.value: e.recorded_by for e in events} == {
        "started": user.id,  # Ada started the colony
        "requeen": kim.id,
        "split": kim.id,
    }
    timeline = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert timeline.count('<span class="recorded-by">by Kim</span>') >= 2


async def test_a_member_taken_out_of_the_apiary_finds_no_colony(
    logged_in, aiohttp_client, settings, db
):
    hive_id, colony_id = await colony_with_hive(logged_in, name="Acacia")
    keeper, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    assert (await keeper.get(f"/colonies/{colony_id}")).status == 200
    await remove(db, kim)
    assert (await keeper.get(f"/colonies/{colony_id}")).status == 404
    assert f"/colonies/{colony_id}" not in await (await keeper.get("/colonies")).text()
    answer = await post(keeper, f"/colonies/{colony_id}/died", [("happened_on", SPRING)])
    assert answer.status == 404

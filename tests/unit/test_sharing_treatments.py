"""Treatments in a shared apiary: every member reads them and the register lists them; owners
and keepers treat, from their own medicine stock and under their own name; a viewer's changes
are 404, and so is everything for a member taken out of the apiary. Medicine stock stays its
buyer's."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Treatment
from tests.unit.test_hives import new_hive_id
from tests.unit.test_sharing_inspections import member_client, remove
from tests.unit.test_treatments import TODAY, ago, buy, post_form, treat


async def strips_treatment(client, hive_id: int) -> int:
    """Strips put in five days ago by the client's user, from a batch they buy now."""
    purchase_id = await buy(client, product="Apivar", unit="strips", quantity="10")
    response = await treat(
        client, [hive_id], purchase_id, method="strips", quantity="2", started_on=ago(5),
        duration_days="3", withdrawal_days="0",
    )  # fmt: skip
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def test_a_viewer_reads_treatments_and_the_register_but_changes_nothing(
    logged_in, aiohttp_client, settings, db
):
    hive_id = await new_hive_id(logged_in, name="Acacia")
    treatment_id = await strips_treatment(logged_in, hive_id)
    purchase_id = await db.scalar(select(Treatment.purchase_id))
    viewer, _ = await member_client(aiohttp_client, settings, db, hive_id, "viewer", "Vic")

    page = await viewer.get(f"/treatments/{treatment_id}")
    assert page.status == 200
    text = await page.text()
    assert "Recorded by" in text
    assert "Ada Beekeeper" in text
    assert 'id="strips-form"' not in text  # the strips are the keepers' to take out
    assert "Acacia" in await (await viewer.get("/treatments")).text()  # the register
    hive_page = await (await viewer.get(f"/hives/{hive_id}")).text()
    assert f'href="/treatments/{treatment_id}"' in hive_page
    assert f"/treatments/new?hive={hive_id}" not in hive_page

    out = await post_form(
        viewer, f"/treatments/{treatment_id}/strips-removed", "/treatments",
        {"removed_on": TODAY.isoformat()},
    )  # fmt: skip
    assert out.status == 404
    assert (await viewer.get(f"/medicines/{purchase_id}")).status == 404  # Ada's own stock
    own_batch = await buy(viewer)
    refused = await treat(viewer, [hive_id], own_batch)
    assert refused.status == 404
    offered = await (await viewer.get("/treatments/new")).text()
    assert f'name="hive_ids" value="{hive_id}"' not in offered
    treatment = await db.get(Treatment, treatment_id)
    await db.refresh(treatment)
    assert treatment.strips_removed_on is None
    assert await db.scalar(select(Treatment.id).where(Treatment.id != treatment_id)) is None


async def test_a_keeper_treats_from_their_own_stock_under_their_own_name(
    logged_in, aiohttp_client, settings, db
):
    hive_id = await new_hive_id(logged_in, name="Acacia")
    keeper, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    ada_batch = await buy(logged_in)
    assert (await treat(keeper, [hive_id], ada_batch)).status == 404  # not Kim's batch
    treatment_id = await strips_treatment(keeper, hive_id)
    treatment = await db.get(Treatment, treatment_id)
    assert treatment.owner_id == kim.id
    seen_by_owner = await (await logged_in.get(f"/treatments/{treatment_id}")).text()
    assert "Recorded by" in seen_by_owner
    assert "Kim" in seen_by_owner
    assert "by Kim" in await (await logged_in.get(f"/hives/{hive_id}")).text()
    out = await post_form(
        logged_in, f"/treatments/{treatment_id}/strips-removed", "/treatments",
        {"removed_on": TODAY.isoformat()},
    )  # fmt: skip
    assert out.status == 303  # the owner takes out the keeper's strips


async def test_a_member_taken_out_of_the_apiary_loses_its_treatments(
    logged_in, aiohttp_client, settings, db
):
    hive_id = await new_hive_id(logged_in, name="Acacia")
    keeper, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    treatment_id = await strips_treatment(keeper, hive_id)
    await remove(db, kim)
    assert (await keeper.get(f"/treatments/{treatment_id}")).status == 404
    assert "Acacia" not in await (await keeper.get("/treatments")).text()
    assert "Acacia" in await (await logged_in.get("/treatments")).text()

"""Inspections, harvests, Today and the calendar in a shared apiary: every member reads them,
owners and keepers record them under their own name, a viewer's changes are 404, and a member
taken out of the apiary finds nothing at all."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from app.accounts import queries as key_queries
from app.main import create_app
from app.models import Harvest, Inspection, User
from app.web.api import new_key
from tests.unit.conftest import csrf_token, log_in, make_user, share
from tests.unit.test_harvests import log_harvest
from tests.unit.test_hives import new_hive_id
from tests.unit.test_inspections import checklist, record


async def member_client(aiohttp_client, settings, db, hive_id: int, role: str, name: str):
    """A signed-in client of a new user who is `role` in the hive's apiary, and the user."""
    member = await make_user(db, name=name, email=f"{name.lower()}@example.org")
    await share(db, hive_id, member.id, role)
    client = await aiohttp_client(create_app(settings))
    await log_in(client, member.email)
    return client, member


async def post(client, path: str, data: list[tuple[str, str]] | None = None):
    """A form post with the session's CSRF token (read off a page every member may open)."""
    token = await csrf_token(client, "/harvests")
    return await client.post(path, data=[("_csrf", token), *(data or [])], allow_redirects=False)


async def remove(db, user: User) -> None:
    """Take the user out of every apiary, as an owner removing a member does."""
    await db.execute(text("DELETE FROM apiary_members WHERE user_id = :user"), {"user": user.id})
    await db.commit()


async def inspection_ids(db, hive_id: int) -> list[int]:
    rows = await db.scalars(
        select(Inspection.id)
        .where(Inspection.hive_id == hive_id, Inspection.done_at.is_not(None))
        .order_by(Inspection.id)
    )
    return list(rows)


@pytest.fixture
async def hive_id(logged_in) -> int:
    return await new_hive_id(logged_in, name="Linden")


async def test_a_viewer_reads_the_records_but_every_change_is_404(
    logged_in, aiohttp_client, settings, db, hive_id
):
    assert (await record(logged_in, hive_id, notes="Calm and strong.")).status == 303
    (inspection_id,) = await inspection_ids(db, hive_id)
    assert (await log_harvest(logged_in, [hive_id], split="even", total_kg="12")).status == 303
    harvest_id = await db.scalar(select(Harvest.id))
    viewer, _ = await member_client(aiohttp_client, settings, db, hive_id, "viewer", "Vic")

    hive_page = await (await viewer.get(f"/hives/{hive_id}")).text()
    assert "Linden" in hive_page
    assert f'href="/inspections/{inspection_id}"' in hive_page
    assert f"/hives/{hive_id}/inspections/new" not in hive_page  # no Record button
    detail = await viewer.get(f"/inspections/{inspection_id}")
    assert detail.status == 200
    page = await detail.text()
    assert "Calm and strong." in page
    assert "Recorded by Ada Beekeeper" in page
    assert f"/inspections/{inspection_id}/edit" not in page
    assert f"/inspections/{inspection_id}/delete" not in page
    harvest = await (await viewer.get(f"/harvests/{harvest_id}")).text()
    assert "Recorded by Ada Beekeeper" in harvest
    assert f"/harvests/{harvest_id}/delete" not in harvest
    assert "Linden" in await (await viewer.get("/harvests")).text()

    refused = {
        "form": await viewer.get(f"/hives/{hive_id}/inspections/new"),
        "edit": await viewer.get(f"/inspections/{inspection_id}/edit"),
        "record": await post(viewer, f"/hives/{hive_id}/inspections", list(checklist().items())),
        "schedule": await post(
            viewer,
            f"/hives/{hive_id}/inspections/schedule",
            [("scheduled_for", (date.today() + timedelta(days=3)).isoformat())],
        ),
        "delete": await post(viewer, f"/inspections/{inspection_id}/delete"),
        "harvest": await post(
            viewer, "/harvests", [("hive_ids", str(hive_id)), ("split", "even"),
                                  ("total_kg", "3"), ("harvested_on", date.today().isoformat())]
        ),
        "harvest delete": await post(viewer, f"/harvests/{harvest_id}/delete"),
    }  # fmt: skip
    assert {name: response.status for name, response in refused.items()} == dict.fromkeys(
        refused, 404
    )
    assert await inspection_ids(db, hive_id) == [inspection_id]
    assert await db.scalar(select(Harvest.id)) == harvest_id


async def test_a_keeper_records_under_their_own_name(
    logged_in, aiohttp_client, settings, db, hive_id
):
    keeper, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    assert "Record inspection" in await (await keeper.get(f"/hives/{hive_id}")).text()
    assert (await record(keeper, hive_id, notes="Queen seen by Kim.")).status == 303
    (inspection_id,) = await inspection_ids(db, hive_id)
    stored = await db.get(Inspection, inspection_id)
    assert stored is not None
    assert stored.recorded_by == kim.id
    planned = await db.scalar(
        select(Inspection.recorded_by).where(
            Inspection.hive_id == hive_id, Inspection.done_at.is_(None)
        )
    )
    assert planned == kim.id  # the next visit, scheduled with it, is Kim's too
    page = await (await logged_in.get(f"/inspections/{inspection_id}")).text()
    assert "Recorded by Kim" in page  # the owner sees who did it
    assert "by Kim" in await (await logged_in.get(f"/hives/{hive_id}")).text()

    assert (await log_harvest(keeper, [hive_id], split="even", total_kg="7")).status == 303
    harvest = (await db.scalars(select(Harvest))).one()
    assert harvest.owner_id == kim.id
    assert "Recorded by Kim" in await (await logged_in.get(f"/harvests/{harvest.id}")).text()


async def test_a_key_acts_with_its_users_role(logged_in, aiohttp_client, settings, db, hive_id):
    _, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    _, vic = await member_client(aiohttp_client, settings, db, hive_id, "viewer", "Vic")
    body = {"hive_id": hive_id, "done_at": "2026-05-01T10:00:00+02:00", "notes": "By key"}
    answers = {}
    for person in (kim, vic):
        made = new_key()
        await key_queries.create_key(
            db, person.id, name="k", prefix=made.prefix, key_hash=made.hash
        )
        auth = {"Authorization": f"Bearer {made.key}"}
        answers[person.name] = await logged_in.post("/api/v1/inspections", json=body, headers=auth)
        listed = await logged_in.get(f"/api/v1/inspections?hive_id={hive_id}", headers=auth)
        assert listed.status == 200
    assert answers["Vic"].status == 404
    assert answers["Kim"].status == 201
    assert (await answers["Kim"].json())["recorded_by"] == kim.id


async def test_today_shows_what_is_due_in_the_shared_apiary(
    logged_in, aiohttp_client, settings, db, hive_id
):
    soon = date.today() + timedelta(days=2)
    response = await post(
        logged_in, f"/hives/{hive_id}/inspections/schedule", [("scheduled_for", soon.isoformat())]
    )
    assert response.status == 303
    viewer, vic = await member_client(aiohttp_client, settings, db, hive_id, "viewer", "Vic")
    today = await (await viewer.get("/")).text()
    assert "Linden" in today
    planned = await db.scalar(select(Inspection).where(Inspection.hive_id == hive_id))
    assert planned is not None
    assert f'id="due-{planned.id}"' in today  # due in the shared apiary
    assert f"/inspections/{planned.id}/done" not in today  # but not the viewer's to mark done
    assert f"/inspections/{planned.id}/done" in await (await logged_in.get("/")).text()

    await remove(db, vic)
    assert "Linden" not in await (await viewer.get("/")).text()


async def test_a_member_taken_out_of_the_apiary_finds_nothing(
    logged_in, aiohttp_client, settings, db, hive_id
):
    keeper, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    assert (await record(keeper, hive_id)).status == 303
    assert (await log_harvest(keeper, [hive_id], split="even", total_kg="4")).status == 303
    (inspection_id,) = await inspection_ids(db, hive_id)
    harvest_id = await db.scalar(select(Harvest.id))
    await remove(db, kim)
    for path in (f"/hives/{hive_id}", f"/inspections/{inspection_id}", f"/harvests/{harvest_id}"):
        assert (await keeper.get(path)).status == 404, path
    assert (await record(keeper, hive_id)).status == 404
    assert "Linden" not in await (await keeper.get("/harvests")).text()
    # What they recorded stays the apiary's, under their name.
    assert "Recorded by Kim" in await (await logged_in.get(f"/harvests/{harvest_id}")).text()


async def test_exports_hold_what_the_member_may_read(
    logged_in, aiohttp_client, settings, db, hive_id
):
    assert (await record(logged_in, hive_id, notes="Exported note")).status == 303
    viewer, vic = await member_client(aiohttp_client, settings, db, hive_id, "viewer", "Vic")
    for table in ("inspections", "hives"):
        answer = await viewer.get(f"/exports/{table}.csv")
        assert answer.status == 200
        assert "Linden" in await answer.text(), table
    # who recorded each inspection, in its own column
    rows = list(
        csv.DictReader(io.StringIO(await (await viewer.get("/exports/inspections.csv")).text()))
    )
    assert [row["recorded_by"] for row in rows if row["done_at"]] == ["Ada Beekeeper"]
    await remove(db, vic)
    for table in ("inspections", "hives"):
        assert "Linden" not in await (await viewer.get(f"/exports/{table}.csv")).text(), table

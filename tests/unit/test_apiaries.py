"""Apiaries shared by their members: invitations, roles, leaving, and never an apiary without
an owner."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.apiaries import queries
from app.main import create_app
from app.models import ApiaryInvitation, ApiaryMember, ApiaryRole, Hive, Inspection
from tests.unit.conftest import csrf_token, engine_session, log_in, make_user

HIVE = {"name": "Linde", "latitude": "52.5", "longitude": "13.4", "frame_type": "dadant"}
LINK = re.compile(r'value="(https?://[^"]+/invitations/([A-Za-z0-9_-]+))"')


@pytest.fixture
async def people(aiohttp_client, settings, db):
    """Ada (who keeps a hive in "Garden"), and Ben, Cleo and Dan with accounts, each signed in
    on a browser of their own."""
    clients = {}
    for name in ("ada", "ben", "cleo", "dan"):
        await make_user(db, name=name.title(), email=f"{name}@example.org")
        clients[name] = await aiohttp_client(create_app(settings))
        await log_in(clients[name], f"{name}@example.org")
    token = await csrf_token(clients["ada"], "/hives/new")
    made = await clients["ada"].post(
        "/hives", data={**HIVE, "site": "Garden", "_csrf": token}, allow_redirects=False
    )
    assert made.status == 303
    return clients


async def post(client, path: str, page: str, **data: str):
    token = await csrf_token(client, page)
    return await client.post(path, data={**data, "_csrf": token}, allow_redirects=False)


async def apiary_id(db) -> int:
    return int(await db.scalar(select(Hive.apiary_id).where(Hive.name == "Linde")))


async def invite_link(client, apiary: int, role: str) -> tuple[str, str]:
    page = f"/apiaries/{apiary}"
    answer = await post(client, f"{page}/invitations", page, role=role, days="7", email="")
    assert answer.status == 200
    found = LINK.search(await answer.text())
    assert found, "the new link is shown"
    return found.group(1), found.group(2)


async def join(people, db, name: str, role: str) -> int:
    apiary = await apiary_id(db)
    _, token = await invite_link(people["ada"], apiary, role)
    accepted = await post(people[name], f"/invitations/{token}", f"/invitations/{token}")
    assert accepted.status == 303
    assert accepted.headers["Location"] == f"/apiaries/{apiary}"
    return apiary


async def roles(db, apiary: int) -> dict[str, str]:
    rows = await db.execute(
        text(
            "SELECT users.name, role::text FROM apiary_members JOIN users ON users.id = user_id"
            " WHERE apiary_id = :apiary"
        ),
        {"apiary": apiary},
    )
    return dict(rows.all())


async def test_a_hive_site_is_an_apiary_its_adder_owns(people, db):
    apiary = await apiary_id(db)
    assert await roles(db, apiary) == {"Ada": "owner"}
    page = await (await people["ada"].get("/apiaries")).text()
    assert f'<a href="/apiaries/{apiary}">Garden</a>' in page
    assert "1 hive" in page


async def test_a_keeper_joins_by_link_and_records_under_their_own_name(people, db):
    apiary = await join(people, db, "ben", "keeper")
    assert await roles(db, apiary) == {"Ada": "owner", "Ben": "keeper"}
    hive = await db.scalar(select(Hive.id).where(Hive.name == "Linde"))
    page = f"/hives/{hive}/inspections/new"
    recorded = await post(
        people["ben"],
        f"/hives/{hive}/inspections",
        page,
        done_at="2026-05-01T10:00",
        frames_of_bees="8",
    )
    assert recorded.status == 303, await recorded.text()
    inspection = await db.scalar(select(Inspection).where(Inspection.hive_id == hive))
    ben = await db.scalar(text("SELECT id FROM users WHERE name = 'Ben'"))
    assert inspection.recorded_by == ben
    # a keeper edits the hive, but neither deletes it nor runs the apiary
    assert (await people["ben"].get(f"/hives/{hive}/edit")).status == 200
    assert (await people["ben"].get(f"/hives/{hive}/delete")).status == 404
    assert (await people["ben"].get(f"/apiaries/{apiary}/edit")).status == 404


async def test_a_viewer_reads_and_changes_nothing(people, db):
    apiary = await join(people, db, "cleo", "viewer")
    hive = await db.scalar(select(Hive.id).where(Hive.name == "Linde"))
    assert (await people["cleo"].get(f"/hives/{hive}")).status == 200
    assert (await people["cleo"].get(f"/apiaries/{apiary}")).status == 200
    for path in (
        f"/hives/{hive}/edit",
        f"/hives/{hive}/inspections/new",
        f"/apiaries/{apiary}/edit",
    ):
        assert (await people["cleo"].get(path)).status == 404, path
    token = await csrf_token(people["cleo"], f"/apiaries/{apiary}")
    changed = await people["cleo"].post(
        f"/hives/{hive}/edit", data={**HIVE, "name": "Mine", "_csrf": token}, allow_redirects=False
    )
    assert changed.status == 404
    assert await db.scalar(select(Hive.name).where(Hive.id == hive)) == "Linde"


async def test_a_removed_member_finds_nothing_and_what_they_recorded_stays(people, db):
    apiary = await join(people, db, "ben", "keeper")
    hive = await db.scalar(select(Hive.id).where(Hive.name == "Linde"))
    page = f"/hives/{hive}/inspections/new"
    await post(people["ben"], f"/hives/{hive}/inspections", page, done_at="2026-05-01T10:00")
    ben = await db.scalar(text("SELECT id FROM users WHERE name = 'Ben'"))
    before = (await people["ben"].get("/")).headers["CityHive-Access"]
    removed = await post(
        people["ada"], f"/apiaries/{apiary}/members/{ben}/remove", f"/apiaries/{apiary}"
    )
    assert removed.status == 303
    assert await roles(db, apiary) == {"Ada": "owner"}
    # the version of Ben's memberships moved on: his phone forgets the pages saved before
    assert (await people["ben"].get("/")).headers["CityHive-Access"] != before
    for path in (f"/hives/{hive}", f"/apiaries/{apiary}"):
        assert (await people["ben"].get(path)).status == 404, path
    assert await db.scalar(select(Inspection.recorded_by).where(Inspection.hive_id == hive)) == ben


async def test_an_invitation_that_cannot_be_used_says_so_and_changes_nothing(people, db):
    apiary = await apiary_id(db)
    _, used = await invite_link(people["ada"], apiary, "keeper")
    await post(people["ben"], f"/invitations/{used}", f"/invitations/{used}")
    _, revoked = await invite_link(people["ada"], apiary, "keeper")
    _, expired = await invite_link(people["ada"], apiary, "owner")
    await db.execute(
        update(ApiaryInvitation)
        .where(ApiaryInvitation.token_hash == queries.token_hash(expired))
        .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    await db.commit()
    revoke_id = await db.scalar(
        select(ApiaryInvitation.id).where(
            ApiaryInvitation.token_hash == queries.token_hash(revoked)
        )
    )
    assert (
        await post(
            people["ada"],
            f"/apiaries/{apiary}/invitations/{revoke_id}/revoke",
            f"/apiaries/{apiary}",
        )
    ).status == 303
    for token in (used, revoked, expired, "forged-" + "x" * 30):
        shown = await people["cleo"].get(f"/invitations/{token}")
        assert shown.status == 404
        assert "This invitation cannot be used" in await shown.text()
        taken = await people["cleo"].post(
            f"/invitations/{token}",
            data={"_csrf": await csrf_token(people["cleo"], "/apiaries")},
            allow_redirects=False,
        )
        assert taken.status == 404
    assert await roles(db, apiary) == {"Ada": "owner", "Ben": "keeper"}


async def test_an_invitation_to_an_account_is_accepted_from_the_apiaries_page(people, db):
    apiary = await apiary_id(db)
    page = f"/apiaries/{apiary}"
    nobody = await post(
        people["ada"], f"{page}/invitations", page, role="viewer", days="7", email="x@example.org"
    )
    assert nobody.status == 422
    assert "No account has this email address" in await nobody.text()
    sent = await post(
        people["ada"], f"{page}/invitations", page, role="viewer", days="7", email="Dan@example.org"
    )
    assert sent.status == 303
    listed = await (await people["dan"].get("/apiaries")).text()
    assert "Ada invites you to Garden as Viewer." in listed
    invitation = await db.scalar(select(ApiaryInvitation.id))
    accepted = await post(people["dan"], f"/invitations/{invitation}/accept", "/apiaries")
    assert accepted.status == 303
    assert await roles(db, apiary) == {"Ada": "owner", "Dan": "viewer"}


async def test_only_owners_change_roles_and_to_others_the_apiary_does_not_exist(people, db):
    apiary = await join(people, db, "ben", "keeper")
    ada = await db.scalar(text("SELECT id FROM users WHERE name = 'Ada'"))
    for who in ("ben", "dan"):  # a keeper, and someone outside
        answer = await post(
            people[who], f"/apiaries/{apiary}/members/{ada}", "/apiaries", role="viewer"
        )
        assert answer.status == 404
    assert await roles(db, apiary) == {"Ada": "owner", "Ben": "keeper"}


async def test_the_last_owner_cannot_leave_or_step_down(people, db):
    apiary = await apiary_id(db)
    ada = await db.scalar(text("SELECT id FROM users WHERE name = 'Ada'"))
    page = f"/apiaries/{apiary}"
    left = await post(people["ada"], f"{page}/leave", page)
    assert left.status == 422
    assert "An apiary needs an owner" in await left.text()
    stepped = await post(people["ada"], f"{page}/members/{ada}", page, role="keeper")
    assert stepped.status == 422
    assert await roles(db, apiary) == {"Ada": "owner"}


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(people, db, settings):
    apiary = await join(people, db, "ben", "owner")
    ids = [
        await db.scalar(text("SELECT id FROM users WHERE name = :name"), {"name": name})
        for name in ("Ada", "Ben")
    ]
    for _ in range(5):
        await db.execute(
            update(ApiaryMember)
            .where(ApiaryMember.apiary_id == apiary)
            .values(role=ApiaryRole.owner)
        )
        await db.commit()

        async def demote(user_id: int) -> bool:
            async with engine_session(settings.async_database_url) as own:
                try:
                    await queries.change_role(own, apiary, user_id, ApiaryRole.viewer)
                except queries.Refused:
                    return False
                return True

        done = await asyncio.gather(demote(ids[0]), demote(ids[1]))
        assert sorted(done) == [False, True]
        owners = await db.scalar(
            select(func.count())
            .select_from(ApiaryMember)
            .where(ApiaryMember.apiary_id == apiary, ApiaryMember.role == ApiaryRole.owner)
        )
        assert owners == 1


# --- the API: a key acts with its user's roles ------------------------------------------------


async def key_of(client, page: str = "/profile") -> str:
    token = await csrf_token(client, page)
    made = await client.post("/profile/api-keys", data={"key_name": "script", "_csrf": token})
    found = re.search(r"\b(ch_[A-Za-z0-9_-]{20,})", await made.text())
    assert found, "the new key is shown"
    return found.group(1)


async def test_the_api_lists_makes_and_shares_apiaries_by_role(people, db):
    apiary = await join(people, db, "ben", "keeper")
    ada = {"Authorization": f"Bearer {await key_of(people['ada'])}"}
    ben = {"Authorization": f"Bearer {await key_of(people['ben'])}"}
    dan = {"Authorization": f"Bearer {await key_of(people['dan'])}"}
    listed = await (await people["ben"].get("/api/v1/apiaries", headers=ben)).json()
    assert [(item["name"], item["role"]) for item in listed["items"]] == [("Garden", "keeper")]
    members = await (
        await people["dan"].get(f"/api/v1/apiaries/{apiary}/members", headers=ben)
    ).json()
    assert [(m["name"], m["role"]) for m in members["items"]] == [
        ("Ada", "owner"),
        ("Ben", "keeper"),
    ]
    assert "email" not in members["items"][0]
    # an outsider finds nothing; a keeper may not run the apiary
    assert (await people["dan"].get(f"/api/v1/apiaries/{apiary}", headers=dan)).status == 404
    ben_id = members["items"][1]["user_id"]
    role = f"/api/v1/apiaries/{apiary}/members/{ben_id}"
    assert (await people["ben"].put(role, json={"role": "owner"}, headers=ben)).status == 404
    promoted = await people["ada"].put(role, json={"role": "owner"}, headers=ada)
    assert (promoted.status, (await promoted.json())["role"]) == (200, "owner")
    # two owners now: Ada may step down, and then Ben, the last, may not
    ada_id = members["items"][0]["user_id"]
    mine = f"/api/v1/apiaries/{apiary}/members/{ada_id}"
    assert (await people["ada"].put(mine, json={"role": "viewer"}, headers=ada)).status == 200
    last = await people["ben"].delete(role, headers=ben)
    assert last.status == 409
    assert "needs an owner" in (await last.json())["detail"]
    assert await roles(db, apiary) == {"Ada": "viewer", "Ben": "owner"}


async def test_the_api_makes_an_apiary_once_and_invites_by_link(people, db):
    ada = {
        "Authorization": f"Bearer {await key_of(people['ada'])}",
        "Idempotency-Key": "apiary-roof-1",
    }
    body = {"name": "Roof", "latitude": 52.5, "longitude": 13.4, "registration_number": "B-7"}
    first = await people["ada"].post("/api/v1/apiaries", json=body, headers=ada)
    again = await people["ada"].post("/api/v1/apiaries", json=body, headers=ada)
    made = await first.json()
    assert (first.status, again.status) == (201, 201)
    assert (await again.json())["id"] == made["id"]
    assert (made["role"], made["registration_number"]) == ("owner", "B-7")
    bad = await people["ada"].post(
        "/api/v1/apiaries",
        json={"name": " ", "latitude": 91},
        headers={"Authorization": ada["Authorization"]},
    )
    assert bad.status == 422
    invited = await people["ada"].post(
        f"/api/v1/apiaries/{made['id']}/invitations",
        json={"role": "viewer", "days": 3},
        headers={"Authorization": ada["Authorization"]},
    )
    link = (await invited.json())["url"]
    assert invited.status == 201
    assert "/invitations/" in link
    token = link.rsplit("/", 1)[1]
    accepted = await post(people["cleo"], f"/invitations/{token}", f"/invitations/{token}")
    assert accepted.status == 303
    assert await roles(db, made["id"]) == {"Ada": "owner", "Cleo": "viewer"}
    # an address no account has (sign-up refuses a reserved domain) is no one to invite (409);
    # only something that is no address at all is a bad field (422)
    for email, status in (("/*k3@okebq46.test", 409), ("no address", 422)):
        refused = await people["ada"].post(
            f"/api/v1/apiaries/{made['id']}/invitations",
            json={"role": "viewer", "days": 3, "email": email},
            headers={"Authorization": ada["Authorization"]},
        )
        assert refused.status == status, email


async def test_the_apiary_page_speaks_german(people, db):
    apiary = await join(people, db, "ben", "keeper")
    page = await (
        await people["ada"].get(f"/apiaries/{apiary}", cookies={"cityhive_lang": "de"})
    ).text()
    assert '<h2 id="members-title">Mitglieder</h2>' in page
    assert "Ihre Rolle: Eigentümer·in" in page
    assert "<strong>Ben</strong> · Imker·in" in page
    assert "Jemanden einladen" in page

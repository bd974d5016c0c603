"""Clubs (beekeepers' associations): members who join, apiaries the club owns and its organisers
run, what is due in them, and never a club without an organiser."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.apiaries import clubs
from app.apiaries.queries import Refused
from app.main import create_app
from app.models import Apiary, ClubMember, ClubRole, Hive, Inspection
from app.sensors.queries import readers_of
from tests.unit.conftest import csrf_token, engine_session, log_in, make_user

HIVE = {"name": "Linde", "latitude": "52.5", "longitude": "13.4", "frame_type": "dadant"}
CLUB = "Imkerverein Pankow"


@pytest.fixture
async def people(aiohttp_client, settings, db):
    """Ada (who keeps the hive Linde in her apiary "Garden"), and Ben, Cleo and Dan with
    accounts, each signed in on a browser of their own."""
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


async def post(client, path: str, page: str = "/clubs", **data: str):
    token = await csrf_token(client, page)
    return await client.post(path, data={**data, "_csrf": token}, allow_redirects=False)


async def user_id(db, name: str) -> int:
    return int(await db.scalar(text("SELECT id FROM users WHERE name = :name"), {"name": name}))


async def garden(db) -> tuple[int, int]:
    """Ada's apiary and its hive."""
    row = (await db.execute(select(Hive.apiary_id, Hive.id).where(Hive.name == "Linde"))).one()
    return row[0], row[1]


async def make_club(people) -> int:
    made = await post(people["ada"], "/clubs", "/clubs/new", name=CLUB)
    assert made.status == 303, await made.text()
    found = re.fullmatch(r"/clubs/(\d+)", made.headers["Location"])
    assert found
    return int(found.group(1))


async def join_club(people, db, club: int, name: str, role: str = "member") -> None:
    """Ada adds `name` by email, they join, and Ada gives them `role`."""
    page = f"/clubs/{club}"
    added = await post(people["ada"], f"{page}/members", page, email=f"{name}@example.org")
    assert added.status == 303, await added.text()
    joined = await post(people[name], f"{page}/accept")
    assert (joined.status, joined.headers["Location"]) == (303, page)
    if role != "member":
        who = await user_id(db, name.title())
        changed = await post(people["ada"], f"{page}/members/{who}/role", page, role=role)
        assert changed.status == 303, await changed.text()


async def give(client, apiary: int, club: int | str, page: str):
    return await post(client, f"/apiaries/{apiary}/club", page, club_id=str(club))


async def schedule(db, hive: int, days: int, settings, *, done: bool = False) -> None:
    """An inspection of `hive` scheduled `days` from today (in the city's time zone)."""
    day = datetime.now(settings.zone).date() + timedelta(days=days)
    db.add(
        Inspection(
            hive_id=hive, scheduled_for=day, done_at=datetime.now(settings.zone) if done else None
        )
    )
    await db.commit()


async def club_roles(db, club: int) -> dict[str, tuple[str, bool]]:
    rows = await db.execute(
        text(
            "SELECT users.name, role::text, joined_at IS NOT NULL FROM club_members"
            " JOIN users ON users.id = user_id WHERE club_id = :club"
        ),
        {"club": club},
    )
    return {name: (role, joined) for name, role, joined in rows.all()}


async def test_a_club_is_made_and_a_member_added_by_email_joins_it(people, db):
    club = await make_club(people)
    assert await club_roles(db, club) == {"Ada": ("organiser", True)}
    listed = await (await people["ada"].get("/clubs")).text()
    assert f'<a href="/clubs/{club}">{CLUB}</a>' in listed
    page = f"/clubs/{club}"
    nobody = await post(people["ada"], f"{page}/members", page, email="nobody@example.org")
    assert nobody.status == 422
    assert "No account has this email address." in await nobody.text()
    bad = await post(people["ada"], f"{page}/members", page, email="not an address")
    assert bad.status == 422
    added = await post(people["ada"], f"{page}/members", page, email="Ben@example.org")
    assert added.status == 303
    again = await post(people["ada"], f"{page}/members", page, email="ben@example.org")
    assert again.status == 422
    assert "already a member of the club, or invited" in await again.text()
    # added, not yet joined: Ben sees the club on his clubs page, and not its page
    assert await club_roles(db, club) == {"Ada": ("organiser", True), "Ben": ("member", False)}
    assert (await people["ben"].get(page)).status == 404
    assert f"Ada adds you to the club {CLUB}." in await (await people["ben"].get("/clubs")).text()
    joined = await post(people["ben"], f"{page}/accept")
    assert (joined.status, joined.headers["Location"]) == (303, page)
    assert await club_roles(db, club) == {"Ada": ("organiser", True), "Ben": ("member", True)}
    shown = await (await people["ben"].get(page)).text()
    assert "<strong>Ada</strong> · Organiser" in shown
    assert "<strong>Ben</strong> · Member (you)" in shown
    # Cleo, added too, declines
    await post(people["ada"], f"{page}/members", page, email="cleo@example.org")
    declined = await post(people["cleo"], f"{page}/decline")
    assert (declined.status, declined.headers["Location"]) == (303, "/clubs")
    assert "Cleo" not in await club_roles(db, club)


async def test_the_club_page_lists_its_apiaries_members_and_what_is_due(people, db, settings):
    club = await make_club(people)
    await join_club(people, db, club, "ben")
    apiary, hive = await garden(db)
    given = await give(people["ada"], apiary, club, f"/clubs/{club}")
    assert (given.status, given.headers["Location"]) == (303, f"/clubs/{club}")
    assert await db.scalar(select(Apiary.club_id).where(Apiary.id == apiary)) == club
    await schedule(db, hive, 2, settings)
    await schedule(db, hive, -1, settings)  # overdue: still due
    await schedule(db, hive, 9, settings)  # beyond the week
    await schedule(db, hive, 1, settings, done=True)  # done already
    page = await people["ben"].get(f"/clubs/{club}")
    shown = await page.text()
    assert page.status == 200
    assert "Garden · 1 hive" in shown  # an ordinary member reads the name, not the apiary
    assert f'href="/apiaries/{apiary}"' not in shown
    assert shown.count("Inspection of Linde in Garden") == 2
    assert "Overdue" in shown
    assert "<strong>Ada</strong> · Organiser" in shown
    # the organiser's page links the apiary and may take it out; the member's may not
    mine = await (await people["ada"].get(f"/clubs/{club}")).text()
    assert f'<a href="/apiaries/{apiary}">Garden</a>' in mine
    assert "Take out of the club" in mine
    assert "Take out of the club" not in shown
    listed = await (await people["ben"].get("/clubs")).text()
    assert "1 apiary · 2 members · Member" in listed


async def test_the_club_page_is_a_fragment_for_htmx(people):
    club = await make_club(people)
    full = await people["ada"].get(f"/clubs/{club}")
    fragment = await people["ada"].get(f"/clubs/{club}", headers={"HX-Request": "true"})
    assert "<html" in await full.text()
    assert "<html" not in await fragment.text()
    assert CLUB in await fragment.text()
    assert "HX-Request" in fragment.headers["Vary"]


async def test_an_organiser_runs_the_clubs_apiary_an_ordinary_member_does_not_see_it(people, db):
    club = await make_club(people)
    await join_club(people, db, club, "ben", "organiser")
    await join_club(people, db, club, "cleo")
    apiary, hive = await garden(db)
    # before the club owns it, Ben, an organiser, has nothing to do with Ada's apiary
    assert (await people["ben"].get(f"/apiaries/{apiary}/edit")).status == 404
    assert (await give(people["ada"], apiary, club, "/clubs")).status == 303
    edit = f"/apiaries/{apiary}/edit"
    assert (await people["ben"].get(edit)).status == 200
    renamed = await post(
        people["ben"], edit, edit, name="Lehrbienenstand", latitude="52.5", longitude="13.4"
    )
    assert renamed.status == 303
    assert await db.scalar(select(Apiary.name).where(Apiary.id == apiary)) == "Lehrbienenstand"
    assert (await people["ben"].get(f"/hives/{hive}/edit")).status == 200
    shown = await (await people["ben"].get(f"/apiaries/{apiary}")).text()
    assert "Your role: Owner" in shown
    # the hive's page offers him an owner's controls
    page = await (await people["ben"].get(f"/hives/{hive}")).text()
    assert f'href="/hives/{hive}/edit"' in page
    assert f'href="/hives/{hive}/delete"' in page
    # Cleo, a member of the club only, does not see it; a keeper of it does
    for path in (f"/apiaries/{apiary}", f"/hives/{hive}"):
        assert (await people["cleo"].get(path)).status == 404, path
    await db.execute(
        text("INSERT INTO apiary_members (apiary_id, user_id, role) VALUES (:a, :u, 'keeper')"),
        {"a": apiary, "u": await user_id(db, "Cleo")},
    )
    await db.commit()
    assert (await people["cleo"].get(f"/hives/{hive}/edit")).status == 200
    assert (await people["cleo"].get(edit)).status == 404
    # out of the club again, Ben's ownership goes with it
    taken = await give(people["ben"], apiary, "", f"/clubs/{club}")
    assert (taken.status, taken.headers["Location"]) == (303, f"/clubs/{club}")
    assert (await people["ben"].get(edit)).status == 404


async def test_a_keeper_of_a_club_apiary_sees_its_due_inspection_on_today(people, db, settings):
    club = await make_club(people)
    await join_club(people, db, club, "cleo")
    await join_club(people, db, club, "dan")
    apiary, hive = await garden(db)
    await give(people["ada"], apiary, club, "/clubs")
    page = f"/apiaries/{apiary}"
    invited = await post(
        people["ada"],
        f"{page}/invitations",
        page,
        role="keeper",
        days="7",
        email="cleo@example.org",
    )
    assert invited.status == 303
    invitation = await db.scalar(text("SELECT id FROM apiary_invitations"))
    assert (await post(people["cleo"], f"/invitations/{invitation}/accept")).status == 303
    await schedule(db, hive, 1, settings)
    today = await (await people["cleo"].get("/")).text()
    assert f'<a href="/hives/{hive}">Linde</a>' in today
    # Dan, a member of the club who keeps none of its apiaries, has nothing of it on Today
    assert "Linde" not in await (await people["dan"].get("/")).text()


async def test_the_last_organiser_cannot_leave_or_step_down(people, db):
    club = await make_club(people)
    ada = await user_id(db, "Ada")
    page = f"/clubs/{club}"
    left = await post(people["ada"], f"{page}/leave", page)
    assert left.status == 422
    assert "A club needs an organiser" in await left.text()
    stepped = await post(people["ada"], f"{page}/members/{ada}/role", page, role="member")
    assert stepped.status == 422
    # an organiser added but not joined does not count
    await post(people["ada"], f"{page}/members", page, email="ben@example.org")
    ben = await user_id(db, "Ben")
    await db.execute(
        update(ClubMember)
        .where(ClubMember.club_id == club, ClubMember.user_id == ben)
        .values(role=ClubRole.organiser)
    )
    await db.commit()
    assert (await post(people["ada"], f"{page}/leave", page)).status == 422
    assert await club_roles(db, club) == {
        "Ada": ("organiser", True),
        "Ben": ("organiser", False),
    }
    # once Ben has joined, Ada may go
    assert (await post(people["ben"], f"{page}/accept")).status == 303
    left = await post(people["ada"], f"{page}/leave", page)
    assert (left.status, left.headers["Location"]) == (303, "/clubs")
    assert await club_roles(db, club) == {"Ben": ("organiser", True)}


async def test_an_apiary_owned_through_its_club_always_keeps_an_owner(people, db):
    club = await make_club(people)
    await join_club(people, db, club, "ben", "organiser")
    apiary, _ = await garden(db)
    await give(people["ada"], apiary, club, "/clubs")
    # Ada leaves the apiary: the club's organisers own it
    page = f"/apiaries/{apiary}"
    assert (await post(people["ada"], f"{page}/leave", page)).status == 303
    assert (await people["ben"].get(f"{page}/edit")).status == 200
    # taken out of the club it would have no owner: refused, nothing changes
    refused = await give(people["ben"], apiary, "", f"/clubs/{club}")
    assert refused.status == 422
    assert "An apiary needs an owner" in await refused.text()
    assert await db.scalar(select(Apiary.club_id).where(Apiary.id == apiary)) == club


async def test_to_anyone_outside_the_club_it_does_not_exist(people, db):
    club = await make_club(people)
    await join_club(people, db, club, "ben")
    apiary, _ = await garden(db)
    ada = await user_id(db, "Ada")
    page = f"/clubs/{club}"
    assert (await people["dan"].get(page)).status == 404
    for path, data in [
        (f"{page}/members", {"email": "dan@example.org"}),
        (f"{page}/members/{ada}/role", {"role": "member"}),
        (f"{page}/members/{ada}/remove", {}),
        (f"{page}/leave", {}),
        (f"{page}/accept", {}),
        (f"{page}/decline", {}),
    ]:
        answer = await post(people["dan"], path, **data)
        assert answer.status == 404, path
    # a member may not do an organiser's part
    for path, data in [
        (f"{page}/members", {"email": "dan@example.org"}),
        (f"{page}/members/{ada}/role", {"role": "member"}),
        (f"{page}/members/{ada}/remove", {}),
    ]:
        answer = await post(people["ben"], path, **data)
        assert answer.status == 404, path
    # nor may anyone give an apiary to a club they do not organise
    other = await post(people["dan"], "/clubs", "/clubs/new", name="Dan's club")
    dans_club = int(other.headers["Location"].rsplit("/", 1)[1])
    assert (await give(people["ada"], apiary, dans_club, "/clubs")).status == 404
    assert (await give(people["ada"], apiary, "nonsense", "/clubs")).status == 422
    assert await db.scalar(select(Apiary.club_id).where(Apiary.id == apiary)) is None
    assert await club_roles(db, club) == {"Ada": ("organiser", True), "Ben": ("member", True)}


async def test_two_organisers_stepping_down_at_once_leave_one(people, db, settings):
    club = await make_club(people)
    await join_club(people, db, club, "ben", "organiser")
    ids = [await user_id(db, name) for name in ("Ada", "Ben")]
    for _ in range(5):
        await db.execute(
            update(ClubMember).where(ClubMember.club_id == club).values(role=ClubRole.organiser)
        )
        await db.commit()

        async def step_down(who: int) -> bool:
            async with engine_session(settings.async_database_url) as own:
                try:
                    await clubs.change_role(own, club, who, ClubRole.member)
                except Refused:
                    return False
                return True

        done = await asyncio.gather(step_down(ids[0]), step_down(ids[1]))
        assert sorted(done) == [False, True]
        organisers = await db.scalar(
            select(func.count())
            .select_from(ClubMember)
            .where(ClubMember.club_id == club, ClubMember.role == ClubRole.organiser)
        )
        assert organisers == 1


async def test_the_clubs_organisers_are_told_of_its_hives_alerts_once(people, db):
    club = await make_club(people)
    await join_club(people, db, club, "ben", "organiser")
    apiary, hive = await garden(db)
    ada, ben = await user_id(db, "Ada"), await user_id(db, "Ben")
    assert await readers_of(db, [hive]) == {hive: [ada]}
    assert (await give(people["ada"], apiary, club, "/clubs")).status == 303
    # Ada is the apiary's owner and organises its club: told once, as is Ben, an organiser
    assert await readers_of(db, [hive]) == {hive: sorted([ada, ben])}

"""Colonies: each event's effect on colonies, hives and queens, the refusals (422, nothing
saved), exactly-once creates, the family tree and the season's numbers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.accounts import queries as key_queries
from app.colonies import queries
from app.colonies.schemas import MarkingColour, colour_of
from app.colonies.tags import qr_svg
from app.colonies.tree import family_of
from app.models import (
    Alert,
    AlertKind,
    Colony,
    ColonyEvent,
    ColonyEventKind,
    Hive,
    HiveBoxes,
    HiveStatus,
    Queen,
    QueenStatus,
    SwarmOutcome,
    SwarmReport,
    SwarmStatus,
)
from app.swarms import queries as swarm_queries
from app.swarms.schemas import CollectorForm, SwarmReportForm
from app.web.api import new_key
from tests.unit.conftest import apiary_of, csrf_token, make_user
from tests.unit.test_hives import new_hive_id
from tests.unit.test_inspections import record

BERLIN = ZoneInfo("Europe/Berlin")
SPRING_2024 = "2024-03-01"


def today() -> date:
    return datetime.now(BERLIN).date()


async def post(client, path: str, **fields: str):
    token = await csrf_token(client, path)
    return await client.post(path, data={**fields, "_csrf": token}, allow_redirects=False)


async def start_colony(client, hive_id: int, on: str = "2025-06-01", **fields: str) -> int:
    response = await post(client, f"/hives/{hive_id}/colony/new", happened_on=on, **fields)
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def colony_with_hive(client, name: str = "Queen Mab", on: str = "2025-06-01"):
    hive_id = await new_hive_id(client, name=name)
    return hive_id, await start_colony(client, hive_id, on)


async def event(client, colony_id: int, slug: str, **fields: str):
    return await post(client, f"/colonies/{colony_id}/{slug}", **fields)


async def split(client, db, colony_id: int, on: str = "2025-07-01", **fields: str) -> int:
    """Split into a new hive; the daughter's id."""
    fields.setdefault("new_hive_name", f"Daughter of {colony_id} on {on}")
    response = await event(client, colony_id, "split", happened_on=on, **fields)
    assert response.status == 303, await response.text()
    return await newest_colony_id(db)


async def newest_colony_id(db) -> int:
    db.expire_all()
    return (await db.scalar(select(func.max(Colony.id)))) or 0


async def colony(db, colony_id: int) -> Colony:
    db.expire_all()
    found = await db.get(Colony, colony_id)
    assert found is not None
    return found


async def count(db, model) -> int:
    db.expire_all()
    return (await db.scalar(select(func.count()).select_from(model))) or 0


# --- each event's effect ------------------------------------------------------------------------


async def test_a_colony_starts_in_an_empty_hive_and_the_hive_page_shows_it(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert "No living colony in this hive." in page
    colony_id = await start_colony(logged_in, hive_id, name="Mab's bees")
    stored = await colony(db, colony_id)
    assert (stored.hive_id, stored.name, stored.status) == (hive_id, "Mab's bees", "alive")
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert f'href="/colonies/{colony_id}">Mab&#39;s bees</a>' in page
    assert "Colony started" in page  # on the hive's timeline
    # A second colony in the same hive is refused.
    response = await post(logged_in, f"/hives/{hive_id}/colony/new", happened_on="2025-06-02")
    assert response.status == 422
    assert "This hive already holds a living colony." in await response.text()


async def test_a_split_makes_a_daughter_in_a_new_hive_beside_the_mother(logged_in, db):
    hive_id, mother_id = await colony_with_hive(logged_in)
    response = await event(
        logged_in,
        mother_id,
        "split",
        happened_on="2025-07-01",
        new_hive_name="Mab II",
        frames_of_brood="3",
        frames_of_bees="2",
        note="Took the frame with queen cells.",
    )
    assert response.status == 303, await response.text()
    assert response.headers["Location"].startswith(f"/colonies/{mother_id}#event-")
    db.expire_all()
    daughter = (await db.scalars(select(Colony).where(Colony.id != mother_id))).one()
    new_hive = await db.get(Hive, daughter.hive_id)
    mother_hive = await db.get(Hive, hive_id)
    assert (daughter.name, daughter.started_on, daughter.status) == (
        "Mab II",
        date(2025, 7, 1),
        "alive",
    )
    assert (new_hive.name, new_hive.origin, new_hive.installed_on) == (
        "Mab II",
        "split",
        date(2025, 7, 1),
    )
    assert await db.scalar(
        select(func.ST_Equals(Hive.location, mother_hive.location)).where(Hive.id == new_hive.id)
    )
    split_event = (
        await db.scalars(select(ColonyEvent).where(ColonyEvent.kind == ColonyEventKind.split))
    ).one()
    assert (
        split_event.other_colony_id,
        split_event.frames_of_brood,
        split_event.frames_of_bees,
    ) == (
        daughter.id,
        3,
        2,
    )
    # Both hives' timelines show it.
    for hive in (hive_id, new_hive.id):
        page = await (await logged_in.get(f"/hives/{hive}")).text()
        assert "Queen Mab into Mab II" in page
        assert "3 frames of brood" in page


async def test_a_split_into_an_existing_hive_needs_it_empty(logged_in, db):
    _, mother_id = await colony_with_hive(logged_in)
    taken_hive, _ = await colony_with_hive(logged_in, name="Taken")
    free_hive = await new_hive_id(logged_in, name="Empty box")
    before = await count(db, Colony)
    response = await event(
        logged_in, mother_id, "split", happened_on="2025-07-01", hive_id=str(taken_hive)
    )
    assert response.status == 422
    assert "This hive already holds a living colony." in await response.text()
    assert await count(db, Colony) == before
    response = await event(logged_in, mother_id, "split", happened_on="2025-07-01")
    assert response.status == 422
    assert "Choose a hive, or name the new one." in await response.text()
    response = await event(
        logged_in, mother_id, "split", happened_on="2025-07-01", hive_id=str(free_hive)
    )
    assert response.status == 303
    daughter = await colony(db, await newest_colony_id(db))
    assert daughter.hive_id == free_hive


async def test_a_union_ends_the_other_colony_and_frees_its_hive(logged_in, db):
    hive_id, keeper_id = await colony_with_hive(logged_in)
    other_hive, joined_id = await colony_with_hive(logged_in, name="Weak one")
    response = await event(logged_in, joined_id, "requeen", happened_on="2025-06-10", year="2025")
    assert response.status == 303
    response = await event(
        logged_in, keeper_id, "union", happened_on="2025-09-01", other_colony_id=str(joined_id)
    )
    assert response.status == 303, await response.text()
    joined = await colony(db, joined_id)
    assert (joined.status, joined.ended_on) == ("united", date(2025, 9, 1))
    assert (await db.get(Hive, other_hive)).status == HiveStatus.merged
    assert (await db.get(Hive, hive_id)).status == HiveStatus.active
    queen = (await db.scalars(select(Queen).where(Queen.colony_id == joined_id))).one()
    assert queen.status == QueenStatus.replaced
    page = await (await logged_in.get(f"/hives/{other_hive}")).text()
    assert "Weak one joined into Queen Mab" in page


async def test_a_colony_cannot_be_united_with_itself_or_a_dead_one(logged_in, db):
    _, colony_id = await colony_with_hive(logged_in)
    response = await event(
        logged_in, colony_id, "union", happened_on="2025-09-01", other_colony_id=str(colony_id)
    )
    assert response.status == 422
    text = await response.text()
    assert "A colony cannot be united with itself." in text
    assert 'id="other_colony_id-error"' in text
    _, dead_id = await colony_with_hive(logged_in, name="Gone")
    assert (await event(logged_in, dead_id, "died", happened_on="2025-08-01")).status == 303
    response = await event(
        logged_in, colony_id, "union", happened_on="2025-09-01", other_colony_id=str(dead_id)
    )
    assert response.status == 422
    assert "Choose one of your living colonies." in await response.text()
    assert (await colony(db, colony_id)).status == "alive"
    assert await count(db, ColonyEvent) == 3  # two starts and the death


async def test_requeening_retires_the_old_queen_and_the_hive_page_shows_the_new(logged_in, db):
    hive_id, colony_id = await colony_with_hive(logged_in)
    first = await event(
        logged_in, colony_id, "requeen", happened_on="2025-06-05", year="2024", marked="on"
    )
    assert first.status == 303
    response = await event(
        logged_in,
        colony_id,
        "requeen",
        happened_on="2025-08-05",
        year="2025",
        clipped="on",
        race="Buckfast",
        origin="bought",
        breeder="Imkerei Sonnenhang",
        old_queen_fate="superseded",
    )
    assert response.status == 303, await response.text()
    db.expire_all()
    old, new = (await db.scalars(select(Queen).order_by(Queen.id))).all()
    assert (old.status, old.colour, old.marked) == ("superseded", "green", True)
    assert (new.status, new.colour, new.clipped, new.race, new.origin, new.breeder) == (
        "laying",
        "blue",  # 2025: the year's colour, filled in
        True,
        "Buckfast",
        "bought",
        "Imkerei Sonnenhang",
    )
    assert new.introduced_on == date(2025, 8, 5)
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert "Born 2025, Blue" in page
    assert "Imkerei Sonnenhang" in page


async def test_two_visits_without_queen_or_eggs_ask_whether_the_queen_is_missing(logged_in, db):
    hive_id, _ = await colony_with_hive(logged_in)
    missing = "Queen missing? The last two inspections saw neither the queen nor eggs."
    assert (await record(logged_in, hive_id, queen_seen="no", eggs_seen="no")).status == 303
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert missing not in page  # one visit is not enough
    assert (await record(logged_in, hive_id, queen_seen="no", eggs_seen="no")).status == 303
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert missing in page
    assert (await record(logged_in, hive_id, queen_seen="no", eggs_seen="yes")).status == 303
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert missing not in page


def test_the_marking_colour_follows_the_last_digit_of_the_year():
    assert [colour_of(year) for year in range(2020, 2030)] == [
        MarkingColour.blue,
        MarkingColour.white,
        MarkingColour.yellow,
        MarkingColour.red,
        MarkingColour.green,
        MarkingColour.blue,
        MarkingColour.white,
        MarkingColour.yellow,
        MarkingColour.red,
        MarkingColour.green,
    ]


async def test_a_lost_swarm_is_recorded_with_the_alert_it_answers(logged_in, db):
    hive_id, colony_id = await colony_with_hive(logged_in)
    other_hive, _ = await colony_with_hive(logged_in, name="Elsewhere")
    now = datetime.now(BERLIN)
    alerts = [
        Alert(hive_id=hive, kind=AlertKind.swarm, message="Weight fell", started_at=now)
        for hive in (hive_id, other_hive)
    ]
    db.add_all(alerts)
    await db.commit()
    response = await event(
        logged_in, colony_id, "swarm-lost", happened_on="2025-06-20", alert_id=str(alerts[1].id)
    )
    assert response.status == 422
    assert "Choose a swarm alert of this hive." in await response.text()
    response = await event(
        logged_in, colony_id, "swarm-lost", happened_on="2025-06-20", alert_id=str(alerts[0].id)
    )
    assert response.status == 303
    lost = (
        await db.scalars(select(ColonyEvent).where(ColonyEvent.kind == ColonyEventKind.swarm_lost))
    ).one()
    assert (lost.alert_id, lost.hive_id) == (alerts[0].id, hive_id)
    assert (await colony(db, colony_id)).status == "alive"


async def claimed_report(db, user_id: int, *, claim: bool = True) -> int:
    await swarm_queries.save_collector(
        db, user_id, CollectorForm(latitude=52.52, longitude=13.4, radius_km=5)
    )
    report = SwarmReportForm(
        latitude=52.521, longitude=13.41, description="On the fence", contact="mira@example.net"
    )
    await swarm_queries.create_report(
        db, report, address="192.0.2.7", expires_in=timedelta(hours=48)
    )
    report_id = (await db.scalars(select(SwarmReport.id).order_by(SwarmReport.id.desc()))).first()
    if claim:
        assert await swarm_queries.claim(db, report_id, user_id) is None
    return report_id


async def test_a_swarm_captured_from_a_claimed_report_closes_it_and_links_the_colony(
    logged_in, db, user
):
    report_id = await claimed_report(db, user.id)
    hive_id = await new_hive_id(logged_in, name="Catch box")
    page = await (await logged_in.get(f"/hives/{hive_id}/swarm-captured")).text()
    assert f"Report #{report_id}: On the fence" in page
    response = await post(
        logged_in,
        f"/hives/{hive_id}/swarm-captured",
        happened_on=today().isoformat(),
        swarm_report_id=str(report_id),
        name="Fence swarm",
    )
    assert response.status == 303, await response.text()
    colony_id = int(response.headers["Location"].rsplit("/", 1)[1])
    db.expire_all()
    report = await db.get(SwarmReport, report_id)
    assert (report.status, report.outcome) == (SwarmStatus.closed, SwarmOutcome.collected)
    captured = (
        await db.scalars(select(ColonyEvent).where(ColonyEvent.colony_id == colony_id))
    ).one()
    assert (captured.kind, captured.swarm_report_id) == ("swarm_captured", report_id)
    page = await (await logged_in.get(f"/colonies/{colony_id}")).text()
    assert f'href="/swarms/{report_id}"' in page


async def test_a_swarm_from_a_report_the_user_did_not_claim_is_refused(logged_in, db, user):
    collector = await make_user(db, name="Other", email="other@example.org")
    report_id = await claimed_report(db, collector.id)
    unclaimed = await claimed_report(db, user.id, claim=False)
    hive_id = await new_hive_id(logged_in, name="Catch box")
    for report in (report_id, unclaimed):
        response = await post(
            logged_in,
            f"/hives/{hive_id}/swarm-captured",
            happened_on=today().isoformat(),
            swarm_report_id=str(report),
        )
        assert response.status == 422
        assert "Choose a swarm report you have claimed." in await response.text()
    db.expire_all()
    assert (await db.get(SwarmReport, report_id)).status == SwarmStatus.claimed
    assert (await db.get(SwarmReport, unclaimed)).status == SwarmStatus.open
    assert await count(db, Colony) == 0


async def test_a_dead_colony_ends_with_its_hive_and_queen_and_takes_no_more_events(logged_in, db):
    hive_id, colony_id = await colony_with_hive(logged_in)
    await event(logged_in, colony_id, "requeen", happened_on="2025-06-05", year="2025")
    response = await event(logged_in, colony_id, "died", happened_on="2025-11-02", detail="Varroa")
    assert response.status == 303
    dead = await colony(db, colony_id)
    assert (dead.status, dead.ended_on) == ("dead", date(2025, 11, 2))
    assert (await db.get(Hive, hive_id)).status == HiveStatus.dead_out
    assert (await db.scalar(select(Queen.status))) == QueenStatus.dead
    before = await count(db, Colony)
    response = await event(
        logged_in, colony_id, "split", happened_on="2025-11-03", new_hive_name="X"
    )
    assert response.status == 422
    assert "This colony is no longer alive" in await response.text()
    assert await count(db, Colony) == before
    assert await count(db, Hive) == 1
    page = await (await logged_in.get(f"/colonies/{colony_id}/split")).text()
    assert "This colony is no longer alive" in page


async def test_a_sold_colony_ends_and_its_hive_is_sold(logged_in, db):
    hive_id, colony_id = await colony_with_hive(logged_in)
    response = await event(logged_in, colony_id, "sold", happened_on="2025-10-01", detail="Jonas")
    assert response.status == 303
    assert (await colony(db, colony_id)).status == "sold"
    assert (await db.get(Hive, hive_id)).status == HiveStatus.sold
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert "Jonas" in page


async def test_events_in_the_future_or_before_the_hive_existed_are_refused(logged_in, db):
    _, colony_id = await colony_with_hive(logged_in)  # the hive was installed on 2025-05-11
    for day, message in [
        ((today() + timedelta(days=2)).isoformat(), "This day has not come yet."),
        ("2025-05-10", "The hive did not exist yet on this day."),
    ]:
        response = await event(logged_in, colony_id, "swarm-lost", happened_on=day)
        assert response.status == 422
        text = await response.text()
        assert message in text
        assert 'id="happened_on-error"' in text
    assert await count(db, ColonyEvent) == 1  # the start alone


async def test_bad_fields_are_refused_beside_the_field(logged_in, db):
    _, colony_id = await colony_with_hive(logged_in)
    response = await event(
        logged_in, colony_id, "requeen", happened_on="not a day", year="1200", colour="purple"
    )
    assert response.status == 422
    text = await response.text()
    for name in ("happened_on", "year", "colour"):
        assert f'id="{name}-error"' in text
    assert await count(db, Queen) == 0


async def test_a_queen_cannot_be_her_own_ancestor(logged_in, db):
    _, colony_id = await colony_with_hive(logged_in)
    for on in ("2025-06-01", "2025-07-01", "2025-08-01"):
        assert (
            await event(logged_in, colony_id, "requeen", happened_on=on, year="2025")
        ).status == 303
    db.expire_all()
    grandmother, mother, daughter = (await db.scalars(select(Queen).order_by(Queen.id))).all()
    # The daughter's mother is the mother, whose mother is the grandmother.
    for queen, mother_of in ((daughter, mother), (mother, grandmother)):
        response = await post(
            logged_in,
            f"/queens/{queen.id}/edit",
            year="2025",
            status="laying",
            mother_id=str(mother_of.id),
        )
        assert response.status == 303, await response.text()
    grandmother_id, refused_mothers = grandmother.id, (daughter.id, grandmother.id)
    for mother_id in refused_mothers:
        response = await post(
            logged_in,
            f"/queens/{grandmother_id}/edit",
            year="2025",
            status="dead",
            mother_id=str(mother_id),
        )
        assert response.status == 422
        text = await response.text()
        assert "A queen cannot be her own ancestor." in text
        assert 'id="mother_id-error"' in text
    db.expire_all()
    stored = await db.get(Queen, grandmother_id)
    assert (stored.mother_id, stored.status) == (None, "replaced")


# --- exactly once -------------------------------------------------------------------------------


async def test_an_event_sent_twice_with_its_key_is_recorded_once(logged_in, db):
    _, colony_id = await colony_with_hive(logged_in)
    key = "d2c6c7f0-7c1e-4b5f-9a55-3f1f0c2b9a11"
    fields = {"happened_on": "2025-07-01", "new_hive_name": "Twin", "idempotency_key": key}
    first = await event(logged_in, colony_id, "split", **fields)
    again = await event(logged_in, colony_id, "split", **fields, **{})
    assert (first.status, again.status) == (303, 303)
    assert first.headers["Location"] == again.headers["Location"]
    assert await count(db, Colony) == 2
    assert await count(db, Hive) == 2
    other = await event(logged_in, colony_id, "split", **{**fields, "new_hive_name": "Other"})
    assert other.status == 422
    assert "already sent with other values" in await other.text()
    assert await count(db, Colony) == 2


async def test_a_refused_event_does_not_spend_its_key(logged_in, db):
    _, colony_id = await colony_with_hive(logged_in)
    key = "5e0b5b7e-3a0a-4e4e-8c7b-6c9b0f1d2e33"
    fields = {"happened_on": (today() + timedelta(days=5)).isoformat(), "idempotency_key": key}
    assert (await event(logged_in, colony_id, "swarm-lost", **fields)).status == 422
    fields["happened_on"] = "2025-07-01"
    assert (await event(logged_in, colony_id, "swarm-lost", **fields)).status == 303
    assert await count(db, ColonyEvent) == 2


# --- the family tree and the season -------------------------------------------------------------


async def test_the_tree_follows_five_generations_and_a_union_of_two_lineages(logged_in, db, user):
    user_id = user.id
    _, first = await colony_with_hive(logged_in, name="Eve")
    line = [first]
    for generation, on in enumerate(("2025-06-10", "2025-07-10", "2025-08-10", "2025-09-10")):
        line.append(
            await split(logged_in, db, line[-1], on=on, new_hive_name=f"Gen {generation + 2}")
        )
    _, stranger = await colony_with_hive(logged_in, name="Adam")
    adams_daughter = await split(logged_in, db, stranger, on="2025-07-15", new_hive_name="Cain")
    response = await event(
        logged_in, line[-1], "union", happened_on="2025-10-01", other_colony_id=str(adams_daughter)
    )
    assert response.status == 303

    family = await family_of(db, user_id)
    # Down from the first: one line of four splits, five generations.
    names, nodes = [], family.descendants(first)
    while nodes:
        assert len(nodes) == 1
        names.append((nodes[0].colony.name, nodes[0].kind))
        nodes = nodes[0].below
    assert names == [
        ("Gen 2", "split"),
        ("Gen 3", "split"),
        ("Gen 4", "split"),
        ("Gen 5", "split"),
    ]
    # Up from the youngest: both lineages meet in it.
    ancestors = {node.colony.name: node for node in family.ancestors(line[-1])}
    assert set(ancestors) == {"Gen 4", "Cain"}
    assert [n.colony.name for n in ancestors["Cain"].below] == ["Adam"]
    assert ancestors["Cain"].kind == "union"
    chain, node = [], ancestors["Gen 4"]
    while node.below:
        node = node.below[0]
        chain.append(node.colony.name)
    assert chain == ["Gen 3", "Gen 2", "Eve"]
    # Two lineages in the apiary, and the colony's page draws its tree without JavaScript.
    assert sorted(root.colony.name for root in family.lineages()) == ["Adam", "Eve"]
    page = await (await logged_in.get(f"/colonies/{line[-1]}")).text()
    tree = page.split('id="tree-title"')[1].split('id="queens-title"')[0]
    for name in ("Gen 4", "Gen 3", "Gen 2", "Eve", "Cain", "Adam"):
        assert f">{name}</a>" in tree
    page = await (await logged_in.get("/colonies")).text()
    assert page.count('<ul class="tree"') >= 5


async def test_a_colony_requeened_with_another_colonys_daughter_queen_descends_from_it(
    logged_in, db, user
):
    _, eve = await colony_with_hive(logged_in, name="Eve")
    _, adam = await colony_with_hive(logged_in, name="Adam")
    assert (
        await event(logged_in, eve, "requeen", happened_on="2025-06-15", year="2024")
    ).status == 303
    evas_queen = await db.scalar(select(Queen.id).where(Queen.colony_id == eve))
    # Adam gets a queen reared from Eve's: Adam now comes from Eve, through her.
    response = await event(
        logged_in,
        adam,
        "requeen",
        happened_on="2025-07-20",
        year="2025",
        origin="own_rearing",
        mother_id=str(evas_queen),
    )
    assert response.status == 303, await response.text()
    family = await family_of(db, user.id)
    [daughter] = family.descendants(eve)
    assert (daughter.colony.name, daughter.kind, daughter.on) == (
        "Adam",
        "requeen",
        date(2025, 7, 20),
    )
    assert [node.colony.name for node in family.ancestors(adam)] == ["Eve"]
    assert [root.colony.name for root in family.lineages()] == ["Eve"]
    page = await (await logged_in.get(f"/colonies/{adam}")).text()
    tree = page.split('id="tree-title"')[1].split('id="queens-title"')[0]
    assert ">Eve</a>" in tree


async def test_the_season_adds_up(logged_in, db, user):
    user_id = user.id
    a, b, c = [
        await start_colony(
            logged_in,
            await new_hive_id(logged_in, name=name, installed_on=SPRING_2024),
            "2024-06-01",
        )
        for name in "ABC"
    ]
    # 2025: A splits twice, B dies, a swarm is lost from C and one caught, D is bought, C gets
    # one of A's daughters, one daughter is sold.
    d1 = await split(logged_in, db, a, on="2025-05-20")
    d2 = await split(logged_in, db, a, on="2025-06-20")
    assert (await event(logged_in, b, "died", happened_on="2025-02-01")).status == 303
    assert (await event(logged_in, c, "swarm-lost", happened_on="2025-05-30")).status == 303
    catch_box = await new_hive_id(logged_in, name="Catch box")
    response = await post(
        logged_in,
        f"/hives/{catch_box}/swarm-captured",
        happened_on="2025-06-02",
        from_colony_id=str(c),
    )
    assert response.status == 303
    await start_colony(
        logged_in, await new_hive_id(logged_in, name="D", installed_on=SPRING_2024), "2025-04-01"
    )
    assert (
        await event(logged_in, c, "union", happened_on="2025-09-01", other_colony_id=str(d1))
    ).status == 303
    assert (await event(logged_in, d2, "sold", happened_on="2025-10-01")).status == 303

    season = await queries.season(db, user_id, 2025)
    assert (season.at_start, season.splits, season.swarms_captured, season.other_new) == (
        3,
        2,
        1,
        1,
    )
    assert (season.swarms_lost, season.losses, season.sold, season.united) == (1, 1, 1, 1)
    assert season.at_end == 4  # A, C, the caught swarm, D
    assert season.adds_up
    assert (await queries.season(db, user_id, 2026)).at_start == 4
    page = await (await logged_in.get("/colonies?year=2025")).text()
    assert '<dd data-season="at_start">3</dd>' in page
    assert '<dd data-season="at_end">4</dd>' in page


# --- the hive's boxes ---------------------------------------------------------------------------


async def test_the_boxes_are_described_and_shown_on_the_hive_page(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert "Not described yet" in page
    response = await post(
        logged_in,
        f"/hives/{hive_id}/boxes",
        brood_boxes="2",
        supers="1",
        frames_per_box="10",
        queen_excluder="on",
    )
    assert response.status == 303, await response.text()
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert "2 brood boxes · 1 honey super · 10 frames per box · queen excluder" in page
    form = await (await logged_in.get(f"/hives/{hive_id}/boxes")).text()
    assert 'name="queen_excluder" checked' in form
    assert 'name="feeder">' in form
    response = await post(logged_in, f"/hives/{hive_id}/boxes", brood_boxes="11", supers="-1")
    assert response.status == 422
    text = await response.text()
    assert 'id="brood_boxes-error"' in text
    assert 'id="supers-error"' in text
    db.expire_all()
    stored = await db.get(HiveBoxes, hive_id)
    assert (stored.brood_boxes, stored.supers, stored.feeder) == (2, 1, False)


async def test_a_super_added_or_removed_at_an_inspection_changes_the_boxes(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    assert (await record(logged_in, hive_id, actions=["super_added"])).status == 303
    db.expire_all()
    boxes = await db.get(HiveBoxes, hive_id)
    assert (boxes.brood_boxes, boxes.supers) == (1, 1)  # a hive not described: one brood box
    assert (await record(logged_in, hive_id, actions=["super_added"])).status == 303
    assert (await record(logged_in, hive_id, actions=["super_removed"])).status == 303
    await db.refresh(boxes)
    assert boxes.supers == 1
    page = await (await logged_in.get(f"/hives/{hive_id}")).text()
    assert "1 honey super" in page
    timeline = page.split('id="timeline"')[1]
    assert "super added" in timeline
    assert "super removed" in timeline


# --- QR tags ------------------------------------------------------------------------------------


async def test_the_tag_sheet_has_a_code_for_each_active_hive_opening_its_inspection_form(
    logged_in, db
):
    north = await new_hive_id(logged_in, name="North")
    south = await new_hive_id(logged_in, name="South")
    retired = await new_hive_id(logged_in, name="Retired", status="sold")
    stranger = await make_user(db, name="Other", email="other@example.org")
    db.add(
        Hive(
            owner_id=stranger.id,
            apiary_id=await apiary_of(db, stranger.id),
            name="Not yours",
            location="SRID=4326;POINT(13.4 52.5)",
            frame_type="dadant",
        )
    )
    await db.commit()
    response = await logged_in.get("/hives/tags")
    assert response.status == 200
    page = await response.text()
    sheet = page.split('class="tag-grid"')[1]
    assert sheet.count("<svg") == 2
    origin = str(logged_in.make_url("/")).rstrip("/")
    for hive in (north, south):
        url = f"{origin}/hives/{hive}/inspections/new"
        assert f'href="{url}" data-offline-prefetch' in sheet
        # The code holds exactly that URL: segno draws the same for it.
        assert str(qr_svg(url)) in sheet
    assert f"/hives/{retired}/" not in sheet
    assert "Not yours" not in sheet


async def test_lineages_season_and_tags_of_one_apiary(
    logged_in, db, user, aiohttp_client, settings
):
    garden = await new_hive_id(logged_in, name="Linde", site="Garden")
    roof = await new_hive_id(logged_in, name="Esche", site="Roof")
    eve = await start_colony(logged_in, garden, "2025-06-01")
    adam = await start_colony(logged_in, roof, "2025-06-01")
    await split(logged_in, db, eve, on="2025-07-01", new_hive_name="Birke")  # into Garden
    garden_id = await db.scalar(select(Hive.apiary_id).where(Hive.id == garden))
    page = await (await logged_in.get(f"/colonies?apiary={garden_id}&year=2025")).text()
    lineages = page.split('id="lineages-title"')[1]
    assert f'href="/colonies/{eve}"' in lineages
    assert f'href="/colonies/{adam}"' not in lineages
    assert '<dd data-season="splits">1</dd>' in page
    assert '<dd data-season="at_end">2</dd>' in page  # Eve and her daughter; not Adam
    assert f'<option value="{garden_id}" selected>Garden</option>' in page
    sheet = (await (await logged_in.get(f"/hives/tags?apiary={garden_id}")).text()).split(
        'class="tag-grid"'
    )[1]
    assert sheet.count("<svg") == 2  # Linde and Birke
    assert f"/hives/{roof}/" not in sheet
    # the apiary's page links both
    apiary_page = await (await logged_in.get(f"/apiaries/{garden_id}")).text()
    assert f'href="/colonies?apiary={garden_id}"' in apiary_page
    assert f'href="/hives/tags?apiary={garden_id}"' in apiary_page
    # another's apiary, or no apiary at all, is not found
    stranger = await make_user(db, email="stranger@example.org")
    theirs = await apiary_of(db, stranger.id)
    for path in ("/colonies", "/hives/tags"):
        for asked in (str(theirs), "x", str(2**31)):
            response = await logged_in.get(f"{path}?apiary={asked}")
            assert response.status == 404, (path, asked)


# --- the JSON API -------------------------------------------------------------------------------


async def api_key_of(db, user) -> str:
    made = new_key()
    await key_queries.create_key(db, user.id, name="script", prefix=made.prefix, key_hash=made.hash)
    return made.key


async def test_the_api_records_a_requeen_once_and_lists_the_queen(logged_in, db, user):
    _, colony_id = await colony_with_hive(logged_in)
    key = await api_key_of(db, user)
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "requeen-2025-0001"}
    body = {
        "kind": "requeen",
        "colony_id": colony_id,
        "happened_on": "2025-06-01",
        "year": 2025,
        "marked": True,
        "breeder": "Imkerei Sonnenhang",
    }
    first = await logged_in.post("/api/v1/colony-events", json=body, headers=headers)
    again = await logged_in.post("/api/v1/colony-events", json=body, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert await first.json() == await again.json()
    event = await first.json()
    assert (event["kind"], event["colony_id"]) == ("requeen", colony_id)
    assert first.headers["Location"] == f"/api/v1/colony-events/{event['id']}"
    queens = (await (await logged_in.get("/api/v1/queens", headers=headers)).json())["items"]
    assert [(q["id"], q["colour"], q["marked"], q["status"]) for q in queens] == [
        (event["queen_id"], "blue", True, "laying")
    ]
    one = await logged_in.get(f"/api/v1/queens/{event['queen_id']}", headers=headers)
    assert (await one.json())["breeder"] == "Imkerei Sonnenhang"
    listed = await (await logged_in.get("/api/v1/colony-events", headers=headers)).json()
    assert [item["kind"] for item in listed["items"]] == ["requeen", "started"]
    colonies = await (await logged_in.get("/api/v1/colonies", headers=headers)).json()
    assert [(c["id"], c["status"]) for c in colonies["items"]] == [(colony_id, "alive")]
    reused = await logged_in.post(
        "/api/v1/colony-events", json={**body, "year": 2024}, headers=headers
    )
    assert reused.status == 422
    assert await count(db, Queen) == 1


async def test_the_api_refuses_an_event_that_cannot_be(logged_in, db, user):
    _, colony_id = await colony_with_hive(logged_in)
    headers = {"Authorization": f"Bearer {await api_key_of(db, user)}"}
    union = {"kind": "union", "colony_id": colony_id, "happened_on": "2025-07-01"}
    response = await logged_in.post(
        "/api/v1/colony-events", json={**union, "other_colony_id": colony_id}, headers=headers
    )
    assert response.status == 422
    problem = await response.json()
    assert problem["errors"][0]["location"] == ["body", "other_colony_id"]
    assert problem["errors"][0]["message"] == "A colony cannot be united with itself."
    died = {"kind": "died", "colony_id": colony_id, "happened_on": "2025-07-01"}
    assert (await logged_in.post("/api/v1/colony-events", json=died, headers=headers)).status == 201
    response = await logged_in.post("/api/v1/colony-events", json=died, headers=headers)
    assert response.status == 422
    assert (await response.json())["errors"][0]["location"] == ["body", "colony_id"]
    missing = {**died, "colony_id": colony_id + 1000}
    response = await logged_in.post("/api/v1/colony-events", json=missing, headers=headers)
    assert response.status == 404
    assert await count(db, ColonyEvent) == 2


async def test_the_api_describes_a_hives_boxes(logged_in, db, user):
    hive_id = await new_hive_id(logged_in)
    headers = {"Authorization": f"Bearer {await api_key_of(db, user)}"}
    path = f"/api/v1/hives/{hive_id}/boxes"
    before = await (await logged_in.get(path, headers=headers)).json()
    assert (before["described"], before["brood_boxes"], before["supers"]) == (False, 1, 0)
    body = {"brood_boxes": 2, "supers": 3, "feeder": True, "frames_per_box": 10}
    response = await logged_in.put(path, json=body, headers=headers)
    assert response.status == 200
    stored = await response.json()
    assert (stored["described"], stored["supers"], stored["feeder"]) == (True, 3, True)
    response = await logged_in.put(path, json={**body, "supers": 21}, headers=headers)
    assert response.status == 422
    assert (await response.json())["errors"][0]["location"] == ["body", "supers"]
    assert (await (await logged_in.get(path, headers=headers)).json())["supers"] == 3

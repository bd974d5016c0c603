"""Colonies, their queens and their events, and what each event does.

Every event is written in one transaction with its effects: a split makes the daughter colony
(in a hive of the user's, or a new one beside the mother's), a union ends the joined colony and
frees its hive, a requeen retires the old queen and brings in the new one, a death or a sale
ends the colony. What cannot be is refused with `Refused` naming the field, before anything is
written: the caller's transaction rolls back, nothing is saved.

Colonies are read and changed through their hive's apiary (app/web/auth.py: hives_of): every
member reads them, owners and keepers record their events. A colony whose hive is gone, and a
queen of no colony, stay with the account that recorded them (`owner_id`). A colony or queen a
member makes is recorded under their name (`owner_id`: who recorded it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.colonies.schemas import (
    BoxesForm,
    DiedForm,
    QueenFields,
    QueenForm,
    RequeenForm,
    SoldForm,
    SplitForm,
    StartForm,
    SwarmCapturedForm,
    SwarmLostForm,
    UnionForm,
    colour_of,
)
from app.models import (
    Alert,
    AlertKind,
    Apiary,
    Colony,
    ColonyEvent,
    ColonyEventKind,
    ColonyOrigin,
    ColonyStatus,
    Hive,
    HiveBoxes,
    HiveStatus,
    Queen,
    QueenStatus,
    User,
)
from app.web.auth import apiaries_of, hives_of
from app.web.i18n import N_

NOT_ALIVE = N_("This colony is no longer alive: it can have no more events.")
IN_THE_FUTURE = N_("This day has not come yet.")
BEFORE_THE_HIVE = N_("The hive did not exist yet on this day.")
HIVE_TAKEN = N_("This hive already holds a living colony.")
NOT_YOUR_HIVE = N_("Choose one of your hives.")
HIVE_OR_NAME = N_("Choose a hive, or name the new one.")
NOT_YOUR_COLONY = N_("Choose one of your living colonies.")
NOT_ITSELF = N_("A colony cannot be united with itself.")
NOT_YOUR_QUEEN = N_("Choose one of your queens.")
OWN_ANCESTOR = N_("A queen cannot be her own ancestor.")
NOT_A_SWARM_ALERT = N_("Choose a swarm alert of this hive.")
# Queens who still head their colony, as far as the beekeeper knows.
HEADING = (QueenStatus.laying, QueenStatus.missing)


class Refused(ValueError):
    """An event that cannot be: `field` is the form field the message belongs beside."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- reading ---------------------------------------------------------------------------------


def colony_access(user_id: int, *, change: bool = False) -> ColumnElement[bool]:
    """Whether `user_id` may read a Colony (with `change`, record its events): its hive is one
    they may read (change), or it has no hive any more and they recorded it."""
    hives = hives_of(user_id, change=change).with_only_columns(Hive.id)
    return Colony.hive_id.in_(hives) | (Colony.hive_id.is_(None) & (Colony.owner_id == user_id))


def in_apiary(apiary_id: int | None) -> ColumnElement[bool]:
    """Whether a Colony lives (or last lived) in a hive of the apiary; any, without one."""
    if apiary_id is None:
        return true()
    return Colony.hive_id.in_(select(Hive.id).where(Hive.apiary_id == apiary_id))


async def apiary_choices(db: AsyncSession, user_id: int) -> list[tuple[int, str]]:
    """The apiaries `user_id` may read, as (id, name), to narrow a page to one of them."""
    rows = await db.execute(
        select(Apiary.id, Apiary.name)
        .where(Apiary.id.in_(apiaries_of(user_id)), Apiary.archived_at.is_(None))
        .order_by(Apiary.name, Apiary.id)
    )
    return [(apiary_id, name) for apiary_id, name in rows]


def queen_access(user_id: int, *, change: bool = False) -> ColumnElement[bool]:
    """Whether `user_id` may read (change) a Queen: through her colony, as colony_access; a
    queen of no colony is her recorder's."""
    colonies = select(Colony.id).where(colony_access(user_id, change=change))
    return Queen.colony_id.in_(colonies) | (Queen.colony_id.is_(None) & (Queen.owner_id == user_id))


async def colony_of(
    db: AsyncSession, user_id: int, colony_id: int, *, change: bool = False
) -> Colony | None:
    """The colony if `user_id` may read it (with `change`, record its events); None otherwise,
    exactly as for one that never was."""
    colony: Colony | None = await db.scalar(
        select(Colony)
        .where(Colony.id == colony_id, colony_access(user_id, change=change))
        .execution_options(populate_existing=True)
    )
    return colony


async def name_of(db: AsyncSession, user_id: int) -> str | None:
    """The name of the account that recorded a colony or queen (None: deleted since)."""
    return await db.scalar(select(User.name).where(User.id == user_id))


async def living_colony_in(db: AsyncSession, hive_id: int) -> Colony | None:
    colony: Colony | None = await db.scalar(
        select(Colony).where(Colony.hive_id == hive_id, Colony.status == ColonyStatus.alive)
    )
    return colony


async def colonies_of(
    db: AsyncSession, user_id: int, *, alive: bool = False, change: bool = False
) -> list[Colony]:
    """The colonies `user_id` may read (with `change`, change); with `alive`, the living."""
    query = select(Colony).where(colony_access(user_id, change=change))
    if alive:
        query = query.where(Colony.status == ColonyStatus.alive)
    return list(await db.scalars(query.order_by(Colony.name, Colony.id)))


async def hive_of(db: AsyncSession, colony: Colony) -> Hive | None:
    if colony.hive_id is None:
        return None
    return await db.get(Hive, colony.hive_id)


async def free_hives_of(db: AsyncSession, user_id: int) -> list[Hive]:
    """The hives `user_id` may change that hold no living colony: where a split or a swarm may
    go."""
    living = select(Colony.hive_id).where(
        Colony.status == ColonyStatus.alive, Colony.hive_id.is_not(None)
    )
    return list(
        await db.scalars(
            hives_of(user_id, change=True)
            .with_only_columns(Hive)
            .where(Hive.id.not_in(living))
            .order_by(Hive.name, Hive.id)
        )
    )


def heading(colony_id: int) -> Select[Queen]:
    return select(Queen).where(Queen.colony_id == colony_id, Queen.status.in_(HEADING))


async def current_queen(db: AsyncSession, colony_id: int) -> Queen | None:
    """The queen heading the colony: the newest one laying (or missing, not yet replaced)."""
    queen: Queen | None = await db.scalar(
        heading(colony_id).order_by(Queen.introduced_on.desc().nulls_last(), Queen.id.desc())
    )
    return queen


async def queens_of_colony(db: AsyncSession, colony_id: int) -> list[Queen]:
    return list(
        await db.scalars(
            select(Queen)
            .where(Queen.colony_id == colony_id)
            .order_by(Queen.introduced_on.desc().nulls_last(), Queen.id.desc())
        )
    )


async def queens_of(db: AsyncSession, user_id: int) -> list[Queen]:
    """The queens `user_id` may read."""
    return list(
        await db.scalars(
            select(Queen).where(queen_access(user_id)).order_by(Queen.year.desc(), Queen.id)
        )
    )


async def queen_of(
    db: AsyncSession, user_id: int, queen_id: int, *, change: bool = False
) -> Queen | None:
    """The queen if `user_id` may read her (with `change`, change her details)."""
    queen: Queen | None = await db.scalar(
        select(Queen).where(Queen.id == queen_id, queen_access(user_id, change=change))
    )
    return queen


async def swarm_alerts_of(db: AsyncSession, hive_id: int) -> list[Alert]:
    return list(
        await db.scalars(
            select(Alert)
            .where(Alert.hive_id == hive_id, Alert.kind == AlertKind.swarm)
            .order_by(Alert.raised_at.desc())
            .limit(20)
        )
    )


@dataclass(frozen=True)
class EventView:
    """An event with the names of the colonies on both sides, as a timeline shows it."""

    event: ColonyEvent
    colony_name: str
    other_colony_name: str | None
    by: str | None = None  # the name of the member who recorded it, where known
    at: datetime | None = None  # a day's event has no moment: after the day's timed entries

    @property
    def day(self) -> date:
        return self.event.happened_on

    kind = "colony"  # the hive timeline's kind of entry


async def _views(db: AsyncSession, where: object, limit: int) -> list[EventView]:
    other = aliased(Colony)
    rows = await db.execute(
        select(ColonyEvent, Colony.name, other.name, User.name)
        .join(Colony, Colony.id == ColonyEvent.colony_id)
        .outerjoin(other, other.id == ColonyEvent.other_colony_id)
        .outerjoin(User, User.id == ColonyEvent.recorded_by)
        .where(where)  # type: ignore[arg-type]
        .order_by(ColonyEvent.happened_on.desc(), ColonyEvent.id.desc())
        .limit(limit)
    )
    return [EventView(row[0], row[1], row[2], row[3]) for row in rows]


async def events_of_colony(db: AsyncSession, colony_id: int, limit: int = 200) -> list[EventView]:
    """The colony's events, and the events of other colonies that made or joined it."""
    where = or_(ColonyEvent.colony_id == colony_id, ColonyEvent.other_colony_id == colony_id)
    return await _views(db, where, limit)


async def events_of_hive(db: AsyncSession, hive_id: int, limit: int = 100) -> list[EventView]:
    """The events that happened in the hive, or that took bees into it or out of it."""
    where = or_(ColonyEvent.hive_id == hive_id, ColonyEvent.other_hive_id == hive_id)
    return await _views(db, where, limit)


# --- checks ------------------------------------------------------------------------------------


def hive_since(hive: Hive) -> date:
    """The first day the hive existed: installed, else added to CityHive."""
    return hive.installed_on or hive.created_at.date()


def check_day(day: date, hive: Hive | None, today: date) -> None:
    if day > today:
        raise Refused("happened_on", IN_THE_FUTURE)
    if hive is not None and day < hive_since(hive):
        raise Refused("happened_on", BEFORE_THE_HIVE)


def check_alive(colony: Colony) -> None:
    if colony.status != ColonyStatus.alive:
        raise Refused("colony", NOT_ALIVE)


async def check_empty(db: AsyncSession, hive: Hive, field: str) -> None:
    if await living_colony_in(db, hive.id) is not None:
        raise Refused(field, HIVE_TAKEN)


async def checked_mother(db: AsyncSession, user_id: int, queen: QueenFields) -> int | None:
    """The mother named, if `user_id` may read her."""
    if queen.mother_id is None:
        return None
    if await queen_of(db, user_id, queen.mother_id) is None:
        raise Refused("mother_id", NOT_YOUR_QUEEN)
    return queen.mother_id


async def ancestors_of_queen(db: AsyncSession, queen_id: int) -> list[int]:
    """The queen's mother, grandmother and so on (a cycle stops the walk)."""
    found: list[int] = []
    mother = await db.scalar(select(Queen.mother_id).where(Queen.id == queen_id))
    while mother is not None and mother not in found:
        found.append(mother)
        mother = await db.scalar(select(Queen.mother_id).where(Queen.id == mother))
    return found


# --- the events --------------------------------------------------------------------------------


async def _event(
    db: AsyncSession, colony: Colony, kind: ColonyEventKind, by: int | None, **values: object
) -> int:
    """Record an event of `colony`, in the name of `by` (the member who recorded it)."""
    event = ColonyEvent(
        colony_id=colony.id, kind=kind, hive_id=colony.hive_id, recorded_by=by, **values
    )
    db.add(event)
    await db.flush()
    return event.id


async def _new_colony(db: AsyncSession, owner_id: int, hive: Hive, name: str, day: date) -> Colony:
    colony = Colony(owner_id=owner_id, hive_id=hive.id, name=name or hive.name, started_on=day)
    db.add(colony)
    hive.status = HiveStatus.active
    await db.flush()
    return colony


async def start(
    db: AsyncSession, owner_id: int, hive: Hive, data: StartForm, today: date
) -> Colony:
    """A colony that came to an empty hive."""
    check_day(data.happened_on, hive, today)
    await check_empty(db, hive, "name")
    colony = await _new_colony(db, owner_id, hive, data.name, data.happened_on)
    await _event(
        db, colony, ColonyEventKind.started, owner_id, happened_on=data.happened_on, note=data.note
    )
    return colony


async def _split_target(db: AsyncSession, by: int, hive: Hive, data: SplitForm) -> Hive:
    """The hive the daughter goes into: an empty one that `by` may change, or a new one standing
    beside the mother's, in her apiary, added by `by`."""
    if data.hive_id is not None:
        target: Hive | None = await db.scalar(
            hives_of(by, change=True).with_only_columns(Hive).where(Hive.id == data.hive_id)
        )
        if target is None:
            raise Refused("hive_id", NOT_YOUR_HIVE)
        await check_empty(db, target, "hive_id")
        return target
    if not data.new_hive_name:
        raise Refused("new_hive_name", HIVE_OR_NAME)
    target = Hive(
        owner_id=by,
        name=data.new_hive_name,
        location=hive.location,
        apiary_id=hive.apiary_id,
        frame_type=hive.frame_type,
        origin=ColonyOrigin.split,
        installed_on=data.happened_on,
    )
    db.add(target)
    await db.flush()
    return target


async def split(
    db: AsyncSession, mother: Colony, data: SplitForm, today: date, by: int | None = None
) -> tuple[Colony, int]:
    """A daughter colony made from `mother` by `by` (the colony's recorder if not given): (the
    daughter, the event's id)."""
    by = mother.owner_id if by is None else by
    check_alive(mother)
    hive = await hive_of(db, mother)
    check_day(data.happened_on, hive, today)
    if hive is None:
        raise Refused("colony", NOT_ALIVE)
    target = await _split_target(db, by, hive, data)
    daughter = await _new_colony(db, by, target, target.name, data.happened_on)
    event_id = await _event(
        db,
        mother,
        ColonyEventKind.split,
        by,
        happened_on=data.happened_on,
        note=data.note,
        other_colony_id=daughter.id,
        other_hive_id=target.id,
        frames_of_brood=data.frames_of_brood,
        frames_of_bees=data.frames_of_bees,
    )
    return daughter, event_id


async def _end(db: AsyncSession, colony: Colony, status: ColonyStatus, day: date) -> None:
    colony.status = status
    colony.ended_on = day
    await db.flush()


async def union(
    db: AsyncSession, colony: Colony, data: UnionForm, today: date, by: int | None = None
) -> int:
    """The other colony (one `by` may change) joined into this one's hive: it ends (united),
    its hive is freed and its queen is replaced by this colony's."""
    by = colony.owner_id if by is None else by
    check_alive(colony)
    check_day(data.happened_on, await hive_of(db, colony), today)
    if data.other_colony_id == colony.id:
        raise Refused("other_colony_id", NOT_ITSELF)
    other = await colony_of(db, by, data.other_colony_id, change=True)
    if other is None or other.status != ColonyStatus.alive:
        raise Refused("other_colony_id", NOT_YOUR_COLONY)
    freed = await hive_of(db, other)
    await _end(db, other, ColonyStatus.united, data.happened_on)
    if freed is not None:
        freed.status = HiveStatus.merged
    for queen in await db.scalars(heading(other.id)):
        queen.status = QueenStatus.replaced
    return await _event(
        db,
        colony,
        ColonyEventKind.union,
        by,
        happened_on=data.happened_on,
        note=data.note,
        other_colony_id=other.id,
        other_hive_id=other.hive_id,
    )


async def requeen(
    db: AsyncSession, colony: Colony, data: RequeenForm, today: date, by: int | None = None
) -> int:
    """A new queen (recorded by `by`) heads the colony; the one before (if any) goes as
    `old_queen_fate` says."""
    by = colony.owner_id if by is None else by
    check_alive(colony)
    check_day(data.happened_on, await hive_of(db, colony), today)
    mother_id = await checked_mother(db, by, data)
    for old in await db.scalars(heading(colony.id)):
        old.status = data.old_queen_fate
    queen = Queen(
        owner_id=by,
        colony_id=colony.id,
        year=data.year,
        colour=(data.colour or colour_of(data.year)).value,
        marked=data.marked,
        clipped=data.clipped,
        race=data.race,
        origin=data.origin,
        breeder=data.breeder,
        mother_id=mother_id,
        introduced_on=data.happened_on,
        status=QueenStatus.laying,
    )
    db.add(queen)
    await db.flush()
    return await _event(
        db,
        colony,
        ColonyEventKind.requeen,
        by,
        happened_on=data.happened_on,
        note=data.note,
        queen_id=queen.id,
        old_queen_fate=data.old_queen_fate,
    )


async def swarm_lost(
    db: AsyncSession, colony: Colony, data: SwarmLostForm, today: date, by: int | None = None
) -> int:
    """The colony swarmed and the swarm got away: a record, with the alert it answers."""
    check_alive(colony)
    check_day(data.happened_on, await hive_of(db, colony), today)
    if data.alert_id is not None:
        alert = await db.get(Alert, data.alert_id)
        if alert is None or alert.hive_id != colony.hive_id or alert.kind != AlertKind.swarm:
            raise Refused("alert_id", NOT_A_SWARM_ALERT)
    return await _event(
        db,
        colony,
        ColonyEventKind.swarm_lost,
        by,
        happened_on=data.happened_on,
        note=data.note,
        alert_id=data.alert_id,
    )


async def swarm_captured(
    db: AsyncSession, owner_id: int, hive: Hive, data: SwarmCapturedForm, today: date
) -> Colony:
    """A swarm caught into an empty hive: a new colony, from a colony the user may read when
    they know it. A city swarm report it came from is closed by the caller (the swarms
    room's rule: only its claimer may), in this transaction."""
    check_day(data.happened_on, hive, today)
    await check_empty(db, hive, "name")
    source = data.from_colony_id
    if source is not None and await colony_of(db, owner_id, source) is None:
        raise Refused("from_colony_id", NOT_YOUR_COLONY)
    colony = await _new_colony(db, owner_id, hive, data.name, data.happened_on)
    await _event(
        db,
        colony,
        ColonyEventKind.swarm_captured,
        owner_id,
        happened_on=data.happened_on,
        note=data.note,
        other_colony_id=data.from_colony_id,
        swarm_report_id=data.swarm_report_id,
    )
    return colony


async def died(
    db: AsyncSession, colony: Colony, data: DiedForm, today: date, by: int | None = None
) -> int:
    """The colony is dead: it ends, its hive is a dead-out and its queens are dead."""
    check_alive(colony)
    hive = await hive_of(db, colony)
    check_day(data.happened_on, hive, today)
    await _end(db, colony, ColonyStatus.dead, data.happened_on)
    if hive is not None:
        hive.status = HiveStatus.dead_out
    for queen in await db.scalars(heading(colony.id)):
        queen.status = QueenStatus.dead
    return await _event(
        db,
        colony,
        ColonyEventKind.died,
        by,
        happened_on=data.happened_on,
        note=data.note,
        detail=data.detail,
    )


async def sold(
    db: AsyncSession, colony: Colony, data: SoldForm, today: date, by: int | None = None
) -> int:
    """The colony was sold or given away, with its hive and its queen."""
    check_alive(colony)
    hive = await hive_of(db, colony)
    check_day(data.happened_on, hive, today)
    await _end(db, colony, ColonyStatus.sold, data.happened_on)
    if hive is not None:
        hive.status = HiveStatus.sold
    return await _event(
        db,
        colony,
        ColonyEventKind.sold,
        by,
        happened_on=data.happened_on,
        note=data.note,
        detail=data.detail,
    )


async def update_queen(db: AsyncSession, queen: Queen, data: QueenForm, by: int) -> None:
    """A queen's details corrected by `by`; her mother must be one they may read and not her
    own descendant."""
    mother_id = await checked_mother(db, by, data)
    if mother_id is not None and (
        mother_id == queen.id or queen.id in await ancestors_of_queen(db, mother_id)
    ):
        raise Refused("mother_id", OWN_ANCESTOR)
    queen.year = data.year
    queen.colour = (data.colour or colour_of(data.year)).value
    queen.marked = data.marked
    queen.clipped = data.clipped
    queen.race = data.race
    queen.origin = data.origin
    queen.breeder = data.breeder
    queen.mother_id = mother_id
    queen.introduced_on = data.introduced_on
    queen.status = data.status
    await db.flush()


# --- the season --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Season:
    """A year of the user's colonies, as a beekeepers' association asks for it each autumn."""

    year: int
    at_start: int
    splits: int
    swarms_captured: int
    other_new: int  # bought, nuclei, packages
    swarms_lost: int
    losses: int
    sold: int
    united: int
    at_end: int

    @property
    def adds_up(self) -> bool:
        gained = self.splits + self.swarms_captured + self.other_new
        return self.at_start + gained - self.losses - self.sold - self.united == self.at_end


def _alive_on(day: date) -> object:
    return (Colony.started_on <= day) & (Colony.ended_on.is_(None) | (Colony.ended_on > day))


async def season(db: AsyncSession, user_id: int, year: int, apiary_id: int | None = None) -> Season:
    """The year of the colonies `user_id` may read (in the apiary `apiary_id`, if given)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    mine = colony_access(user_id) & in_apiary(apiary_id)

    async def colonies(*where: object) -> int:
        counted = await db.scalar(select(func.count()).select_from(Colony).where(mine, *where))  # type: ignore[arg-type]
        return int(counted or 0)

    async def events(kind: ColonyEventKind) -> int:
        counted = await db.scalar(
            select(func.count())
            .select_from(ColonyEvent)
            .join(Colony, Colony.id == ColonyEvent.colony_id)
            .where(mine, ColonyEvent.kind == kind, ColonyEvent.happened_on.between(first, last))
        )
        return int(counted or 0)

    def ended(status: ColonyStatus) -> object:
        return (Colony.status == status) & Colony.ended_on.between(first, last)

    splits = await events(ColonyEventKind.split)
    captured = await events(ColonyEventKind.swarm_captured)
    new = await colonies(Colony.started_on.between(first, last))
    return Season(
        year=year,
        at_start=await colonies(_alive_on(first - timedelta(days=1))),
        splits=splits,
        swarms_captured=captured,
        other_new=new - splits - captured,
        swarms_lost=await events(ColonyEventKind.swarm_lost),
        losses=await colonies(ended(ColonyStatus.dead)),
        sold=await colonies(ended(ColonyStatus.sold)),
        united=await colonies(ended(ColonyStatus.united)),
        at_end=await colonies(_alive_on(last)),
    )


# --- the hive's boxes --------------------------------------------------------------------------


async def boxes_of(db: AsyncSession, hive_id: int) -> HiveBoxes | None:
    """What the hive is built of; None until it is described (or a super is added)."""
    return await db.get(HiveBoxes, hive_id, populate_existing=True)


async def save_boxes(db: AsyncSession, hive_id: int, data: BoxesForm) -> None:
    values = data.model_dump()
    await db.execute(
        insert(HiveBoxes)
        .values(hive_id=hive_id, **values)
        .on_conflict_do_update(
            index_elements=[HiveBoxes.hive_id], set_={**values, "updated_at": func.now()}
        )
    )

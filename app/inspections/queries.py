"""The field log's SQL: inspections, harvests, the Today view, the timeline, the calendar.

Every query is scoped through the hive to the members of its apiary (app/web/auth.py): a
record of a hive the user may not read is not found, and one they may only read (a viewer's) is
not found for a change either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import case, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.inspections.schemas import HarvestForm, InspectionForm, ScheduleForm, mites_per_100
from app.models import (
    CalendarFeed,
    Harvest,
    HarvestShare,
    Hive,
    HiveBoxes,
    HiveStatus,
    Inspection,
    MedicinePurchase,
    QueenCells,
    TreatedHive,
    Treatment,
    TreatmentMethod,
    User,
    VarroaMethod,
)
from app.web.auth import MEMBERS_HIVE, apiaries_of, members_hive_sql, roles_for
from app.web.formatting import number
from app.web.i18n import N_, _, ngettext

# Natural drop is counted per day on the board; above this many mites a day, treat.
NATURAL_DROP_PER_DAY_LIMIT = 10.0


def season_of(day: date) -> tuple[date, date]:
    """A beekeeping season is the calendar year (northern hemisphere)."""
    return date(day.year, 1, 1), date(day.year, 12, 31)


def members_hive(user_id: int, *, change: bool = False) -> Any:
    """The condition on `Hive` that `user_id` may read it (with `change`, change it)."""
    return Hive.apiary_id.in_(apiaries_of(user_id, roles_for(change=change)))


def sql_access(user_id: int, *, change: bool = False) -> dict[str, Any]:
    """The parameters of MEMBERS_HIVE in the plain-SQL statements below."""
    return {"user_id": user_id, "roles": [role.value for role in roles_for(change=change)]}


async def name_of(db: AsyncSession, user_id: int | None) -> str | None:
    """The name of the account that recorded something (None: unknown, or deleted since)."""
    return None if user_id is None else await db.scalar(select(User.name).where(User.id == user_id))


# --- Inspections ---------------------------------------------------------------------------


async def inspection_of(
    db: AsyncSession, user_id: int, inspection_id: int, *, change: bool = False
) -> tuple[Inspection, Hive] | None:
    """The inspection and its hive, if `user_id` may read it (with `change`, change it)."""
    row = (
        await db.execute(
            select(Inspection, Hive)
            .join(Hive, Hive.id == Inspection.hive_id)
            .where(Inspection.id == inspection_id, members_hive(user_id, change=change))
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def open_schedule_of(db: AsyncSession, hive_id: int, schedule_id: int) -> Inspection | None:
    return (
        await db.execute(
            select(Inspection).where(
                Inspection.id == schedule_id,
                Inspection.hive_id == hive_id,
                Inspection.done_at.is_(None),
            )
        )
    ).scalar_one_or_none()


async def previous_inspection(db: AsyncSession, hive_id: int) -> Inspection | None:
    """The hive's latest recorded inspection: what the beekeeper saw last time."""
    return (
        await db.execute(
            select(Inspection)
            .where(Inspection.hive_id == hive_id, Inspection.done_at.is_not(None))
            .order_by(Inspection.done_at.desc(), Inspection.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def inspections_of(
    db: AsyncSession, user_id: int, hive_id: int | None, limit: int
) -> list[Inspection]:
    """The inspections of the hives `user_id` may read (of one hive, if given), newest first."""
    query = (
        select(Inspection)
        .join(Hive, Hive.id == Inspection.hive_id)
        .where(members_hive(user_id))
        .order_by(Inspection.id.desc())
        .limit(limit)
    )
    if hive_id is not None:
        query = query.where(Inspection.hive_id == hive_id)
    return list(await db.scalars(query))


async def schedule(db: AsyncSession, hive_id: int, form: ScheduleForm, by: int) -> int:
    """Plan an inspection of the hive; `by` is the member who plans it."""
    inspection = Inspection(
        hive_id=hive_id,
        scheduled_for=form.scheduled_for,
        schedule_note=form.schedule_note,
        recorded_by=by,
    )
    db.add(inspection)
    await db.flush()
    return inspection.id


def _checklist(form: InspectionForm) -> dict[str, Any]:
    values = form.model_dump(exclude={"next_inspection_on"})
    values["weather_conditions"] = form.weather_conditions or ""
    values["actions"] = list(dict.fromkeys(form.actions))
    return values


async def record(
    db: AsyncSession,
    hive_id: int,
    form: InspectionForm,
    schedule_id: int | None = None,
    *,
    by: int,
) -> int:
    """Record an inspection (filling in its schedule, if any) and schedule the next one; `by`
    is the member who recorded it (of a schedule, whoever planned it gives way to them)."""
    scheduled = None if schedule_id is None else await open_schedule_of(db, hive_id, schedule_id)
    if scheduled is None:
        scheduled = Inspection(hive_id=hive_id)
        db.add(scheduled)
    for name, value in _checklist(form).items():
        setattr(scheduled, name, value)
    scheduled.recorded_by = by
    if form.next_inspection_on is not None:
        await _schedule_once(db, hive_id, form.next_inspection_on, by)
    await _boxes_follow(db, hive_id, form.actions)
    await db.flush()
    return scheduled.id


async def _boxes_follow(db: AsyncSession, hive_id: int, actions: Sequence[str]) -> None:
    """A super added or removed at the inspection changes the hive's boxes: one more (a hive
    not yet described is one brood box and this super), or one fewer (never below none)."""
    if "super_added" in actions:
        await db.execute(
            insert(HiveBoxes)
            .values(hive_id=hive_id, supers=1)
            .on_conflict_do_update(
                index_elements=[HiveBoxes.hive_id],
                set_={"supers": func.least(HiveBoxes.supers + 1, 20), "updated_at": func.now()},
            )
        )
    if "super_removed" in actions:
        await db.execute(
            update(HiveBoxes)
            .where(HiveBoxes.hive_id == hive_id)
            .values(supers=func.greatest(HiveBoxes.supers - 1, 0), updated_at=func.now())
        )


async def correct(
    db: AsyncSession, inspection: Inspection, form: InspectionForm, *, by: int
) -> None:
    """Write the checklist over a recorded inspection (it stays its recorder's), or record a
    scheduled one (then `by`, who records it, is its recorder)."""
    stored = await db.get_one(Inspection, inspection.id)
    if stored.done_at is None:
        stored.recorded_by = by
    for name, value in _checklist(form).items():
        setattr(stored, name, value)
    if form.next_inspection_on is not None:
        await _schedule_once(db, stored.hive_id, form.next_inspection_on, by)
    await db.flush()


async def _schedule_once(db: AsyncSession, hive_id: int, day: date, by: int) -> None:
    """Schedule `day` unless the hive already has an open schedule that day."""
    exists = await db.scalar(
        select(Inspection.id).where(
            Inspection.hive_id == hive_id,
            Inspection.done_at.is_(None),
            Inspection.scheduled_for == day,
        )
    )
    if exists is None:
        db.add(Inspection(hive_id=hive_id, scheduled_for=day, recorded_by=by))


async def mark_done(db: AsyncSession, inspection: Inspection, at: datetime) -> None:
    await db.execute(
        update(Inspection)
        .where(Inspection.id == inspection.id, Inspection.done_at.is_(None))
        .values(done_at=at)
    )


async def reschedule(db: AsyncSession, inspection: Inspection, day: date) -> None:
    await db.execute(
        update(Inspection)
        .where(Inspection.id == inspection.id, Inspection.done_at.is_(None))
        .values(scheduled_for=day)
    )


async def delete_inspection(db: AsyncSession, inspection: Inspection) -> None:
    await db.execute(delete(Inspection).where(Inspection.id == inspection.id))


def queen_cells_seen(kind: QueenCells, count: int | None) -> str:
    """'3 swarm queen cells', or 'Some swarm queen cells' when they were not counted."""
    if kind is QueenCells.swarm:
        if count:
            return ngettext("%(num)s swarm queen cell", "%(num)s swarm queen cells", count)
        return _("Some swarm queen cells")
    if kind is QueenCells.supersedure:
        if count:
            return ngettext(
                "%(num)s supersedure queen cell", "%(num)s supersedure queen cells", count
            )
        return _("Some supersedure queen cells")
    if count:
        return ngettext("%(num)s emergency queen cell", "%(num)s emergency queen cells", count)
    return _("Some emergency queen cells")


def worries(inspection: Inspection | Glance, varroa_limit: float) -> list[str]:
    """What a beekeeper should not miss in an inspection (a stored one, or Today's glance at
    one), in words, in the request's language."""
    found: list[str] = []
    if inspection.queen_seen is False and inspection.eggs_seen is False:
        found.append(_("No queen and no eggs seen"))
    if inspection.queen_cells is not None and inspection.queen_cells is not QueenCells.none:
        found.append(queen_cells_seen(inspection.queen_cells, inspection.queen_cell_count))
    load = mites_per_100(
        inspection.varroa_count, inspection.varroa_method, inspection.varroa_sample
    )
    if load is not None and load > varroa_limit:
        found.append(_("Varroa %(load)s per 100 bees", load=number(load)))
    if (
        inspection.varroa_method is VarroaMethod.natural_drop
        and inspection.varroa_count is not None
        and inspection.varroa_sample
        and inspection.varroa_count / inspection.varroa_sample > NATURAL_DROP_PER_DAY_LIMIT
    ):
        per_day = inspection.varroa_count / inspection.varroa_sample
        found.append(_("Varroa drop %(count)s a day", count=number(per_day, 0)))
    return found


# --- Harvests -----------------------------------------------------------------------------


async def active_hives_of(db: AsyncSession, user_id: int) -> list[Hive]:
    """The active hives `user_id` may record a harvest of (those they may change)."""
    rows = await db.scalars(
        select(Hive)
        .where(members_hive(user_id, change=True), Hive.status == HiveStatus.active)
        .order_by(Hive.site, Hive.name)
    )
    return list(rows)


async def changeable_hive_ids(db: AsyncSession, user_id: int, hive_ids: list[int]) -> set[int]:
    """Those of `hive_ids` that `user_id` may change (record a harvest of)."""
    rows = await db.scalars(
        select(Hive.id).where(members_hive(user_id, change=True), Hive.id.in_(hive_ids))
    )
    return set(rows)


@dataclass
class HarvestWithheld(Exception):
    """A harvest from a hive that is inside a treatment's withdrawal period, or has treatment
    strips in: refused, with the first day honey may be taken from it (if strips are in, the
    first day after taking them out today, or at the treatment's planned end)."""

    hive_name: str
    product: str
    allowed_on: date
    strips_in: bool

    def message(self, shown_date: str) -> str:
        """Why, in the reader's language, with the date as the reader writes it."""
        return _(
            STRIPS_IN if self.strips_in else WITHDRAWAL,
            hive=self.hive_name,
            product=self.product,
            date=shown_date,
        )


WITHDRAWAL = N_(
    "%(hive)s is inside the withdrawal period of %(product)s: "
    "honey may be taken from it from %(date)s."
)
STRIPS_IN = N_(
    "%(hive)s still has %(product)s strips in: take them out first. "
    "Honey may be taken from it from %(date)s at the earliest."
)


async def withdrawal_of(db: AsyncSession, hive_ids: list[int], day: date) -> HarvestWithheld | None:
    """The withdrawal guard, the one rule: a harvest on `day` from these hives is withheld while
    a treatment given to one of them has begun and honey is not yet allowed again (the database
    computes `harvest_allowed_on`, app/models.py), or while its strips are still in."""
    strips_in = (Treatment.method == TreatmentMethod.strips) & Treatment.strips_removed_on.is_(None)
    allowed_on = case(
        (strips_in, func.greatest(Treatment.ends_on, day) + Treatment.withdrawal_days + 1),
        else_=Treatment.harvest_allowed_on,
    )
    row = (
        await db.execute(
            select(TreatedHive.hive_name, MedicinePurchase.product, allowed_on, strips_in)
            .join(Treatment, Treatment.id == TreatedHive.treatment_id)
            .join(MedicinePurchase, MedicinePurchase.id == Treatment.purchase_id)
            .where(
                TreatedHive.hive_id.in_(hive_ids),
                Treatment.started_on <= day,
                strips_in | (Treatment.harvest_allowed_on > day),
            )
            .order_by(allowed_on.desc(), TreatedHive.hive_name)
            .limit(1)
        )
    ).first()
    return None if row is None else HarvestWithheld(row[0], row[1], row[2], bool(row[3]))


async def create_harvest(db: AsyncSession, owner_id: int, form: HarvestForm) -> int:
    """The harvest and its shares, recorded by `owner_id` (the member who took it; the harvest
    is read through its hives); HarvestWithheld (nothing written) when the withdrawal guard
    refuses it."""
    withheld = await withdrawal_of(db, form.hive_ids, form.harvested_on)
    if withheld is not None:
        raise withheld
    shares = form.shares()
    harvest = Harvest(
        owner_id=owner_id,
        harvested_on=form.harvested_on,
        total_kg=sum(shares.values(), Decimal(0)),
        frames=form.frames,
        moisture_pct=form.moisture_pct,
        honey_kind=form.honey_kind,
        quality=form.quality,
        notes=form.notes,
    )
    db.add(harvest)
    await db.flush()
    db.add_all(HarvestShare(harvest_id=harvest.id, hive_id=h, kg=kg) for h, kg in shares.items())
    await db.flush()
    return harvest.id


@dataclass
class HarvestView:
    harvest: Harvest
    shares: list[tuple[int, str, Decimal]]  # hive id, hive name, kg
    treatments: list[TreatmentOfLot] = field(default_factory=list)
    recorded_by: str | None = None  # the name of the member who recorded it


@dataclass(frozen=True)
class TreatmentOfLot:
    """A treatment one of a honey lot's hives had in the season before it or in its own."""

    id: int
    started_on: date
    hive_name: str
    product: str
    active_substance: str
    batch: str
    withdrawal_days: int
    harvest_allowed_on: date


async def treatments_before(
    db: AsyncSession, hive_ids: list[int], harvested_on: date
) -> list[TreatmentOfLot]:
    """The treatments of these hives from the start of the previous season up to the harvest."""
    since = season_of(harvested_on)[0].replace(year=harvested_on.year - 1)
    rows = await db.execute(
        select(
            Treatment.id,
            Treatment.started_on,
            TreatedHive.hive_name,
            MedicinePurchase.product,
            MedicinePurchase.active_substance,
            MedicinePurchase.batch,
            Treatment.withdrawal_days,
            Treatment.harvest_allowed_on,
        )
        .join(Treatment, Treatment.id == TreatedHive.treatment_id)
        .join(MedicinePurchase, MedicinePurchase.id == Treatment.purchase_id)
        .where(
            TreatedHive.hive_id.in_(hive_ids),
            Treatment.started_on >= since,
            Treatment.started_on <= harvested_on,
        )
        .order_by(Treatment.started_on, TreatedHive.hive_name)
    )
    return [TreatmentOfLot(*row) for row in rows]


def readable_harvests(user_id: int) -> Any:
    """The ids of the harvests `user_id` may read: those of a hive they may read."""
    return (
        select(HarvestShare.harvest_id)
        .join(Hive, Hive.id == HarvestShare.hive_id)
        .where(members_hive(user_id))
    )


def unchangeable_shares(user_id: int) -> Any:
    """The shares of a harvest (correlated) from a hive that `user_id` may not change."""
    return (
        select(HarvestShare.hive_id)
        .join(Hive, Hive.id == HarvestShare.hive_id)
        .where(HarvestShare.harvest_id == Harvest.id, ~members_hive(user_id, change=True))
        .exists()
    )


async def harvest_of(
    db: AsyncSession, user_id: int, harvest_id: int, *, change: bool = False
) -> HarvestView | None:
    """The harvest, if `user_id` may read one of its hives (with `change`, change all)."""
    query = select(Harvest).where(
        Harvest.id == harvest_id, Harvest.id.in_(readable_harvests(user_id))
    )
    if change:
        query = query.where(~unchangeable_shares(user_id))
    harvest = await db.scalar(query)
    if harvest is None:
        return None
    rows = await db.execute(
        select(Hive.id, Hive.name, HarvestShare.kg)
        .join(Hive, Hive.id == HarvestShare.hive_id)
        .where(HarvestShare.harvest_id == harvest_id)
        .order_by(Hive.name)
    )
    shares = [(row[0], row[1], row[2]) for row in rows]
    treatments = await treatments_before(db, [share[0] for share in shares], harvest.harvested_on)
    return HarvestView(harvest, shares, treatments, await name_of(db, harvest.owner_id))


async def delete_harvest(db: AsyncSession, harvest: Harvest) -> None:
    await db.execute(delete(Harvest).where(Harvest.id == harvest.id))


async def recent_harvests(db: AsyncSession, user_id: int, limit: int = 50) -> list[Harvest]:
    """The latest harvests of the hives `user_id` may read."""
    rows = await db.scalars(
        select(Harvest)
        .where(Harvest.id.in_(readable_harvests(user_id)))
        .order_by(Harvest.harvested_on.desc(), Harvest.id.desc())
        .limit(limit)
    )
    return list(rows)


async def harvests_with_shares(
    db: AsyncSession, user_id: int, limit: int
) -> list[tuple[Harvest, dict[int, Decimal]]]:
    harvests = await recent_harvests(db, user_id, limit)
    shares: dict[int, dict[int, Decimal]] = {harvest.id: {} for harvest in harvests}
    rows = await db.execute(
        select(HarvestShare.harvest_id, HarvestShare.hive_id, HarvestShare.kg).where(
            HarvestShare.harvest_id.in_(list(shares))
        )
    )
    for harvest_id, hive_id, kg in rows:
        shares[harvest_id][hive_id] = kg
    return [(harvest, shares[harvest.id]) for harvest in harvests]


@dataclass
class SeasonTotals:
    year: int
    overall: Decimal = Decimal(0)
    by_hive: list[tuple[int, str, Decimal]] = field(default_factory=list)
    by_site: list[tuple[str, Decimal]] = field(default_factory=list)
    first_year: int | None = None  # the first season with a harvest: no link back past it


SEASON_BY_HIVE = text(
    f"""
    SELECT hive.id, hive.name, apiary.name AS site, sum(share.kg) AS kg
    FROM harvests AS harvest
    JOIN harvest_shares AS share ON share.harvest_id = harvest.id
    JOIN hives AS hive ON hive.id = share.hive_id
    JOIN apiaries AS apiary ON apiary.id = hive.apiary_id
    WHERE {MEMBERS_HIVE} AND harvest.harvested_on BETWEEN :first AND :last
    GROUP BY hive.id, apiary.name
    ORDER BY kg DESC, hive.name
    """  # noqa: S608 - MEMBERS_HIVE is a constant; values are bound
)


async def season_totals(db: AsyncSession, user_id: int, day: date) -> SeasonTotals:
    """The season's honey from the hives `user_id` may read: by hive, by apiary, in all."""
    first, last = season_of(day)
    params = {**sql_access(user_id), "first": first, "last": last}
    rows = (await db.execute(SEASON_BY_HIVE, params)).all()
    first_day = await db.scalar(
        select(func.min(Harvest.harvested_on)).where(Harvest.id.in_(readable_harvests(user_id)))
    )
    totals = SeasonTotals(year=day.year, first_year=first_day.year if first_day else None)
    by_site: dict[str, Decimal] = {}
    for hive_id, name, site, kg in rows:
        totals.by_hive.append((hive_id, name, kg))
        by_site[site] = by_site.get(site, Decimal(0)) + kg
        totals.overall += kg
    totals.by_site = sorted(by_site.items(), key=lambda item: (-item[1], item[0]))
    return totals


# --- The hive's timeline ---------------------------------------------------------------------


@dataclass
class TimelineEntry:
    kind: str  # "inspection", "scheduled", "harvest", "installed", "added"
    day: date
    inspection: Inspection | None = None
    harvest_id: int | None = None
    kg: Decimal | None = None
    total_kg: Decimal | None = None
    at: datetime | None = None  # the moment, where there is one: orders entries of one day
    by: str | None = None  # the name of the member who recorded it, where known


async def timeline_of(db: AsyncSession, hive: Hive, limit: int = 100) -> list[TimelineEntry]:
    """The hive's inspections (planned and done), harvests, installation and its adding to
    CityHive, newest first; on one day, the later moment first."""
    inspections = await db.execute(
        select(Inspection, User.name)
        .outerjoin(User, User.id == Inspection.recorded_by)
        .where(Inspection.hive_id == hive.id)
        .order_by(func.coalesce(func.date(Inspection.done_at), Inspection.scheduled_for).desc())
        .limit(limit)
    )
    entries: list[TimelineEntry] = []
    for inspection, by in inspections:
        if inspection.done_at is not None:
            day = inspection.done_at.date()
            entries.append(
                TimelineEntry("inspection", day, inspection, at=inspection.done_at, by=by)
            )
        elif inspection.scheduled_for is not None:  # the table's when_known check holds
            entries.append(TimelineEntry("scheduled", inspection.scheduled_for, inspection, by=by))
    harvests = await db.execute(
        select(Harvest.id, Harvest.harvested_on, HarvestShare.kg, Harvest.total_kg, User.name)
        .join(HarvestShare, HarvestShare.harvest_id == Harvest.id)
        .outerjoin(User, User.id == Harvest.owner_id)
        .where(HarvestShare.hive_id == hive.id)
        .order_by(Harvest.harvested_on.desc())
        .limit(limit)
    )
    entries += [
        TimelineEntry("harvest", row[1], harvest_id=row[0], kg=row[2], total_kg=row[3], by=row[4])
        for row in harvests
    ]
    if hive.installed_on is not None:
        entries.append(TimelineEntry("installed", hive.installed_on))
    entries.append(TimelineEntry("added", hive.created_at.date(), at=hive.created_at))
    entries.sort(key=timeline_order, reverse=True)
    return entries[:limit]


# A day's entries without a moment of their own (a harvest, a plan) come after its timed ones.
_START_OF_TIME = datetime.min.replace(tzinfo=UTC)


class OnTimeline(Protocol):
    """An entry of a hive's timeline, from this room or another (a colony's event)."""

    @property
    def kind(self) -> str: ...
    @property
    def day(self) -> date: ...
    @property
    def at(self) -> datetime | None: ...


def timeline_order(entry: OnTimeline) -> tuple[date, datetime, bool]:
    """The day, then the minute (what a form's "When" says), then an inspection before the
    hive's adding in the same minute: it was added, then inspected."""
    minute = entry.at.replace(second=0, microsecond=0) if entry.at else _START_OF_TIME
    return entry.day, minute, entry.kind != "added"


# --- Today -----------------------------------------------------------------------------------

# Plain SQL, so the benchmark's bare handler runs exactly these statements through asyncpg.
# Each reads the hives of the apiaries the user is a member of (MEMBERS_HIVE: :user_id, :roles).
TODAY_SCHEDULE = f"""
    SELECT inspection.id, inspection.hive_id, hive.name AS hive_name, inspection.scheduled_for,
           inspection.schedule_note,
           {members_hive_sql(change=True)} AS may_change
    FROM inspections AS inspection
    JOIN hives AS hive ON hive.id = inspection.hive_id
    WHERE {MEMBERS_HIVE} AND inspection.done_at IS NULL
      AND inspection.scheduled_for <= :horizon
    ORDER BY inspection.scheduled_for, hive.name
    LIMIT 200
"""  # noqa: S608 - MEMBERS_HIVE is a constant; values are bound
TODAY_LATEST = f"""
    SELECT hive.id AS hive_id, hive.name AS hive_name, latest.*
    FROM hives AS hive
    CROSS JOIN LATERAL (
        SELECT inspection.id, inspection.done_at, inspection.queen_seen, inspection.eggs_seen,
               inspection.queen_cells, inspection.queen_cell_count, inspection.varroa_count,
               inspection.varroa_method, inspection.varroa_sample
        FROM inspections AS inspection
        WHERE inspection.hive_id = hive.id AND inspection.done_at IS NOT NULL
        ORDER BY inspection.done_at DESC
        LIMIT 1
    ) AS latest
    WHERE {MEMBERS_HIVE} AND hive.status = 'active'
    ORDER BY hive.name
"""  # noqa: S608 - MEMBERS_HIVE is a constant; values are bound
# The season's honey from the hives the user may read, and in how many harvests.
TODAY_SEASON = f"""
    SELECT coalesce(sum(share.kg), 0) AS kg, count(DISTINCT share.harvest_id) AS harvests
    FROM harvest_shares AS share
    JOIN harvests AS harvest ON harvest.id = share.harvest_id
    JOIN hives AS hive ON hive.id = share.hive_id
    WHERE {MEMBERS_HIVE} AND harvest.harvested_on BETWEEN :first AND :last
"""  # noqa: S608 - MEMBERS_HIVE is a constant; values are bound


@dataclass
class DueInspection:
    id: int
    hive_id: int
    hive_name: str
    scheduled_for: date
    note: str
    may_change: bool = True  # the reader may record it, mark it done or move it (not a viewer)


@dataclass
class LatestInspection:
    hive_id: int
    hive_name: str
    inspection: Glance
    worries: list[str]


@dataclass(slots=True)
class Glance:
    """What Today shows of a hive's latest inspection. A plain object: building 200 ORM
    instances per page cost more than the rest of the Today queries (bench/today.py)."""

    id: int
    done_at: datetime
    queen_seen: bool | None
    eggs_seen: bool | None
    queen_cells: QueenCells | None
    queen_cell_count: int | None
    varroa_count: int | None
    varroa_method: VarroaMethod | None
    varroa_sample: int | None


@dataclass
class Today:
    day: date
    overdue: list[DueInspection]
    due_today: list[DueInspection]
    this_week: list[DueInspection]
    latest: list[LatestInspection]
    season_kg: Decimal
    season_harvests: int

    @property
    def flagged(self) -> list[LatestInspection]:
        return [item for item in self.latest if item.worries]


def split_schedule(day: date, rows: list[DueInspection]) -> tuple[list[DueInspection], ...]:
    overdue = [row for row in rows if row.scheduled_for < day]
    due_today = [row for row in rows if row.scheduled_for == day]
    this_week = [row for row in rows if row.scheduled_for > day]
    return overdue, due_today, this_week


def latest_from_row(row: Any, varroa_limit: float) -> LatestInspection:
    glance = Glance(
        id=row.id,
        done_at=row.done_at,
        queen_seen=row.queen_seen,
        eggs_seen=row.eggs_seen,
        queen_cells=QueenCells(row.queen_cells) if row.queen_cells else None,
        queen_cell_count=row.queen_cell_count,
        varroa_count=row.varroa_count,
        varroa_method=VarroaMethod(row.varroa_method) if row.varroa_method else None,
        varroa_sample=row.varroa_sample,
    )
    return LatestInspection(row.hive_id, row.hive_name, glance, worries(glance, varroa_limit))


async def today(db: AsyncSession, user_id: int, day: date, varroa_limit: float) -> Today:
    """What is due and what was seen in the hives `user_id` may read (shared ones too)."""
    first, last = season_of(day)
    access = sql_access(user_id)
    schedule_rows = await db.execute(
        text(TODAY_SCHEDULE), {**access, "horizon": day + timedelta(days=7)}
    )
    due = [DueInspection(*row) for row in schedule_rows]
    latest_rows = await db.execute(text(TODAY_LATEST), access)
    latest = [latest_from_row(row, varroa_limit) for row in latest_rows]
    season = (await db.execute(text(TODAY_SEASON), {**access, "first": first, "last": last})).one()
    overdue, due_today, this_week = split_schedule(day, due)
    return Today(day, overdue, due_today, this_week, latest, season.kg, season.harvests)


# --- Calendar feed ---------------------------------------------------------------------------


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def calendar_feed_of(db: AsyncSession, user_id: int) -> CalendarFeed | None:
    return await db.get(CalendarFeed, user_id)


async def set_calendar_secret(db: AsyncSession, user_id: int, secret: str) -> None:
    """A new secret replaces the old one: the old URL stops working at once."""
    await db.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    db.add(CalendarFeed(user_id=user_id, secret_hash=hash_secret(secret)))
    await db.flush()


async def calendar_owner(db: AsyncSession, secret: str) -> tuple[int, str | None] | None:
    """The feed's owner and the language they chose (None: none chosen, so English)."""
    row = (
        await db.execute(
            select(CalendarFeed.user_id, User.language)
            .join(User, User.id == CalendarFeed.user_id)
            .where(CalendarFeed.secret_hash == hash_secret(secret))
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def scheduled_for_calendar(
    db: AsyncSession, user_id: int, since: date
) -> list[tuple[Inspection, str]]:
    """The planned inspections of the active hives `user_id` may read, for their calendar."""
    rows = await db.execute(
        select(Inspection, Hive.name)
        .join(Hive, Hive.id == Inspection.hive_id)
        .where(
            members_hive(user_id),
            Inspection.done_at.is_(None),
            Inspection.scheduled_for >= since,
            Hive.status == HiveStatus.active,
        )
        .order_by(Inspection.scheduled_for)
        .limit(1000)
    )
    return [(row[0], row[1]) for row in rows]


def utc_now() -> datetime:
    return datetime.now(UTC)

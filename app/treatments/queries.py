"""The medicines records' SQL: purchases and their stock, disposals, treatments, the register.

Medicine purchases, their stock and disposals are the purchasing user's own (personal stock:
no one else reads or takes from a batch). Treatments are read through their treated hives, by
every member of those hives' apiaries (app/treatments/register.py: treatment_readable), and
recorded, from one's own batch, only on hives one may change. A treatment or a disposal takes
from one batch: the batch's row is locked first, so two records made at once cannot together
take more than it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Hive,
    HiveStatus,
    Inspection,
    MedicineDisposal,
    MedicinePurchase,
    TreatedHive,
    Treatment,
    TreatmentMethod,
    User,
)
from app.treatments.register import in_period, treated_hive_readable, treatment_readable
from app.treatments.schemas import DisposalForm, PurchaseForm, TreatmentForm
from app.web.auth import hives_of
from app.web.i18n import N_


@dataclass
class Refusal(Exception):
    """A record the stored data does not allow: the field it is about and why. The message is
    a msgid with its values (dates and amounts), formatted for the reader by the view."""

    field_name: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)


class NotYours(Exception):
    """A hive or a batch that is not the owner's: as if it did not exist (404)."""


NOT_BOUGHT_YET = N_(
    "This batch was bought on %(date)s: a treatment from it starts on or after that day."
)
EXPIRED = N_("This batch expired on %(date)s.")
TOO_MUCH = N_("Only %(stock)s %(unit)s of this batch are in stock.")
DISPOSED_BEFORE_BOUGHT = N_("This batch was bought on %(date)s.")
NOT_STRIPS = N_("This treatment was not given as strips.")
ALREADY_OUT = N_("These strips were taken out on %(date)s.")
OUT_BEFORE_IN = N_("The strips went in on %(date)s.")


# --- Stock -----------------------------------------------------------------------------------


def used_of(purchase_id: Any) -> Any:
    """What treatments took from a batch."""
    return (
        select(func.coalesce(func.sum(Treatment.quantity), 0))
        .where(Treatment.purchase_id == purchase_id)
        .scalar_subquery()
    )


def disposed_of(purchase_id: Any) -> Any:
    """What was thrown away of a batch."""
    return (
        select(func.coalesce(func.sum(MedicineDisposal.quantity), 0))
        .where(MedicineDisposal.purchase_id == purchase_id)
        .scalar_subquery()
    )


def stock_column() -> Any:
    """A batch's stock on hand: bought, less used, less disposed of."""
    return (
        MedicinePurchase.quantity - used_of(MedicinePurchase.id) - disposed_of(MedicinePurchase.id)
    ).label("stock")


@dataclass(frozen=True)
class Batch:
    purchase: MedicinePurchase
    stock: Decimal

    @property
    def label(self) -> str:
        return f"{self.purchase.product} · {self.purchase.batch}"


def batches_query(owner_id: int) -> Select[MedicinePurchase, Decimal]:
    """The batches `owner_id` bought: their own stock, never shared with an apiary."""
    return select(MedicinePurchase, stock_column()).where(MedicinePurchase.owner_id == owner_id)


async def batches_of(db: AsyncSession, owner_id: int, *, in_stock: bool = False) -> list[Batch]:
    """The owner's batches, newest first; with `in_stock`, only those with some left."""
    query = batches_query(owner_id).order_by(
        MedicinePurchase.purchased_on.desc(), MedicinePurchase.id.desc()
    )
    rows = (await db.execute(query)).all()
    return [Batch(row[0], row[1]) for row in rows if not in_stock or row[1] > 0]


async def batch_of(db: AsyncSession, owner_id: int, purchase_id: int) -> Batch | None:
    row = (
        await db.execute(batches_query(owner_id).where(MedicinePurchase.id == purchase_id))
    ).first()
    return None if row is None else Batch(row[0], row[1])


async def locked_batch(db: AsyncSession, owner_id: int, purchase_id: int) -> Batch:
    """The batch, its row locked until the transaction ends, and its stock read after the lock."""
    purchase = (
        await db.execute(
            select(MedicinePurchase)
            .where(MedicinePurchase.id == purchase_id, MedicinePurchase.owner_id == owner_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if purchase is None:
        raise NotYours()
    stock = (
        await db.execute(
            select(purchase.quantity - used_of(purchase.id) - disposed_of(purchase.id))
        )
    ).scalar_one()
    return Batch(purchase, stock)


def _check_enough(batch: Batch, quantity: Decimal) -> None:
    if quantity > batch.stock:
        raise Refusal(
            "quantity",
            TOO_MUCH,
            {"stock": max(batch.stock, Decimal(0)), "unit": batch.purchase.unit},
        )


# --- Purchases and disposals -------------------------------------------------------------------


async def create_purchase(db: AsyncSession, owner_id: int, form: PurchaseForm) -> MedicinePurchase:
    purchase = MedicinePurchase(owner_id=owner_id, **form.model_dump())
    db.add(purchase)
    await db.flush()
    await db.refresh(purchase)  # the quantity as stored, to the hundredth
    return purchase


async def create_disposal(
    db: AsyncSession, owner_id: int, purchase_id: int, form: DisposalForm
) -> MedicineDisposal:
    batch = await locked_batch(db, owner_id, purchase_id)
    if form.disposed_on < batch.purchase.purchased_on:
        raise Refusal("disposed_on", DISPOSED_BEFORE_BOUGHT, {"date": batch.purchase.purchased_on})
    _check_enough(batch, form.quantity)
    disposal = MedicineDisposal(purchase_id=purchase_id, **form.model_dump())
    db.add(disposal)
    await db.flush()
    await db.refresh(disposal)  # the quantity as stored, to the hundredth
    return disposal


async def disposals_of(db: AsyncSession, purchase_id: int) -> list[MedicineDisposal]:
    return list(
        (
            await db.execute(
                select(MedicineDisposal)
                .where(MedicineDisposal.purchase_id == purchase_id)
                .order_by(MedicineDisposal.disposed_on, MedicineDisposal.id)
            )
        ).scalars()
    )


# --- Treatments ---------------------------------------------------------------------------------


async def active_hives_of(db: AsyncSession, user_id: int) -> list[Hive]:
    """The active hives `user_id` may treat (change)."""
    mine = hives_of(user_id, change=True).with_only_columns(Hive)
    query = mine.where(Hive.status == HiveStatus.active).order_by(Hive.site, Hive.name)
    return list((await db.execute(query)).scalars())


async def create_treatment(db: AsyncSession, owner_id: int, form: TreatmentForm) -> Treatment:
    """A treatment by `owner_id` from one of their batches to the hives named: refused
    (Refusal) when the batch was bought later, had expired, or holds less than the quantity;
    NotYours for a hive they may not change (every hive treated needs change rights) or
    another's batch. Nothing is written unless all is well."""
    mine = hives_of(owner_id, change=True).with_only_columns(Hive.id, Hive.name)
    hives = (await db.execute(mine.where(Hive.id.in_(form.hive_ids)))).all()
    if len(hives) != len(set(form.hive_ids)):
        raise NotYours()
    batch = await locked_batch(db, owner_id, form.purchase_id)
    purchase = batch.purchase
    if form.started_on < purchase.purchased_on:
        raise Refusal("started_on", NOT_BOUGHT_YET, {"date": purchase.purchased_on})
    if purchase.expires_on < form.started_on:
        raise Refusal("purchase_id", EXPIRED, {"date": purchase.expires_on})
    _check_enough(batch, form.quantity)
    treatment = Treatment(owner_id=owner_id, **form.model_dump(exclude={"hive_ids"}))
    db.add(treatment)
    await db.flush()
    names = dict(hives)
    db.add_all(
        TreatedHive(treatment_id=treatment.id, hive_id=hive_id, hive_name=names[hive_id])
        for hive_id in form.hive_ids
    )
    await db.flush()
    await db.refresh(treatment)  # the dates the database computes
    return treatment


@dataclass(frozen=True)
class TreatmentView:
    treatment: Treatment
    purchase: MedicinePurchase
    hives: list[tuple[int | None, str]]  # hive id (None once deleted), hive name
    recorded_by: str | None = None  # the name of the account that recorded it

    @property
    def hive_names(self) -> str:
        return ", ".join(name for _, name in self.hives)

    @property
    def strips_in(self) -> bool:
        return (
            self.treatment.method is TreatmentMethod.strips
            and self.treatment.strips_removed_on is None
        )


async def _views(
    db: AsyncSession, user_id: int, query: Select[Treatment, MedicinePurchase]
) -> list[TreatmentView]:
    """The treatments with the hives of each that `user_id` may read, and who recorded them."""
    rows = (await db.execute(query)).all()
    if not rows:
        return []
    ids = [row[0].id for row in rows]
    hives: dict[int, list[tuple[int | None, str]]] = {treatment_id: [] for treatment_id in ids}
    treated = await db.execute(
        select(TreatedHive.treatment_id, TreatedHive.hive_id, TreatedHive.hive_name)
        .join(Treatment, Treatment.id == TreatedHive.treatment_id)
        .where(TreatedHive.treatment_id.in_(ids), treated_hive_readable(user_id))
        .order_by(TreatedHive.hive_name, TreatedHive.id)
    )
    for treatment_id, hive_id, hive_name in treated:
        hives[treatment_id].append((hive_id, hive_name))
    owners = {row[0].owner_id for row in rows}
    found = await db.execute(select(User.id, User.name).where(User.id.in_(owners)))
    names: dict[int, str] = dict(found.all())
    return [
        TreatmentView(row[0], row[1], hives[row[0].id], names.get(row[0].owner_id)) for row in rows
    ]


def treatments_query(user_id: int, *, change: bool = False) -> Select[Treatment, MedicinePurchase]:
    """The treatments `user_id` may read (with `change`, change), with their batch."""
    return (
        select(Treatment, MedicinePurchase)
        .join(MedicinePurchase, MedicinePurchase.id == Treatment.purchase_id)
        .where(treatment_readable(user_id, change=change))
    )


async def treatment_of(
    db: AsyncSession, user_id: int, treatment_id: int, *, change: bool = False
) -> TreatmentView | None:
    query = treatments_query(user_id, change=change).where(Treatment.id == treatment_id)
    found = await _views(db, user_id, query)
    return found[0] if found else None


async def treatments_of(
    db: AsyncSession,
    user_id: int,
    *,
    hive_id: int | None = None,
    purchase_id: int | None = None,
    site: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 1000,
) -> list[TreatmentView]:
    """The treatments `user_id` may read by date (oldest first), of one hive, batch or site, in
    a period."""
    query = treatments_query(user_id)
    if hive_id is not None:
        treated = select(TreatedHive.treatment_id).where(TreatedHive.hive_id == hive_id)
        query = query.where(Treatment.id.in_(treated))
    if purchase_id is not None:
        query = query.where(Treatment.purchase_id == purchase_id)
    query = in_period(query, since, until, site)  # an apiary's register: hives standing there
    return await _views(
        db, user_id, query.order_by(Treatment.started_on, Treatment.id).limit(limit)
    )


async def strips_due(db: AsyncSession, user_id: int, day: date) -> list[TreatmentView]:
    """Strips still in whose treatment ended on or before `day`, in hives `user_id` may change:
    due out."""
    query = treatments_query(user_id, change=True).where(
        Treatment.method == TreatmentMethod.strips,
        Treatment.strips_removed_on.is_(None),
        Treatment.ends_on <= day,
    )
    return await _views(db, user_id, query.order_by(Treatment.ends_on, Treatment.id))


async def remove_strips(db: AsyncSession, found: TreatmentView, day: date) -> None:
    treatment = found.treatment
    if treatment.method is not TreatmentMethod.strips:
        raise Refusal("removed_on", NOT_STRIPS)
    if treatment.strips_removed_on is not None:
        raise Refusal("removed_on", ALREADY_OUT, {"date": treatment.strips_removed_on})
    if day < treatment.started_on:
        raise Refusal("removed_on", OUT_BEFORE_IN, {"date": treatment.started_on})
    treatment.strips_removed_on = day
    await db.flush()
    await db.refresh(treatment)


async def disposals_between(
    db: AsyncSession, owner_id: int, since: date, until: date
) -> list[tuple[MedicineDisposal, MedicinePurchase]]:
    rows = await db.execute(
        select(MedicineDisposal, MedicinePurchase)
        .join(MedicinePurchase, MedicinePurchase.id == MedicineDisposal.purchase_id)
        .where(
            MedicinePurchase.owner_id == owner_id,
            MedicineDisposal.disposed_on >= since,
            MedicineDisposal.disposed_on <= until,
        )
        .order_by(MedicineDisposal.disposed_on, MedicineDisposal.id)
    )
    return [(row[0], row[1]) for row in rows]


@dataclass(frozen=True)
class Register:
    """A period's medicines register (of one apiary with `site`): the treatments, the batches
    bought and the disposals, each sorted by date."""

    since: date
    until: date
    site: str | None
    treatments: list[TreatmentView]
    batches: list[Batch]
    disposals: list[tuple[MedicineDisposal, MedicinePurchase]]


async def register_of(
    db: AsyncSession, owner_id: int, since: date, until: date, site: str | None = None
) -> Register:
    """The register the page prints, the CSV writes and the API answers: the treatments of the
    hives `owner_id` may read, and the batches they bought and disposed of (their own)."""
    treatments = await treatments_of(db, owner_id, site=site, since=since, until=until)
    bought = [
        batch
        for batch in await batches_of(db, owner_id)
        if since <= batch.purchase.purchased_on <= until
    ]
    bought.sort(key=lambda batch: (batch.purchase.purchased_on, batch.purchase.id))
    disposals = await disposals_between(db, owner_id, since, until)
    return Register(since, until, site, treatments, bought, disposals)


async def sites_of(db: AsyncSession, user_id: int) -> list[str]:
    """The apiaries of the hives `user_id` may read (their names), for a register per apiary."""
    mine = hives_of(user_id).with_only_columns(Hive.site)
    return sorted({site for site in (await db.execute(mine.distinct())).scalars() if site})


# --- A treatment's effect, and supers put on during it ------------------------------------------


@dataclass(frozen=True)
class MiteCount:
    day: date
    count: int


@dataclass(frozen=True)
class HiveEffect:
    """For one treated hive: the last varroa count before the treatment and the first after its
    end, side by side, and the days a super was put on while honey was not allowed."""

    hive_id: int
    hive_name: str
    before: MiteCount | None
    after: MiteCount | None
    supers_added: list[date]


async def effects_of(db: AsyncSession, found: TreatmentView, zone: str) -> list[HiveEffect]:
    """The inspections' varroa counts around the treatment, per hive still kept; an
    inspection's day is its day in the city's time zone `zone`."""
    treatment = found.treatment
    effects = []
    for hive_id, hive_name in found.hives:
        if hive_id is None:
            continue
        day = func.date(func.timezone(zone, Inspection.done_at))
        counted = select(day, Inspection.varroa_count).where(
            Inspection.hive_id == hive_id, Inspection.varroa_count.is_not(None)
        )
        before = (
            await db.execute(
                counted.where(day < treatment.started_on).order_by(Inspection.done_at.desc())
            )
        ).first()
        after = (
            await db.execute(counted.where(day > treatment.ends_on).order_by(Inspection.done_at))
        ).first()
        supers = await db.execute(
            select(day)
            .where(
                Inspection.hive_id == hive_id,
                Inspection.actions.contains(["super_added"]),
                day >= treatment.started_on,
                day < treatment.harvest_allowed_on,
            )
            .order_by(day)
        )
        effects.append(
            HiveEffect(
                hive_id,
                hive_name,
                MiteCount(before[0], before[1]) if before else None,
                MiteCount(after[0], after[1]) if after else None,
                list(supers.scalars()),
            )
        )
    return effects


# --- A mite count after a treatment ------------------------------------------------------------

# A varroa count a week after a treatment ends shows what it did (its page sets it beside the
# count before); six weeks on, the next count tells of the season rather than the treatment.
COUNT_AFTER = timedelta(days=7)
COUNT_UNTIL = timedelta(days=42)


@dataclass(frozen=True)
class CountDue:
    """A treated hive whose mites are to be counted: the treatment, its medicine, its end."""

    hive_id: int
    hive_name: str
    treatment_id: int
    product: str
    ended_on: date


async def counts_due(db: AsyncSession, user_id: int, day: date, zone: str) -> list[CountDue]:
    """The active hives `user_id` may record in whose latest treatment ended one to six weeks
    before `day` (one still running or just ended asks for nothing yet) and that have had no
    varroa count since (an inspection's day is its day in the city's time zone `zone`), the
    longest waiting first."""
    latest = (
        select(
            TreatedHive.hive_id,
            Hive.name,
            Treatment.id,
            MedicinePurchase.product,
            Treatment.ends_on,
        )
        .join(Treatment, Treatment.id == TreatedHive.treatment_id)
        .join(MedicinePurchase, MedicinePurchase.id == Treatment.purchase_id)
        .join(Hive, Hive.id == TreatedHive.hive_id)
        .where(
            Hive.id.in_(hives_of(user_id, change=True).with_only_columns(Hive.id)),
            Hive.status == HiveStatus.active,
        )
        .ext(distinct_on(TreatedHive.hive_id))  # the latest treatment of each hive
        .order_by(TreatedHive.hive_id, Treatment.ends_on.desc(), Treatment.id.desc())
        .subquery()
    )
    rows = await db.execute(
        select(latest)
        .where(latest.c.ends_on.between(day - COUNT_UNTIL, day - COUNT_AFTER))
        .where(
            ~exists().where(
                Inspection.hive_id == latest.c.hive_id,
                Inspection.varroa_count.is_not(None),
                func.date(func.timezone(zone, Inspection.done_at)) > latest.c.ends_on,
            )
        )
        .order_by(latest.c.ends_on, latest.c.name)
    )
    return [CountDue(*row) for row in rows]


# --- The winter oxalic treatment window -----------------------------------------------------------

# Colonies are broodless, or nearly, from December to January (northern hemisphere): oxalic acid
# then reaches the mites on the bees. A winter's window starts on 1 December.
WINTER_WINDOW_MONTHS = (12, 1)


def winter_started(day: date) -> date | None:
    """The first day of the winter window `day` is in; None outside it."""
    if day.month not in WINTER_WINDOW_MONTHS:
        return None
    return date(day.year if day.month == 12 else day.year - 1, 12, 1)


async def due_winter_oxalic(db: AsyncSession, owner_id: int, day: date) -> list[Hive]:
    """The active hives `owner_id` may treat not given oxalic acid this winter, while the window
    is open."""
    started = winter_started(day)
    if started is None:
        return []
    treated = (
        select(TreatedHive.hive_id)
        .join(Treatment, Treatment.id == TreatedHive.treatment_id)
        .join(MedicinePurchase, MedicinePurchase.id == Treatment.purchase_id)
        .where(
            Treatment.started_on >= started,
            MedicinePurchase.active_substance.contains("oxalic acid"),
            TreatedHive.hive_id.is_not(None),
        )
    )
    done = set((await db.execute(treated)).scalars())
    return [hive for hive in await active_hives_of(db, owner_id) if hive.id not in done]

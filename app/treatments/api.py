"""The medicines records in the JSON API: a key's owner lists and records purchases, their
disposals and treatments, reads the list of authorised medicines and the register of a period
(the register page's own query, app/treatments/queries.py). The forms' schemas check the
bodies; what the stored records refuse (a batch bought after the treatment, expired, or holding
less than asked) is a 422 problem naming the field, and nothing is stored. Creates are exactly
once per Idempotency-Key.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import MedicineDisposal, MedicinePurchase, Treatment, TreatmentMethod
from app.treatments import queries
from app.treatments.schemas import (
    ACTIVE_SUBSTANCES,
    PRODUCTS,
    DisposalForm,
    PurchaseForm,
    TreatmentForm,
)
from app.treatments.views import default_period
from app.web import idempotency
from app.web.api import (
    Problem,
    answer_of,
    api_owner,
    api_view,
    create_once,
    created,
    idempotency_key,
    json_answer,
    parse_body,
    read_json,
)
from app.web.auth import queried_hive_id
from app.web.context import local_today
from app.web.database import db_session
from app.web.i18n import _
from app.web.paths import path_id

MAX_LISTED = 1000


class MedicineOut(BaseModel):
    product: str
    active_substance: str


class MedicineList(BaseModel):
    """The authorised varroa medicines the purchase form offers, and the active substances a
    product not listed may name."""

    items: list[MedicineOut]
    active_substances: list[str]


class PurchaseIn(PurchaseForm):
    """A medicine bought or received: one batch. `active_substance` may be left out for a
    product on the list of authorised varroa medicines."""

    model_config = ConfigDict(extra="forbid", title="PurchaseIn")


class PurchaseOut(BaseModel):
    id: int
    product: str
    active_substance: str
    batch: str
    expires_on: date
    supplier_name: str
    supplier_address: str
    purchased_on: date
    quantity: Decimal
    unit: str
    invoice_number: str
    vet: str
    stock: Decimal = Field(description="On hand: bought, less used by treatments and disposed of.")

    @classmethod
    def of(cls, batch: queries.Batch) -> PurchaseOut:
        return answer_of(cls, batch.purchase, stock=batch.stock)


class PurchaseList(BaseModel):
    items: list[PurchaseOut]


class TreatmentIn(TreatmentForm):
    """A treatment given to the hives `hive_ids` at once, from the batch `purchase_id`."""

    model_config = ConfigDict(extra="forbid", title="TreatmentIn")


class TreatedHiveOut(BaseModel):
    hive_id: int | None = Field(description="Null once the hive was deleted; the record stays.")
    hive_name: str


class TreatmentOut(BaseModel):
    id: int
    purchase_id: int
    product: str
    active_substance: str
    batch: str
    hives: list[TreatedHiveOut]
    started_on: date
    dose: str
    quantity: Decimal
    unit: str
    method: TreatmentMethod
    duration_days: int
    ends_on: date
    withdrawal_days: int
    strips_removed_on: date | None
    harvest_allowed_on: date = Field(
        description="The first day honey may be taken from these hives again."
    )
    treated_by: str
    notes: str

    @classmethod
    def of(cls, found: queries.TreatmentView) -> TreatmentOut:
        purchase = found.purchase
        return answer_of(
            cls,
            found.treatment,
            product=purchase.product,
            active_substance=purchase.active_substance,
            batch=purchase.batch,
            unit=purchase.unit,
            hives=[TreatedHiveOut(hive_id=i, hive_name=name) for i, name in found.hives],
        )


class TreatmentList(BaseModel):
    items: list[TreatmentOut]


class DisposalIn(DisposalForm):
    """Part of the batch thrown away: not more than its stock, not before it was bought."""

    model_config = ConfigDict(extra="forbid", title="DisposalIn")


class DisposalOut(BaseModel):
    id: int
    purchase_id: int
    disposed_on: date
    quantity: Decimal
    how: str


class DisposalList(BaseModel):
    items: list[DisposalOut]


class RegisterTreatmentOut(TreatmentOut):
    """A treatment with its batch's purchase: every field EU 2019/6 Art. 108 asks for."""

    expires_on: date
    supplier_name: str
    supplier_address: str
    purchased_on: date
    invoice_number: str
    vet: str

    @classmethod
    def of(cls, found: queries.TreatmentView) -> RegisterTreatmentOut:
        purchase = found.purchase
        return cls.model_validate(
            TreatmentOut.of(found).model_dump()
            | {name: getattr(purchase, name) for name in REGISTER_PURCHASE_FIELDS}
        )


REGISTER_PURCHASE_FIELDS = (
    "expires_on",
    "supplier_name",
    "supplier_address",
    "purchased_on",
    "invoice_number",
    "vet",
)


class RegisterDisposalOut(DisposalOut):
    product: str
    batch: str
    unit: str


class RegisterOut(BaseModel):
    """The medicines register of a period, as the register page prints it: the treatments, the
    batches bought and the disposals, each sorted by date."""

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    site: str | None = Field(description="The apiary, or null for all of them.")
    treatments: list[RegisterTreatmentOut]
    purchases: list[PurchaseOut]
    disposals: list[RegisterDisposalOut]


def refusal_problem(refusal: queries.Refusal) -> Problem:
    shown = {
        name: value.isoformat() if isinstance(value, date) else str(value)
        for name, value in refusal.values.items()
    }
    message = _(refusal.message, **shown)
    return Problem(
        422,
        message,
        errors=[{"location": ["body", refusal.field_name], "message": message, "type": "refused"}],
    )


# --- Purchases --------------------------------------------------------------------------------


@api_view
async def purchase_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with db_session(request) as db:
        batches = await queries.batches_of(db, owner_id)
    items = [PurchaseOut.of(batch) for batch in batches[:MAX_LISTED]]
    return json_answer(PurchaseList(items=items).model_dump_json(), 200, "")


async def created_purchase(db: AsyncSession, owner_id: int, data: PurchaseIn) -> idempotency.Answer:
    purchase = await queries.create_purchase(db, owner_id, data)
    batch = queries.Batch(purchase, purchase.quantity)
    return created(PurchaseOut.of(batch), f"/api/v1/purchases/{purchase.id}")


@api_view
async def purchase_create(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    key = idempotency_key(request)
    body = await read_json(request)
    data = parse_body(PurchaseIn, body)
    guard = idempotency.for_json(request, owner_id, key, body)
    async with db_session(request) as db, db.begin():
        return await create_once(
            db, guard, lambda: created_purchase(db, owner_id, data), kept_as=MedicinePurchase
        )


@api_view
async def purchase_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    purchase_id = path_id(request)
    async with db_session(request) as db:
        batch = await queries.batch_of(db, owner_id, purchase_id)
    if batch is None:
        raise Problem(404, f"You have no purchase {purchase_id}.")
    return json_answer(PurchaseOut.of(batch).model_dump_json(), 200, "")


# --- Treatments -------------------------------------------------------------------------------


@api_view
async def treatment_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with db_session(request) as db:
        hive_id = await queried_hive_id(request, db)
        found = await queries.treatments_of(db, owner_id, hive_id=hive_id, limit=MAX_LISTED)
    items = [TreatmentOut.of(item) for item in found]
    return json_answer(TreatmentList(items=items).model_dump_json(), 200, "")


async def created_treatment(
    db: AsyncSession, owner_id: int, data: TreatmentIn
) -> idempotency.Answer:
    try:
        treatment = await queries.create_treatment(db, owner_id, data)
    except queries.NotYours:
        raise Problem(404, "You have no such hive or purchase.") from None
    found = await queries.treatment_of(db, owner_id, treatment.id)
    assert found is not None
    return created(TreatmentOut.of(found), f"/api/v1/treatments/{treatment.id}")


@api_view
async def treatment_create(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    key = idempotency_key(request)
    body = await read_json(request)
    data = parse_body(TreatmentIn, body)
    guard = idempotency.for_json(request, owner_id, key, body)
    try:
        async with db_session(request) as db, db.begin():
            return await create_once(
                db, guard, lambda: created_treatment(db, owner_id, data), kept_as=Treatment
            )
    except queries.Refusal as refusal:
        raise refusal_problem(refusal) from refusal


@api_view
async def treatment_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    treatment_id = path_id(request)
    async with db_session(request) as db:
        found = await queries.treatment_of(db, owner_id, treatment_id)
    if found is None:
        raise Problem(404, f"You have no treatment {treatment_id}.")
    return json_answer(TreatmentOut.of(found).model_dump_json(), 200, "")


# --- Medicines and disposals ------------------------------------------------------------------


@api_view
async def medicine_list(request: web.Request) -> web.Response:
    await api_owner(request)
    items = [MedicineOut(product=name, active_substance=what) for name, what in PRODUCTS.items()]
    answer = MedicineList(items=items, active_substances=list(ACTIVE_SUBSTANCES))
    return json_answer(answer.model_dump_json(), 200, "")


async def owned_purchase(request: web.Request, owner_id: int) -> int:
    purchase_id = path_id(request)
    async with db_session(request) as db:
        if await queries.batch_of(db, owner_id, purchase_id) is None:
            raise Problem(404, f"You have no purchase {purchase_id}.")
    return purchase_id


def disposal_out(disposal: MedicineDisposal) -> DisposalOut:
    return answer_of(DisposalOut, disposal)


@api_view
async def disposal_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    purchase_id = await owned_purchase(request, owner_id)
    async with db_session(request) as db:
        disposals = await queries.disposals_of(db, purchase_id)
    items = [disposal_out(disposal) for disposal in disposals]
    return json_answer(DisposalList(items=items).model_dump_json(), 200, "")


async def created_disposal(
    db: AsyncSession, owner_id: int, purchase_id: int, data: DisposalIn
) -> idempotency.Answer:
    try:
        disposal = await queries.create_disposal(db, owner_id, purchase_id, data)
    except queries.NotYours:  # pragma: no cover - checked before; a purchase is never deleted
        raise Problem(404, f"You have no purchase {purchase_id}.") from None
    location = f"/api/v1/purchases/{purchase_id}/disposals/{disposal.id}"
    return created(disposal_out(disposal), location)


@api_view
async def disposal_create(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    key = idempotency_key(request)
    body = await read_json(request)
    data = parse_body(DisposalIn, body)
    purchase_id = await owned_purchase(request, owner_id)
    guard = idempotency.for_json(request, owner_id, key, body)
    try:
        async with db_session(request) as db, db.begin():
            return await create_once(
                db,
                guard,
                lambda: created_disposal(db, owner_id, purchase_id, data),
                kept_as=MedicineDisposal,
            )
    except queries.Refusal as refusal:
        raise refusal_problem(refusal) from refusal


@api_view
async def disposal_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    purchase_id = await owned_purchase(request, owner_id)
    disposal_id = path_id(request, "disposal_id")
    async with db_session(request) as db:
        disposal = await db.get(MedicineDisposal, disposal_id)
    if disposal is None or disposal.purchase_id != purchase_id:
        raise Problem(404, f"You have no disposal {disposal_id} of purchase {purchase_id}.")
    return json_answer(disposal_out(disposal).model_dump_json(), 200, "")


# --- The register -------------------------------------------------------------------------------


def query_day(request: web.Request, name: str, default: date) -> date:
    """A date of the query (ISO), `default` when it is not given; one that does not read is a
    422 problem naming it."""
    text = request.query.get(name)
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = "Give a date as YYYY-MM-DD."
        raise Problem(
            422,
            f"The query's {name!r} is not a date.",
            errors=[{"location": ["query", name], "message": message, "type": "date_parsing"}],
        ) from None


@api_view
async def register(request: web.Request) -> web.Response:
    """The medicines register of a period (this year by default, as on the register page), of
    one apiary with `site`."""
    owner_id = await api_owner(request)
    first, last = default_period(local_today(request))
    since, until = query_day(request, "from", first), query_day(request, "to", last)
    site = request.query.get("site") or None
    async with db_session(request) as db:
        if site is not None and site not in await queries.sites_of(db, owner_id):
            raise Problem(404, f"You have no apiary {site!r}.")
        found = await queries.register_of(db, owner_id, since, until, site)
    answer = RegisterOut.model_validate(
        {
            "from": since,
            "to": until,
            "site": site,
            "treatments": [RegisterTreatmentOut.of(item) for item in found.treatments],
            "purchases": [PurchaseOut.of(batch) for batch in found.batches],
            "disposals": [
                answer_of(
                    RegisterDisposalOut,
                    disposal,
                    product=purchase.product,
                    batch=purchase.batch,
                    unit=purchase.unit,
                )
                for disposal, purchase in found.disposals
            ],
        }
    )
    return json_answer(answer.model_dump_json(by_alias=True), 200, "")

"""The medicines records in the JSON API: a key's owner lists and records purchases and
treatments. The forms' schemas check the bodies; what the stored records refuse (a batch bought
after the treatment, expired, or holding less than asked) is a 422 problem naming the field,
and nothing is stored. Creates are exactly once per Idempotency-Key.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import db_key
from app.models import MedicinePurchase, Treatment, TreatmentMethod
from app.treatments import queries
from app.treatments.schemas import PurchaseForm, TreatmentForm
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
from app.web.auth import hive_for
from app.web.i18n import _
from app.web.paths import MAX_ID, path_id

MAX_LISTED = 1000


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
    async with request.app[db_key]() as db:
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
    async with request.app[db_key]() as db, db.begin():
        return await create_once(
            db, guard, lambda: created_purchase(db, owner_id, data), kept_as=MedicinePurchase
        )


@api_view
async def purchase_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    purchase_id = path_id(request)
    async with request.app[db_key]() as db:
        batch = await queries.batch_of(db, owner_id, purchase_id)
    if batch is None:
        raise Problem(404, f"You have no purchase {purchase_id}.")
    return json_answer(PurchaseOut.of(batch).model_dump_json(), 200, "")


# --- Treatments -------------------------------------------------------------------------------


@api_view
async def treatment_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    hive = request.query.get("hive_id")
    hive_id = int(hive) if hive is not None and hive.isdigit() and 0 < int(hive) <= MAX_ID else None
    if hive is not None and hive_id is None:
        raise Problem(404, f"You have no hive {hive}.")
    async with request.app[db_key]() as db:
        if hive_id is not None:
            await hive_for(request, hive_id, db=db)  # another's hive: 404, as if none
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
        async with request.app[db_key]() as db, db.begin():
            return await create_once(
                db, guard, lambda: created_treatment(db, owner_id, data), kept_as=Treatment
            )
    except queries.Refusal as refusal:
        raise refusal_problem(refusal) from refusal


@api_view
async def treatment_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    treatment_id = path_id(request)
    async with request.app[db_key]() as db:
        found = await queries.treatment_of(db, owner_id, treatment_id)
    if found is None:
        raise Problem(404, f"You have no treatment {treatment_id}.")
    return json_answer(TreatmentOut.of(found).model_dump_json(), 200, "")

"""The medicines records' pages: the stock of medicines and their purchases, disposals,
treatments (from the hive page, Today or the inspection checklist; a treatment's page shows the
mite counts before and after it) and the register.

Every create takes an Idempotency-Key (the header, or the form's hidden `idempotency_key`): a
double tap or the offline outbox replaying its queue saves the record once. What the stored
records refuse (a batch bought later, expired, or holding less) is a 422 with the message
beside its field, and nothing is saved.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.helpers import content_disposition_header
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import settings_key
from app.treatments import proofs, queries
from app.treatments.register import read_day
from app.treatments.schemas import (
    ACTIVE_SUBSTANCES,
    METHOD_LABELS,
    PRODUCTS,
    UNIT_LABELS,
    DisposalForm,
    PurchaseForm,
    StripsRemovedForm,
    TreatmentForm,
)
from app.web import formatting, idempotency
from app.web.auth import login_required, safe_next, user_of
from app.web.context import local_today
from app.web.csrf import takes_upload
from app.web.database import db_session
from app.web.forms import Form, read_form, validate
from app.web.htmx import redirect, render, vary
from app.web.i18n import _, translate
from app.web.paths import MAX_ID, path_id


def as_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


def created(location: str) -> idempotency.Answer:
    return idempotency.Answer(303, location)


def refused[M: BaseModel](request: web.Request, form: Form[M], refusal: queries.Refusal) -> None:
    """A refusal beside its field, with its dates and amounts as the reader writes them."""
    zone = request.app[settings_key].zone
    shown = {
        name: formatting.date(value, zone)
        if isinstance(value, date)
        else formatting.number(value)
        if isinstance(value, Decimal)
        else translate(UNIT_LABELS.get(value, value))
        for name, value in refusal.values.items()
    }
    form.add_error(refusal.field_name, _(refusal.message, **shown))


def choices() -> dict[str, Any]:
    return {
        "methods": {method: translate(label) for method, label in METHOD_LABELS.items()},
        "units": {unit: translate(label) for unit, label in UNIT_LABELS.items()},
    }


# --- Medicines: stock, purchases, disposals -------------------------------------------------


@login_required
async def medicine_list(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        batches = await queries.batches_of(db, user_of(request).id)
    return render(
        request,
        "treatments/medicines.html",
        {"batches": batches, "today": local_today(request), **choices()},
        partial="partials/treatments/medicines.html",
    )


def purchase_page(
    request: web.Request, form: Form[PurchaseForm], status: int = 200
) -> web.Response:
    return render(
        request,
        "treatments/purchase_form.html",
        {"form": form, "products": PRODUCTS, "substances": ACTIVE_SUBSTANCES, **choices()},
        partial="partials/treatments/purchase_form.html",
        status=status,
    )


@login_required
async def purchase_new(request: web.Request) -> web.Response:
    values = {
        "purchased_on": local_today(request).isoformat(),
        "unit": "ml",
        "idempotency_key": idempotency.fresh_key(),
    }
    return purchase_page(request, Form(values=values))


@login_required
async def purchase_create(request: web.Request) -> web.Response:
    user = user_of(request)
    form = await read_form(request, PurchaseForm)
    key = idempotency.form_key(request, form)
    if form.data is None:
        return purchase_page(request, form, status=422)
    data = form.data

    async def purchase(db: AsyncSession) -> idempotency.Answer:
        bought = await queries.create_purchase(db, user.id, data)
        return created(f"/medicines/{bought.id}")

    answer = await idempotency.create_from_form(
        request, form, user.id, key, purchase, synced_as="purchase"
    )
    if answer is None:
        return purchase_page(request, form, status=422)
    return redirect(request, answer.location or "/medicines")


async def owned_batch(request: web.Request) -> queries.Batch:
    async with db_session(request) as db:
        batch = await queries.batch_of(db, user_of(request).id, path_id(request))
    if batch is None:
        raise web.HTTPNotFound()
    return batch


async def purchase_page_of(
    request: web.Request,
    batch: queries.Batch,
    form: Form[DisposalForm] | None = None,
    status: int = 200,
    proof_form: Form[Any] | None = None,
) -> web.Response:
    async with db_session(request) as db:
        treatments = await queries.treatments_of(
            db, user_of(request).id, purchase_id=batch.purchase.id
        )
        disposals = await queries.disposals_of(db, batch.purchase.id)
        proof = await proofs.proof_of(db, batch.purchase.id)
    if form is None:
        values = {
            "disposed_on": local_today(request).isoformat(),
            "idempotency_key": idempotency.fresh_key(),
        }
        form = Form(values=values)
    return render(
        request,
        "treatments/purchase.html",
        {
            "batch": batch,
            "purchase": batch.purchase,
            "treatments": treatments,
            "disposals": disposals,
            "form": form,
            "proof": proof,
            "proof_form": proof_form or Form(values={}),
            "proof_kinds": proofs.KIND_LABELS,
            "upload_mb": upload_mb(request),
            "today": local_today(request),
            **choices(),
        },
        partial="partials/treatments/purchase.html",
        status=status,
    )


@login_required
async def purchase_detail(request: web.Request) -> web.Response:
    return await purchase_page_of(request, await owned_batch(request))


@login_required
async def disposal_create(request: web.Request) -> web.Response:
    user = user_of(request)
    batch = await owned_batch(request)
    form = await read_form(request, DisposalForm)
    key = idempotency.form_key(request, form)
    if form.data is None:
        return await purchase_page_of(request, batch, form, status=422)
    data = form.data

    async def dispose(db: AsyncSession) -> idempotency.Answer:
        await queries.create_disposal(db, user.id, batch.purchase.id, data)
        return created(f"/medicines/{batch.purchase.id}")

    try:
        answer = await idempotency.create_from_form(request, form, user.id, key, dispose)
    except queries.Refusal as refusal:
        refused(request, form, refusal)
        answer = None
    if answer is None:
        return await purchase_page_of(request, await owned_batch(request), form, status=422)
    return redirect(request, answer.location or "/medicines")


# --- Proof of purchase: a photo or PDF of the receipt ------------------------------------------


def upload_mb(request: web.Request) -> int:
    """The largest file a form takes, in whole megabytes, as the page and its message say it."""
    return request.app[settings_key].upload_max_bytes // (1024 * 1024)


async def sent_file(request: web.Request, name: str, limit: int) -> tuple[bytes, str]:
    """The file sent as `name` (its first `limit` + 1 bytes, enough to tell it is too large)
    and its name; nothing and "" if none was."""
    sent = (await request.post()).get(name)
    if not isinstance(sent, web.FileField):
        return b"", ""
    return sent.file.read(limit + 1), sent.filename or ""


@login_required
@takes_upload
async def proof_upload(request: web.Request) -> web.Response:
    """Keep the photo or PDF sent as the purchase's proof (in place of one before), or show
    the page again with what is wrong beside the field, nothing kept."""
    limit = request.app[settings_key].upload_max_bytes
    content, sent_name = await sent_file(request, "proof", limit)
    batch = await owned_batch(request)
    media_type = proofs.media_type_of(content)
    if not content:
        problem = translate(proofs.NO_FILE)
    elif len(content) > limit:
        problem = _(proofs.TOO_LARGE, size=upload_mb(request))
    elif media_type is None:
        problem = translate(proofs.NOT_A_PROOF)
    else:
        filename = proofs.safe_filename(sent_name, media_type)
        async with db_session(request) as db, db.begin():
            await proofs.keep_proof(db, batch.purchase.id, media_type, filename, content)
        return redirect(request, f"/medicines/{batch.purchase.id}#proof")
    proof_form: Form[Any] = Form(values={}, labels={"proof": translate(proofs.PROOF_LABEL)})
    proof_form.add_error("proof", problem)
    return await purchase_page_of(request, batch, status=422, proof_form=proof_form)


@login_required
async def proof_file(request: web.Request) -> web.StreamResponse:
    """The proof as it was sent, under its own media type and name (shown, not a page)."""
    batch = await owned_batch(request)
    async with db_session(request) as db:
        found = await proofs.content_of(db, batch.purchase.id)
    if found is None:
        raise web.HTTPNotFound()
    media_type, filename, content = found
    response = web.Response(body=content, content_type=media_type)
    response.headers["Content-Disposition"] = content_disposition_header(
        "inline", filename=filename
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@login_required
async def proof_delete(request: web.Request) -> web.Response:
    batch = await owned_batch(request)
    async with db_session(request) as db, db.begin():
        await proofs.drop_proof(db, batch.purchase.id)
    return redirect(request, f"/medicines/{batch.purchase.id}#proof")


# --- Treatments -----------------------------------------------------------------------------------


async def treatment_page(
    request: web.Request, form: Form[TreatmentForm], status: int = 200
) -> web.Response:
    owner_id = user_of(request).id
    async with db_session(request) as db:
        hives = await queries.active_hives_of(db, owner_id)
        batches = await queries.batches_of(db, owner_id, in_stock=True)
    chosen = [hive for hive in hives if str(hive.id) in form.values.get("hive_ids", [])]
    return render(
        request,
        "treatments/treatment_form.html",
        {
            "form": form,
            "hives": hives,
            "batches": batches,
            "only_hive": chosen[0] if len(chosen) == 1 else None,
            "today": local_today(request),
            **choices(),
        },
        partial="partials/treatments/treatment_form.html",
        status=status,
    )


@login_required
async def treatment_new(request: web.Request) -> web.Response:
    values: dict[str, Any] = {
        "started_on": local_today(request).isoformat(),
        "hive_ids": [h for h in request.query.getall("hive", []) if as_id(h) is not None],
        "duration_days": "1",
        "treated_by": user_of(request).name,
        "idempotency_key": idempotency.fresh_key(),
    }
    return await treatment_page(request, Form(values=values))


@login_required
async def treatment_create(request: web.Request) -> web.Response:
    user = user_of(request)
    form = await read_form(request, TreatmentForm, lists=("hive_ids",))
    key = idempotency.form_key(request, form)
    if form.data is None:
        return await treatment_page(request, form, status=422)
    data = form.data

    async def treat(db: AsyncSession) -> idempotency.Answer:
        try:
            treatment = await queries.create_treatment(db, user.id, data)
        except queries.NotYours:
            raise web.HTTPNotFound() from None  # a hive or batch not yours does not exist
        return created(f"/treatments/{treatment.id}")

    try:
        answer = await idempotency.create_from_form(
            request, form, user.id, key, treat, synced_as="treatment"
        )
    except queries.Refusal as refusal:
        refused(request, form, refusal)
        answer = None
    if answer is None:
        return await treatment_page(request, form, status=422)
    return redirect(request, answer.location or "/treatments")


async def owned_treatment(request: web.Request, *, change: bool = False) -> queries.TreatmentView:
    """The URL's treatment if the user may read it (with `change`, change it); else 404."""
    async with db_session(request) as db:
        found = await queries.treatment_of(db, user_of(request).id, path_id(request), change=change)
    if found is None:
        raise web.HTTPNotFound()
    return found


async def treatment_detail_page(
    request: web.Request,
    found: queries.TreatmentView,
    form: Form[StripsRemovedForm] | None = None,
    status: int = 200,
) -> web.Response:
    if form is None:
        form = Form(values={"removed_on": local_today(request).isoformat()})
    async with db_session(request) as db:
        effects = await queries.effects_of(db, found, request.app[settings_key].zone.key)
        changeable = await queries.treatment_of(
            db, user_of(request).id, found.treatment.id, change=True
        )
    return render(
        request,
        "treatments/treatment.html",
        {
            "found": found,
            "may_change": changeable is not None,
            "treatment": found.treatment,
            "form": form,
            "effects": effects,
            **choices(),
        },
        partial="partials/treatments/treatment.html",
        status=status,
    )


@login_required
async def treatment_detail(request: web.Request) -> web.Response:
    return await treatment_detail_page(request, await owned_treatment(request))


@login_required
async def strips_removed(request: web.Request) -> web.Response:
    """Strips taken out (from the treatment's page or Today's "strips due out")."""
    found = await owned_treatment(request, change=True)
    posted = await request.post()
    form = validate({"removed_on": str(posted.get("removed_on", ""))}, StripsRemovedForm)
    if form.data is not None:
        try:
            async with db_session(request) as db, db.begin():
                again = await queries.treatment_of(
                    db, user_of(request).id, found.treatment.id, change=True
                )
                assert again is not None
                await queries.remove_strips(db, again, form.data.removed_on)
        except queries.Refusal as refusal:
            refused(request, form, refusal)
    if form.data is None:
        return await treatment_detail_page(request, found, form, status=422)
    response = web.Response(
        status=303,
        headers={"Location": safe_next(posted.get("next"), f"/treatments/{found.treatment.id}")},
    )
    vary(response, "HX-Request")
    return response


# --- The register ---------------------------------------------------------------------------------


def period_of(request: web.Request) -> tuple[date, date]:
    """The register's period from `from` and `to` (ISO dates); this year by default, and for a
    date that does not read."""
    first, last = default_period(local_today(request))
    return (
        given_day(request.query.get("from", ""), first),
        given_day(request.query.get("to", ""), last),
    )


def default_period(today: date) -> tuple[date, date]:
    """The register's period when none is given: this year, in the city's time zone."""
    return date(today.year, 1, 1), date(today.year, 12, 31)


def given_day(text: str, default: date) -> date:
    return read_day(text) or default


async def register_for(request: web.Request, owner_id: int) -> tuple[queries.Register, list[str]]:
    """The register of the period (and apiary) the request asks for, and the owner's apiaries;
    an apiary the owner does not have shows all of them."""
    since, until = period_of(request)
    async with db_session(request) as db:
        sites = await queries.sites_of(db, owner_id)
        site = request.query.get("site") if request.query.get("site") in sites else None
        return await queries.register_of(db, owner_id, since, until, site), sites


@login_required
async def register(request: web.Request) -> web.Response:
    """The medicines register for a period (of one apiary with `site`): every treatment, sorted
    by date, with every field the law asks for, the purchases and the disposals of the period;
    it prints one year to a page set, and links to the same period as CSV."""
    found, sites = await register_for(request, user_of(request).id)
    period = {"from": found.since.isoformat(), "to": found.until.isoformat()}
    if found.site is not None:
        period["site"] = found.site
    return render(
        request,
        "treatments/register.html",
        {
            "treatments": found.treatments,
            "batches": found.batches,
            "disposals": found.disposals,
            "since": found.since,
            "until": found.until,
            "sites": sites,
            "site": found.site,
            "keeper": user_of(request),
            "csv_url": "/exports/treatments.csv?" + urlencode(period),
            **choices(),
        },
        partial="partials/treatments/register.html",
    )

"""The medicines register as rows: one per hive a treatment was given to, with every field EU
Regulation 2019/6 Art. 108 and the UK VMR ask for (docs/records.md maps them). The exports
(app/pages/exports.py) write it as CSV; the register page shows the same records for print.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from app.models import Hive, MedicinePurchase, TreatedHive, Treatment
from app.web.auth import hives_of

REGISTER_COLUMNS = [
    "treatment_id", "started_on", "ends_on", "hive_id", "hive_name", "product",
    "active_substance", "batch", "expires_on", "dose", "quantity", "unit", "method",
    "duration_days", "strips_removed_on", "withdrawal_days", "harvest_allowed_on", "treated_by",
    "supplier_name", "supplier_address", "purchased_on", "invoice_number", "vet", "notes",
]  # fmt: skip
# The order of the rows, and their keyset: by date, then treatment, then hive.
REGISTER_ORDER = (Treatment.started_on, Treatment.id, TreatedHive.id)


def treated_hive_readable(user_id: int) -> ColumnElement[bool]:
    """Whether `user_id` may read a treated hive's row (TreatedHive, with its Treatment at
    hand): the hive is one they may read, or it was deleted since and they gave the treatment
    (the legal record stays with whoever recorded it)."""
    readable = hives_of(user_id).with_only_columns(Hive.id)
    return TreatedHive.hive_id.in_(readable) | (
        TreatedHive.hive_id.is_(None) & (Treatment.owner_id == user_id)
    )


def treatment_readable(user_id: int, *, change: bool = False) -> ColumnElement[bool]:
    """Whether `user_id` may read a Treatment (one of its rows is readable), or with `change`,
    also change it (strips out): they may change every one of its hives that is still kept."""
    readable = (
        select(TreatedHive.id)
        .where(TreatedHive.treatment_id == Treatment.id, treated_hive_readable(user_id))
        .exists()
    )
    if not change:
        return readable
    changeable = hives_of(user_id, change=True).with_only_columns(Hive.id)
    kept_elsewhere = (
        select(TreatedHive.id)
        .where(
            TreatedHive.treatment_id == Treatment.id,
            TreatedHive.hive_id.is_not(None),
            TreatedHive.hive_id.not_in(changeable),
        )
        .exists()
    )
    return readable & ~kept_elsewhere


def register_query(
    user_id: int,
    since: date | None = None,
    until: date | None = None,
    site: str | None = None,
) -> Select[Treatment, MedicinePurchase, TreatedHive]:
    """The register's rows: the treated hives `user_id` may read, of treatments started from
    `since` to `until`, and of one apiary with `site` (a treatment given to a hive standing
    there, with all its hives the user may read)."""
    query = (
        select(Treatment, MedicinePurchase, TreatedHive)
        .join(MedicinePurchase, MedicinePurchase.id == Treatment.purchase_id)
        .join(TreatedHive, TreatedHive.treatment_id == Treatment.id)
        .where(treated_hive_readable(user_id))
    )
    return in_period(query, since, until, site)


def in_period[Query: Select[*tuple[Any, ...]]](
    query: Query, since: date | None, until: date | None, site: str | None
) -> Query:
    """A query of treatments narrowed to a period and an apiary, as the register is."""
    if site is not None:
        at_site = (
            select(TreatedHive.treatment_id)
            .join(Hive, Hive.id == TreatedHive.hive_id)
            .where(Hive.site == site)
        )
        query = query.where(Treatment.id.in_(at_site))
    if since is not None:
        query = query.where(Treatment.started_on >= since)
    if until is not None:
        query = query.where(Treatment.started_on <= until)
    return query


def read_day(text: str) -> date | None:
    """A day written as an ISO date; None for anything else."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def register_values(row: Any) -> list[Any]:
    """A row's values in REGISTER_COLUMNS order, as stored."""
    treatment, purchase, treated = row
    values = {
        "treatment_id": treatment.id,
        "hive_id": treated.hive_id,
        "hive_name": treated.hive_name,
        "product": purchase.product,
        "active_substance": purchase.active_substance,
        "batch": purchase.batch,
        "expires_on": purchase.expires_on,
        "unit": purchase.unit,
        "supplier_name": purchase.supplier_name,
        "supplier_address": purchase.supplier_address,
        "purchased_on": purchase.purchased_on,
        "invoice_number": purchase.invoice_number,
        "vet": purchase.vet,
    }
    return [
        values[column] if column in values else getattr(treatment, column)
        for column in REGISTER_COLUMNS
    ]


def register_key(row: Any) -> tuple[Any, ...]:
    treatment, _, treated = row
    return (treatment.started_on, treatment.id, treated.id)

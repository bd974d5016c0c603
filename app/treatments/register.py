"""The medicines register as rows: one per hive a treatment was given to, with every field EU
Regulation 2019/6 Art. 108 and the UK VMR ask for (docs/records.md maps them). The exports
(app/pages/exports.py) write it as CSV; the register page shows the same records for print.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from app.models import MedicinePurchase, TreatedHive, Treatment

REGISTER_COLUMNS = [
    "treatment_id", "started_on", "ends_on", "hive_id", "hive_name", "product",
    "active_substance", "batch", "expires_on", "dose", "quantity", "unit", "method",
    "duration_days", "strips_removed_on", "withdrawal_days", "harvest_allowed_on", "treated_by",
    "supplier_name", "supplier_address", "purchased_on", "invoice_number", "vet", "notes",
]  # fmt: skip
# The order of the rows, and their keyset: by date, then treatment, then hive.
REGISTER_ORDER = (Treatment.started_on, Treatment.id, TreatedHive.id)


def register_query(owner_id: int) -> Select[Treatment, MedicinePurchase, TreatedHive]:
    return (
        select(Treatment, MedicinePurchase, TreatedHive)
        .join(MedicinePurchase, MedicinePurchase.id == Treatment.purchase_id)
        .join(TreatedHive, TreatedHive.treatment_id == Treatment.id)
        .where(Treatment.owner_id == owner_id)
    )


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

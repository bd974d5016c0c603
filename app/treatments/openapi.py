"""The medicines records' part of the OpenAPI document: purchases and treatments, listed and
created. app/pages/openapi.py puts these into the one document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.treatments.api import (
    PurchaseIn,
    PurchaseList,
    PurchaseOut,
    TreatmentIn,
    TreatmentList,
    TreatmentOut,
)
from app.web.api import (
    UNAUTHORIZED,
    id_parameter,
    idempotent_create,
    json_content,
    link,
    problem,
)

MODELS: list[type[BaseModel]] = [
    PurchaseIn,
    PurchaseOut,
    PurchaseList,
    TreatmentIn,
    TreatmentOut,
    TreatmentList,
]

NOT_FOUND = problem("You have no such hive, purchase or treatment (another user's is not found).")
INVALID = problem(
    "The body did not validate; `errors` names each field. A purchase: the expiry is not "
    "before the purchase, the date not in the future, a product not on the list names its "
    "active substance.",
    "ValidationProblem",
)
REFUSED = problem(
    "The body did not validate (`errors` names each field), or the stored records refuse the "
    "treatment (`type` 'refused'): the batch was bought after `started_on`, had expired by "
    "then, or holds less than `quantity`. `withdrawal_days` is required, 0 or more. Nothing is "
    "stored.",
    "ValidationProblem",
)
PURCHASE_EXAMPLE = {
    "product": "Oxybee",
    "batch": "OX-2026-114",
    "expires_on": "2028-03-31",
    "supplier_name": "Imkerei Bedarf Schmidt",
    "supplier_address": "Lindenstraße 4, 10969 Berlin",
    "purchased_on": "2026-11-20",
    "quantity": 1000,
    "unit": "ml",
    "invoice_number": "R-2026-0815",
}
TREATMENT_EXAMPLE = {
    "hive_ids": [12, 13],
    "purchase_id": 3,
    "started_on": "2026-12-20",
    "dose": "5 ml per seam of bees",
    "quantity": 90,
    "method": "trickling",
    "duration_days": 1,
    "withdrawal_days": 0,
    "treated_by": "Ada Imker",
}


def _one(operation_id: str, summary: str, schema: str, what: str) -> dict[str, Any]:
    return {
        "parameters": [id_parameter(what)],
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "responses": {
                "200": json_content(schema, f"The {what}."),
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
            },
        },
    }


def paths() -> dict[str, Any]:
    return {
        "/api/v1/purchases": {
            "get": {
                "operationId": "listPurchases",
                "summary": "Your medicines bought, newest first, each with its stock on hand",
                "responses": {
                    "200": json_content("PurchaseList", "Up to 1000 purchases."),
                    "401": UNAUTHORIZED,
                },
            },
            "post": idempotent_create(
                "createPurchase",
                "Record a medicine bought: product, batch, expiry, supplier, proof of purchase",
                ("PurchaseIn", PURCHASE_EXAMPLE),
                ("PurchaseOut", "The purchase, its whole quantity in stock."),
                links={"GetPurchase": link("getPurchase", id="$response.body#/id")},
                not_found=NOT_FOUND,
                invalid=INVALID,
            ),
        },
        "/api/v1/purchases/{id}": _one("getPurchase", "One purchase", "PurchaseOut", "purchase"),
        "/api/v1/treatments": {
            "get": {
                "operationId": "listTreatments",
                "summary": "Your treatments by date, oldest first (of one hive with ?hive_id=)",
                "parameters": [
                    {
                        "name": "hive_id",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    }
                ],
                "responses": {
                    "200": json_content("TreatmentList", "Up to 1000 treatments."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            },
            "post": idempotent_create(
                "createTreatment",
                "Record a treatment of one hive or several at once, from a batch in stock",
                ("TreatmentIn", TREATMENT_EXAMPLE),
                ("TreatmentOut", "The treatment, with its end and the first day of honey."),
                links={"GetTreatment": link("getTreatment", id="$response.body#/id")},
                not_found=NOT_FOUND,
                invalid=REFUSED,
            ),
        },
        "/api/v1/treatments/{id}": _one(
            "getTreatment", "One treatment", "TreatmentOut", "treatment"
        ),
    }

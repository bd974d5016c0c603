"""The medicines records' part of the OpenAPI document: purchases, disposals and treatments,
listed and created; the authorised medicines; the register of a period. app/pages/openapi.py
puts these into the one document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.treatments.api import (
    DisposalIn,
    DisposalList,
    DisposalOut,
    MedicineList,
    MedicineOut,
    PurchaseIn,
    PurchaseList,
    PurchaseOut,
    RegisterDisposalOut,
    RegisterOut,
    RegisterTreatmentOut,
    TreatmentIn,
    TreatmentList,
    TreatmentOut,
)
from app.web.api import (
    HIVE_ID_QUERY,
    UNAUTHORIZED,
    id_parameter,
    idempotent_create,
    json_content,
    link,
    problem,
)

MODELS: list[type[BaseModel]] = [
    MedicineOut,
    MedicineList,
    PurchaseIn,
    PurchaseOut,
    PurchaseList,
    TreatmentIn,
    TreatmentOut,
    TreatmentList,
    DisposalIn,
    DisposalOut,
    DisposalList,
    RegisterTreatmentOut,
    RegisterDisposalOut,
    RegisterOut,
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
DISPOSAL_REFUSED = problem(
    "The body did not validate (`errors` names each field: the date not in the future, the "
    "quantity above 0), or the stored records refuse the disposal (`type` 'refused'): a date "
    "before the batch was bought, or more than its stock. Nothing is stored.",
    "ValidationProblem",
)
REGISTER_INVALID = problem(
    "`from` or `to` is not a date (YYYY-MM-DD); `errors` names it.", "ValidationProblem"
)
DISPOSAL_EXAMPLE = {"disposed_on": "2026-12-01", "quantity": 250, "how": "Pharmacy take-back"}
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


def disposal_parameter() -> dict[str, Any]:
    return {**id_parameter("disposal"), "name": "disposal_id"}


def day_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "format": "date"},
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
        "/api/v1/medicines": {
            "get": {
                "operationId": "listMedicines",
                "summary": "The authorised varroa medicines and their active substances",
                "responses": {
                    "200": json_content(
                        "MedicineList",
                        "The products a purchase may name without its active substance; "
                        "another product names one of `active_substances` (or its own).",
                    ),
                    "401": UNAUTHORIZED,
                },
            },
        },
        "/api/v1/purchases/{id}/disposals": {
            "parameters": [id_parameter("purchase")],
            "get": {
                "operationId": "listDisposals",
                "summary": "What was thrown away of one purchase, by date",
                "responses": {
                    "200": json_content("DisposalList", "The purchase's disposals."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            },
            "post": idempotent_create(
                "createDisposal",
                "Record part of a batch thrown away; its stock goes down by the quantity",
                ("DisposalIn", DISPOSAL_EXAMPLE),
                ("DisposalOut", "The disposal."),
                links={
                    "GetDisposal": link(
                        "getDisposal",
                        id="$request.path.id",
                        disposal_id="$response.body#/id",
                    ),
                    "GetPurchase": link("getPurchase", id="$request.path.id"),
                },
                not_found=NOT_FOUND,
                invalid=DISPOSAL_REFUSED,
            ),
        },
        "/api/v1/purchases/{id}/disposals/{disposal_id}": {
            **_one("getDisposal", "One disposal", "DisposalOut", "disposal"),
            "parameters": [id_parameter("purchase"), disposal_parameter()],
        },
        "/api/v1/treatment-register": {
            "get": {
                "operationId": "getTreatmentRegister",
                "summary": "The medicines register of a period, as the register page prints it",
                "parameters": [
                    day_parameter("from", "The period's first day; 1 January of this year."),
                    day_parameter("to", "The period's last day; 31 December of this year."),
                    {
                        "name": "site",
                        "in": "query",
                        "required": False,
                        "description": "One apiary (its hives' site): its treatments only.",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": json_content(
                        "RegisterOut",
                        "Every treatment started in the period with the fields EU 2019/6 "
                        "Art. 108 asks for, the batches bought and the disposals, by date.",
                    ),
                    "401": UNAUTHORIZED,
                    "404": problem("You have no hives at this `site`."),
                    "422": REGISTER_INVALID,
                },
            },
        },
        "/api/v1/treatments": {
            "get": {
                "operationId": "listTreatments",
                "summary": "Your treatments by date, oldest first (of one hive with ?hive_id=)",
                "parameters": [HIVE_ID_QUERY],
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

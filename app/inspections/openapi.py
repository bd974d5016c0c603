"""The field log's part of the OpenAPI document: inspections and harvests, listed and created.

app/pages/openapi.py puts these into the one document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.inspections.api import (
    HarvestIn,
    HarvestList,
    HarvestOut,
    InspectionIn,
    InspectionList,
    InspectionOut,
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
    InspectionIn,
    InspectionOut,
    InspectionList,
    HarvestIn,
    HarvestOut,
    HarvestList,
]

NOT_FOUND = problem("You have no such hive or record (another user's is not found either).")
INVALID = problem("The body did not validate; `errors` names each field.", "ValidationProblem")
WITHHELD = problem(
    "The body did not validate (`errors` names each field), or the withdrawal guard refuses "
    "the harvest: one of its hives is inside a treatment's withdrawal period on "
    "`harvested_on`, or has treatment strips in. Then the error's `type` is "
    "'withdrawal_period' and its `allowed_on` the first day honey may be taken (ISO date); "
    "nothing is stored.",
    "ValidationProblem",
)
INSPECTION_EXAMPLE = {
    "hive_id": 12,
    "done_at": "2026-06-01T10:30:00+02:00",
    "frames_of_bees": 9,
    "queen_seen": True,
    "eggs_seen": True,
    "queen_cells": "none",
    "temperament": "calm",
    "varroa_count": 6,
    "varroa_method": "alcohol_wash",
    "varroa_sample": 300,
    "weight_kg": 41.5,
    "actions": ["super_added"],
    "next_inspection_on": "2026-06-08",
}
HARVEST_EXAMPLE = {
    "harvested_on": "2026-07-01",
    "split": "weight",
    "kg_by_hive": {"12": 12.5, "13": 8},
    "moisture_pct": 17.2,
    "honey_kind": "Lime",
    "quality": {"hmf_mg_kg": 8},
}


def paths() -> dict[str, Any]:
    return {
        "/api/v1/inspections": {
            "get": {
                "operationId": "listInspections",
                "summary": "Your inspections, newest first (of one hive with ?hive_id=)",
                "parameters": [HIVE_ID_QUERY],
                "responses": {
                    "200": json_content("InspectionList", "Up to 500 inspections."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            },
            "post": idempotent_create(
                "createInspection",
                "Record an inspection (and schedule the next one)",
                ("InspectionIn", INSPECTION_EXAMPLE),
                ("InspectionOut", "The recorded inspection."),
                links={
                    "GetInspection": link("getInspection", id="$response.body#/id"),
                    "ListInspectionsOfItsHive": link(
                        "listInspections", hive_id="$response.body#/hive_id"
                    ),
                },
                not_found=NOT_FOUND,
            ),
        },
        "/api/v1/inspections/{id}": {
            "parameters": [id_parameter("inspection")],
            "get": {
                "operationId": "getInspection",
                "summary": "One inspection",
                "responses": {
                    "200": json_content("InspectionOut", "The inspection."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            },
        },
        "/api/v1/harvests": {
            "get": {
                "operationId": "listHarvests",
                "summary": "Your harvests, newest first, with each hive's share",
                "responses": {
                    "200": json_content("HarvestList", "Up to 500 harvests."),
                    "401": UNAUTHORIZED,
                },
            },
            "post": idempotent_create(
                "createHarvest",
                "Log a harvest from one or several hives, shared evenly or by weight",
                ("HarvestIn", HARVEST_EXAMPLE),
                ("HarvestOut", "The harvest and its shares."),
                links={"GetHarvest": link("getHarvest", id="$response.body#/id")},
                not_found=NOT_FOUND,
                invalid=WITHHELD,
            ),
        },
        "/api/v1/harvests/{id}": {
            "parameters": [id_parameter("harvest")],
            "get": {
                "operationId": "getHarvest",
                "summary": "One harvest",
                "responses": {
                    "200": json_content("HarvestOut", "The harvest."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            },
        },
    }

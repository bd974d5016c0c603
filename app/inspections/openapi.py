"""The field log's part of the OpenAPI document: inspections and harvests, listed and created.

app/api/openapi.py puts these into the one document.
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

MODELS: list[type[BaseModel]] = [
    InspectionIn,
    InspectionOut,
    InspectionList,
    HarvestIn,
    HarvestOut,
    HarvestList,
]

PROBLEM_JSON = "application/problem+json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: str, description: str, example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": _ref(schema)}
    if example is not None:
        content["example"] = example
    return {"description": description, "content": {"application/json": content}}


def _problem(description: str, schema: str = "ProblemOut") -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _ref(schema)}}}


UNAUTHORIZED = _problem("No API key, or an unknown or revoked one.")
NOT_FOUND = _problem("You have no such hive or record (another user's is not found either).")
INVALID = _problem("The body did not validate; `errors` names each field.", "ValidationProblem")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Any unique string of 8 to 100 printable characters (a UUID). A repeat with the same "
        "key creates nothing and answers as the first time: retries and offline replays are safe."
    ),
    "schema": {"type": "string", "minLength": 8, "maxLength": 100, "pattern": "^[!-~]+$"},
}
CREATED_HEADERS = {
    "Location": {"description": "The new record's URL.", "schema": {"type": "string"}}
}
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


def _id(what: str) -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }


def paths() -> dict[str, Any]:
    return {
        "/api/v1/inspections": {
            "get": {
                "operationId": "listInspections",
                "summary": "Your inspections, newest first (of one hive with ?hive_id=)",
                "parameters": [
                    {
                        "name": "hive_id",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    }
                ],
                "responses": {
                    "200": _json("InspectionList", "Up to 500 inspections."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            },
            "post": {
                "operationId": "createInspection",
                "summary": "Record an inspection (and schedule the next one)",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("InspectionIn"),
                            "example": INSPECTION_EXAMPLE,
                        }
                    },
                },
                "responses": {
                    "201": {
                        **_json("InspectionOut", "The recorded inspection."),
                        "headers": CREATED_HEADERS,
                    },
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "422": INVALID,
                },
            },
        },
        "/api/v1/inspections/{id}": {
            "parameters": [_id("inspection")],
            "get": {
                "operationId": "getInspection",
                "summary": "One inspection",
                "responses": {
                    "200": _json("InspectionOut", "The inspection."),
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
                    "200": _json("HarvestList", "Up to 500 harvests."),
                    "401": UNAUTHORIZED,
                },
            },
            "post": {
                "operationId": "createHarvest",
                "summary": "Log a harvest from one or several hives, shared evenly or by weight",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("HarvestIn"),
                            "example": HARVEST_EXAMPLE,
                        }
                    },
                },
                "responses": {
                    "201": {
                        **_json("HarvestOut", "The harvest and its shares."),
                        "headers": CREATED_HEADERS,
                    },
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "422": INVALID,
                },
            },
        },
        "/api/v1/harvests/{id}": {
            "parameters": [_id("harvest")],
            "get": {
                "operationId": "getHarvest",
                "summary": "One harvest",
                "responses": {
                    "200": _json("HarvestOut", "The harvest."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            },
        },
    }

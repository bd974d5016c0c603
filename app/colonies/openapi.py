"""The colonies' part of the OpenAPI document: colonies, queens, colony events and a hive's
boxes.

app/pages/openapi.py puts these into the one document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.colonies.api import (
    BoxesIn,
    BoxesOut,
    ColonyEventIn,
    ColonyEventList,
    ColonyEventOut,
    ColonyList,
    ColonyOut,
    QueenList,
    QueenOut,
)
from app.web.api import UNAUTHORIZED, json_content, problem, ref

MODELS: list[type[BaseModel]] = [
    BoxesIn,
    BoxesOut,
    ColonyEventIn,
    ColonyEventOut,
    ColonyEventList,
    ColonyOut,
    ColonyList,
    QueenOut,
    QueenList,
]

NOT_FOUND = problem("You have no such colony, queen or event (another user's is not found either).")
INVALID = problem(
    "The body did not validate, or the event cannot be (a colony no longer alive, a union of a "
    "colony with itself, a day in the future or before the hive existed, a queen who would be "
    "her own ancestor): `errors` names each field.",
    "ValidationProblem",
)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Any unique string of 8 to 100 printable characters (a UUID). A repeat with the same "
        "key and body records nothing and answers as the first time. The same key with another "
        "body is refused (422, `idempotency_key_reused`) and nothing is stored."
    ),
    "schema": {"type": "string", "minLength": 8, "maxLength": 100, "pattern": "^[!-~]+$"},
}
EVENT_EXAMPLE = {
    "kind": "requeen",
    "colony_id": 12,
    "happened_on": "2026-06-01",
    "year": 2026,
    "marked": True,
    "race": "Carnica",
    "origin": "bought",
    "breeder": "Imkerei Sonnenhang",
    "old_queen_fate": "replaced",
}


def _id(what: str) -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }


def _get(operation_id: str, summary: str, schema: str, description: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "responses": {
            "200": json_content(schema, description),
            "401": UNAUTHORIZED,
            "404": NOT_FOUND,
        },
    }


def paths() -> dict[str, Any]:
    return {
        "/api/v1/colonies": {
            "get": _get("listColonies", "Your colonies, by name", "ColonyList", "Up to 500."),
        },
        "/api/v1/queens": {
            "get": _get("listQueens", "Your queens, youngest first", "QueenList", "Up to 500."),
        },
        "/api/v1/queens/{id}": {
            "parameters": [_id("queen")],
            "get": _get("getQueen", "One queen", "QueenOut", "The queen."),
        },
        "/api/v1/colony-events": {
            "get": _get(
                "listColonyEvents",
                "Your colonies' events, newest first",
                "ColonyEventList",
                "Up to 500 events.",
            ),
            "post": {
                "operationId": "createColonyEvent",
                "summary": (
                    "Record an event of one of your colonies: a split (a daughter colony in "
                    "one of your empty hives or a new one), a union, a requeen (the new "
                    "queen's id is the event's queen_id), a swarm lost, a death, a sale"
                ),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": ref("ColonyEventIn"),
                            "example": EVENT_EXAMPLE,
                        }
                    },
                },
                "responses": {
                    "201": {
                        **json_content("ColonyEventOut", "The recorded event."),
                        "headers": {
                            "Location": {
                                "description": "The new event's URL.",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "422": INVALID,
                },
            },
        },
        "/api/v1/hives/{id}/boxes": {
            "parameters": [_id("hive")],
            "get": _get("getHiveBoxes", "What a hive is built of", "BoxesOut", "Its boxes."),
            "put": {
                "operationId": "replaceHiveBoxes",
                "summary": "Describe what a hive is built of",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": ref("BoxesIn"),
                            "example": {"brood_boxes": 2, "supers": 1, "queen_excluder": True},
                        }
                    },
                },
                "responses": {
                    "200": json_content("BoxesOut", "The hive's boxes, as stored."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "422": problem(
                        "The body did not validate; `errors` names each field.",
                        "ValidationProblem",
                    ),
                },
            },
        },
        "/api/v1/colony-events/{id}": {
            "parameters": [_id("colony event")],
            "get": _get("getColonyEvent", "One colony event", "ColonyEventOut", "The event."),
        },
    }

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
from app.web.api import INVALID as WEB_INVALID
from app.web.api import (
    TOO_LARGE,
    UNAUTHORIZED,
    UNSUPPORTED,
    id_parameter,
    idempotent_create,
    json_content,
    link,
    problem,
    ref,
)

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
            "parameters": [id_parameter("queen")],
            "get": _get("getQueen", "One queen", "QueenOut", "The queen."),
        },
        "/api/v1/colony-events": {
            "get": _get(
                "listColonyEvents",
                "Your colonies' events, newest first",
                "ColonyEventList",
                "Up to 500 events.",
            ),
            "post": idempotent_create(
                "createColonyEvent",
                "Record an event of one of your colonies: a split (a daughter colony in one of "
                "your empty hives or a new one), a union, a requeen (the new queen's id is the "
                "event's queen_id), a swarm lost, a death, a sale",
                ("ColonyEventIn", EVENT_EXAMPLE),
                ("ColonyEventOut", "The recorded event."),
                links={"GetColonyEvent": link("getColonyEvent", id="$response.body#/id")},
                not_found=NOT_FOUND,
                invalid=INVALID,
            ),
        },
        "/api/v1/hives/{id}/boxes": {
            "parameters": [id_parameter("hive")],
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
                    "413": TOO_LARGE,
                    "415": UNSUPPORTED,
                    "422": WEB_INVALID,
                },
            },
        },
        "/api/v1/colony-events/{id}": {
            "parameters": [id_parameter("colony event")],
            "get": _get("getColonyEvent", "One colony event", "ColonyEventOut", "The event."),
        },
    }

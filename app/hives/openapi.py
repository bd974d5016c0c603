"""The hives' part of the OpenAPI document: the list, and each hive read, replaced, patched or
deleted. app/pages/openapi.py puts it into the one document with the other features' parts.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from app.hives.api import HiveIn, HiveList, HiveOut
from app.hives.queries import PER_PAGE
from app.hives.schemas import HiveListQuery
from app.web.api import (
    CREATED_HEADERS,
    IDEMPOTENCY_KEY,
    INVALID,
    RECORD_GONE,
    TOO_LARGE,
    UNAUTHORIZED,
    UNSUPPORTED,
    json_content,
    link,
    problem,
    ref,
)

MODELS: list[type[BaseModel]] = [HiveIn, HiveOut, HiveList, HiveListQuery]

NOT_FOUND = problem("You have no hive with this id (another user's hive is not found either).")

HIVE_EXAMPLE = {
    "name": "Queen Mab",
    "latitude": 51.5202,
    "longitude": -0.0937,
    "frame_type": "national",
    "installed_on": "2024-04-20",
}
HIVE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The hive's id.",
    "schema": {"type": "integer", "minimum": 1},
}


def add_schemas(schemas: dict[str, Any]) -> None:
    """HivePatch, made from HiveIn (every field optional), into the document's schemas; the
    list's query, a schema only to describe its parameters, out of them."""
    patch = copy.deepcopy(schemas["HiveIn"])
    patch.pop("required", None)
    for field in patch["properties"].values():
        field.pop("default", None)
    patch["title"] = "HivePatch"
    patch["description"] = "Any of HiveIn's fields; the others keep their values."
    schemas["HivePatch"] = patch


def _query_parameters(schemas: dict[str, Any]) -> list[dict[str, Any]]:
    query = schemas.pop("HiveListQuery")
    described = {
        "q": "Words in the name, site or notes.",
        "site": "Only the hives of the apiary with exactly this name.",
        "status": "Only hives with this status.",
        "sort": "Order by a field; a leading '-' reverses it.",
        "page": f"Which page ({PER_PAGE} hives per page).",
    }
    examples: dict[str, Any] = {"status": "active", "page": 1}
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": described[name],
            "schema": _empty_for_null(schema),
        }
        | ({"example": examples[name]} if name in examples else {})
        for name, schema in query["properties"].items()
    ]


def _empty_for_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string has no null: there, an empty value (`?status=`) means none, as a blank
    filter in the list's form does."""
    if {"type": "null"} not in schema.get("anyOf", []):
        return schema
    options = [o for o in schema["anyOf"] if o != {"type": "null"}] + [{"const": ""}]
    return {k: v for k, v in schema.items() if k != "default"} | {"anyOf": options}


def paths(schemas: dict[str, Any]) -> dict[str, Any]:
    """The hives' operations (taking the list's query out of `schemas`, into its parameters)."""
    add_schemas(schemas)
    hive_body = {
        "required": True,
        "content": {"application/json": {"schema": ref("HiveIn"), "example": HIVE_EXAMPLE}},
    }
    item_errors = {"401": UNAUTHORIZED, "404": NOT_FOUND}
    return {
        "/api/v1/hives": {
            "get": {
                "operationId": "listHives",
                "summary": "Your hives, a page at a time",
                "parameters": _query_parameters(schemas),
                "responses": {
                    "200": json_content("HiveList", "A page of your hives."),
                    "401": UNAUTHORIZED,
                    "422": INVALID,
                },
            },
            "post": {
                "operationId": "createHive",
                "summary": "Add a hive",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": hive_body,
                "responses": {
                    "201": {
                        **json_content("HiveOut", "The new hive."),
                        "headers": CREATED_HEADERS,
                        "links": {
                            "GetHive": link("getHive", id="$response.body#/id"),
                            "ReplaceHive": link("replaceHive", id="$response.body#/id"),
                            "UpdateHive": link("updateHive", id="$response.body#/id"),
                            "DeleteHive": link("deleteHive", id="$response.body#/id"),
                            "ListInspectionsOfHive": link(
                                "listInspections", hive_id="$response.body#/id"
                            ),
                        },
                    },
                    "401": UNAUTHORIZED,
                    "410": RECORD_GONE,
                    "413": TOO_LARGE,
                    "415": UNSUPPORTED,
                    "422": INVALID,
                },
            },
        },
        "/api/v1/hives/{id}": {
            "parameters": [HIVE_ID],
            "get": {
                "operationId": "getHive",
                "summary": "One hive",
                "responses": {"200": json_content("HiveOut", "The hive."), **item_errors},
            },
            "put": {
                "operationId": "replaceHive",
                "summary": "Replace a hive's fields (all of them)",
                "requestBody": hive_body,
                "responses": {
                    "200": json_content("HiveOut", "The hive as it now is."),
                    **item_errors,
                    "413": TOO_LARGE,
                    "415": UNSUPPORTED,
                    "422": INVALID,
                },
            },
            "patch": {
                "operationId": "updateHive",
                "summary": "Change some of a hive's fields",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": ref("HivePatch"),
                            "example": {"notes": "Queen seen, brood on 6 frames."},
                        }
                    },
                },
                "responses": {
                    "200": json_content("HiveOut", "The hive as it now is."),
                    **item_errors,
                    "413": TOO_LARGE,
                    "415": UNSUPPORTED,
                    "422": INVALID,
                },
            },
            "delete": {
                "operationId": "deleteHive",
                "summary": "Delete a hive",
                "responses": {"204": {"description": "Deleted."}, **item_errors},
            },
        },
    }

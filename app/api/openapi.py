"""The OpenAPI 3.1 document, built from the pydantic models the views use."""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app.api.problems import PROBLEM_JSON
from app.api.schemas import HiveIn, HiveList, HiveOut, ProblemOut, ValidationProblem
from app.hives.queries import PER_PAGE
from app.hives.schemas import HiveListQuery
from app.inspections import openapi as field_log_api
from app.sensors import openapi as sensors_api

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _problem(description: str, schema: str = "ProblemOut") -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _ref(schema)}}}


UNAUTHORIZED = _problem("No API key, or an unknown or revoked one.")
NOT_FOUND = _problem("You have no hive with this id (another user's hive is not found either).")
INVALID = _problem(
    "The body or query did not validate; `errors` names each field.", "ValidationProblem"
)
TOO_LARGE = _problem("The request body is larger than the server accepts.")
WRONG_KEYS = _problem(
    "Too many wrong API keys from your address (API_KEY_FAILURES_PER_ADDRESS per "
    "API_KEY_FAILURE_WINDOW_SECONDS): wait the seconds that Retry-After says."
)
WRONG_KEYS["headers"] = {
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
}

HIVE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The hive's id.",
    "schema": {"type": "integer", "minimum": 1},
}


def _components() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        HiveIn,
        HiveOut,
        HiveList,
        ProblemOut,
        ValidationProblem,
        HiveListQuery,
        *field_log_api.MODELS,
        *sensors_api.MODELS,
    ]
    mode: JsonSchemaMode = "validation"
    _, top = models_json_schema([(model, mode) for model in models], ref_template=REF)
    schemas: dict[str, Any] = _standard_bounds(top.get("$defs", {}))
    patch = copy.deepcopy(schemas["HiveIn"])
    patch.pop("required", None)
    for field in patch["properties"].values():
        field.pop("default", None)
    patch["title"] = "HivePatch"
    patch["description"] = "Any of HiveIn's fields; the others keep their values."
    schemas["HivePatch"] = patch
    return schemas


# A bound behind a before-validator reaches the schema under its pydantic name.
_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _standard_bounds(node: Any) -> Any:
    if isinstance(node, dict):
        return {_BOUNDS.get(key, key): _standard_bounds(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_standard_bounds(value) for value in node]
    return node


def _query_parameters(schemas: dict[str, Any]) -> list[dict[str, Any]]:
    query = schemas.pop("HiveListQuery")
    described = {
        "q": "Words in the name, site or notes.",
        "site": "Exactly this site.",
        "status": "Only hives with this status.",
        "sort": "Order by a field; a leading '-' reverses it.",
        "page": f"Which page ({PER_PAGE} hives per page).",
    }
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": described[name],
            "schema": _empty_for_null(schema),
        }
        for name, schema in query["properties"].items()
    ]


def _empty_for_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string has no null: there, an empty value (`?status=`) means none, as a blank
    filter in the list's form does."""
    if {"type": "null"} not in schema.get("anyOf", []):
        return schema
    options = [o for o in schema["anyOf"] if o != {"type": "null"}] + [{"const": ""}]
    return {k: v for k, v in schema.items() if k != "default"} | {"anyOf": options}


@functools.cache
def openapi_document() -> dict[str, Any]:
    schemas = _components()
    list_parameters = _query_parameters(schemas)
    hive_body = {
        "required": True,
        "content": {"application/json": {"schema": _ref("HiveIn")}},
    }
    item_errors = {"401": UNAUTHORIZED, "404": NOT_FOUND}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "CityHive API",
            "version": "1",
            "description": (
                "Your hives, for your scripts and sensors. Create a key on your profile page "
                "and send it as `Authorization: Bearer <key>` (or `X-API-Key: <key>`)."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {}}},
                        }
                    },
                }
            },
            "/api/v1/hives": {
                "get": {
                    "operationId": "listHives",
                    "summary": "Your hives, a page at a time",
                    "parameters": list_parameters,
                    "responses": {
                        "200": _json("HiveList", "A page of your hives."),
                        "401": UNAUTHORIZED,
                        "422": INVALID,
                    },
                },
                "post": {
                    "operationId": "createHive",
                    "summary": "Add a hive",
                    "requestBody": hive_body,
                    "responses": {
                        "201": {
                            **_json("HiveOut", "The new hive."),
                            "headers": {
                                "Location": {
                                    "description": "The new hive's URL.",
                                    "schema": {"type": "string"},
                                }
                            },
                        },
                        "401": UNAUTHORIZED,
                        "413": TOO_LARGE,
                        "422": INVALID,
                    },
                },
            },
            "/api/v1/hives/{id}": {
                "parameters": [HIVE_ID],
                "get": {
                    "operationId": "getHive",
                    "summary": "One hive",
                    "responses": {"200": _json("HiveOut", "The hive."), **item_errors},
                },
                "put": {
                    "operationId": "replaceHive",
                    "summary": "Replace a hive's fields (all of them)",
                    "requestBody": hive_body,
                    "responses": {
                        "200": _json("HiveOut", "The hive as it now is."),
                        **item_errors,
                        "413": TOO_LARGE,
                        "422": INVALID,
                    },
                },
                "patch": {
                    "operationId": "updateHive",
                    "summary": "Change some of a hive's fields",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("HivePatch")}},
                    },
                    "responses": {
                        "200": _json("HiveOut", "The hive as it now is."),
                        **item_errors,
                        "413": TOO_LARGE,
                        "422": INVALID,
                    },
                },
                "delete": {
                    "operationId": "deleteHive",
                    "summary": "Delete a hive",
                    "responses": {"204": {"description": "Deleted."}, **item_errors},
                },
            },
            **field_log_api.paths(),
            **sensors_api.paths(),
        },
        "webhooks": sensors_api.webhooks(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from your profile page; `X-API-Key` works too.",
                }
            },
        },
    }
    return with_wrong_key_limit(document)


def with_wrong_key_limit(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation that takes a key (answers 401) may also answer 429 for an address that
    has sent too many wrong keys (app/api/auth.py), whichever feature documents it."""
    for item in document["paths"].values():
        for operation in item.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            if "401" in responses:
                responses.setdefault("429", WRONG_KEYS)
    return document

"""The API's one OpenAPI 3.1 document, gathered from every feature's part (each built from the
pydantic models its views use), and the /api page that explains the API to people.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app.colonies import openapi as colonies_api
from app.hives import openapi as hives_api
from app.inspections import openapi as field_log_api
from app.sensors import openapi as sensors_api
from app.web.api import PROBLEM_MODELS, REF, TOO_MANY_WRONG_KEYS
from app.web.htmx import render
from app.web.urls import public_origin


def _components() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        *hives_api.MODELS,
        *PROBLEM_MODELS,
        *field_log_api.MODELS,
        *sensors_api.MODELS,
        *colonies_api.MODELS,
    ]
    mode: JsonSchemaMode = "validation"
    _, top = models_json_schema([(model, mode) for model in models], ref_template=REF)
    schemas: dict[str, Any] = _standard_bounds(top.get("$defs", {}))
    return schemas


# A bound behind a before-validator reaches the schema under its pydantic name.
_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _standard_bounds(node: Any) -> Any:
    if isinstance(node, dict):
        return {_BOUNDS.get(key, key): _standard_bounds(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_standard_bounds(value) for value in node]
    return node


@functools.cache
def openapi_document() -> dict[str, Any]:
    schemas = _components()
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
            **hives_api.paths(schemas),
            **field_log_api.paths(),
            **sensors_api.paths(),
            **colonies_api.paths(),
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
    has sent too many wrong keys (app/web/api.py), whichever feature documents it."""
    for item in document["paths"].values():
        for operation in item.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            if "401" in responses:
                responses.setdefault("429", TOO_MANY_WRONG_KEYS)
    return document


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def api_docs(request: web.Request) -> web.Response:
    """The API explained for people: keys, the header, each endpoint with a curl line."""
    return render(request, "api/docs.html", {"base_url": public_origin(request)})

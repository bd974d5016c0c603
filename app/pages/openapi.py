"""The API's one OpenAPI 3.1 document, gathered from every feature's part (each built from the
pydantic models its views use), and the /api page that explains the API to people.
"""

from __future__ import annotations

import functools
import html
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app.apiaries import openapi as apiaries_api
from app.colonies import openapi as colonies_api
from app.hives import openapi as hives_api
from app.inspections import openapi as field_log_api
from app.sensors import openapi as sensors_api
from app.treatments import openapi as treatments_api
from app.web.api import JSON_TYPE, PROBLEM_MODELS, PROBLEM_TYPES, REF, TOO_MANY_WRONG_KEYS
from app.web.htmx import render
from app.web.urls import public_origin


def _components() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        *hives_api.MODELS,
        *PROBLEM_MODELS,
        *field_log_api.MODELS,
        *sensors_api.MODELS,
        *treatments_api.MODELS,
        *colonies_api.MODELS,
        *apiaries_api.MODELS,
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
            **treatments_api.paths(),
            **colonies_api.paths(),
            **apiaries_api.paths(),
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
    """The API explained for people: keys, the header, and every operation of the document
    (read from it, so the page cannot leave one out) with a curl line."""
    base_url = public_origin(request)
    document = openapi_document()
    return render(
        request,
        "api/docs.html",
        {
            "base_url": base_url,
            "operations": documented_operations(document["paths"], base_url),
            "webhooks": documented_operations(document["webhooks"], ""),
            "problem_types": PROBLEM_TYPES,
        },
    )


METHODS = ("get", "post", "put", "patch", "delete")
KEY_HEADER = '-H "Authorization: Bearer $CITYHIVE_KEY"'
EXAMPLE_ID = "42"


@dataclass(frozen=True, slots=True)
class DocumentedOperation:
    """One operation of the document as the /api page shows it."""

    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    parameters: list[dict[str, Any]]
    media_types: list[str]
    body_schema: str
    responses: list[tuple[str, str]]
    signed: bool
    curl: Markup  # quotes kept as they are typed; <, > and & escaped


def documented_operations(paths: dict[str, Any], base_url: str) -> list[DocumentedOperation]:
    """Every operation under `paths`, in the document's order; a curl line for each when a
    `base_url` is given (webhooks are sent by CityHive, not to it)."""
    found = []
    for path, item in paths.items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                found.append(_documented(path, method, item[method], shared, base_url))
    return found


def _documented(
    path: str, method: str, operation: dict[str, Any], shared: list[Any], base_url: str
) -> DocumentedOperation:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    first: dict[str, Any] = next(iter(content.values()), {})
    schema = first.get("schema", {})
    signed = operation.get("security") != []
    parameters = [*shared, *operation.get("parameters", [])]
    return DocumentedOperation(
        method=method.upper(),
        path=path,
        operation_id=operation["operationId"],
        summary=operation.get("summary", ""),
        description=operation.get("description", ""),
        parameters=parameters,
        media_types=list(content),
        body_schema=schema.get("$ref", "").removeprefix(REF.format(model="")),
        responses=[
            (code, answer["description"]) for code, answer in operation["responses"].items()
        ],
        signed=signed,
        curl=_curl(path, method, operation, parameters, signed, base_url) if base_url else Markup(),
    )


def _curl(
    path: str,
    method: str,
    operation: dict[str, Any],
    parameters: list[dict[str, Any]],
    signed: bool,
    base_url: str,
) -> Markup:
    """A curl line that sends the operation's example: ids as 42, the query parameters that
    have an example, the body's example as JSON (or as a form, where only a form is shown)."""
    for parameter in parameters:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", EXAMPLE_ID)
    query = [
        f"{parameter['name']}={parameter['example']}"
        for parameter in parameters
        if parameter["in"] == "query" and "example" in parameter
    ]
    url = base_url + path + ("?" + "&".join(query) if query else "")
    words = ["curl"] + ([f"-X {method.upper()}"] if method != "get" else [])
    words += [KEY_HEADER] if signed else []
    content = operation.get("requestBody", {}).get("content", {})
    if JSON_TYPE in content:
        example = _example(content[JSON_TYPE])
        words += ['-H "Content-Type: application/json"', f"-d '{json.dumps(example)}'"]
    elif content:
        example = _example(next(iter(content.values())))
        words += [f"-d '{urlencode(example)}'"]
    head = 1 + (method != "get") + signed  # curl, its method and its key on the first line
    lines = [" ".join(words[:head]), *words[head:], f'"{url}"']
    text = " ".join(lines) if len(lines) == 2 else " \\\n  ".join(lines)
    return Markup(html.escape(text, quote=False))  # noqa: S704 (escaped here; quotes kept)


def _example(media: dict[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    examples: dict[str, Any] = media.get("examples", {})
    first: dict[str, Any] = next(iter(examples.values()), {})
    return first.get("value", {})

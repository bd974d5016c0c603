"""The JSON API: a key's owner lists, adds, reads, changes and deletes their hives.

Another user's hive does not exist here either (404). Errors are problem documents.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from app.api.auth import api_owner
from app.api.openapi import openapi_document
from app.api.problems import Problem, api_view, read_json
from app.api.schemas import HiveIn, HiveList, HiveOut
from app.hives import queries
from app.hives.schemas import HiveListQuery
from app.keys import db_key
from app.web.htmx import render
from app.web.paths import path_id
from app.web.urls import public_origin


def answer(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


def hive_id(request: web.Request) -> int:
    return path_id(request)


def hive_input(data: Any) -> HiveIn:
    """The body as a hive, read as JSON and strictly: 0 is not a date, "52.5" not a number."""
    try:
        return HiveIn.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as error:
        raise Problem.invalid(error, "body") from error


async def found(request: web.Request, owner_id: int, hive: int) -> HiveOut:
    async with request.app[db_key]() as db:
        view = await queries.hive_of(db, owner_id, hive)
    if view is None:
        raise Problem(404, f"You have no hive {hive}.")
    return HiveOut.of(view)


@api_view
async def hive_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    try:
        query = HiveListQuery.model_validate(dict(request.query))
    except ValidationError as error:
        raise Problem.invalid(error, "query") from error
    async with request.app[db_key]() as db:
        page = await queries.list_hives(db, owner_id, query)
    return answer(HiveList.of(page))


@api_view
async def hive_create(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    data = hive_input(await read_json(request))
    async with request.app[db_key]() as db:
        new_id = await queries.create_hive(db, owner_id, data)
    response = answer(await found(request, owner_id, new_id), status=201)
    response.headers["Location"] = str(request.app.router["api_hive"].url_for(id=str(new_id)))
    return response


@api_view
async def hive_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    return answer(await found(request, owner_id, hive_id(request)))


@api_view
async def hive_replace(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    data = hive_input(await read_json(request))
    async with request.app[db_key]() as db:
        if not await queries.update_hive(db, owner_id, hive_id(request), data):
            raise Problem(404, f"You have no hive {hive_id(request)}.")
    return answer(await found(request, owner_id, hive_id(request)))


@api_view
async def hive_patch(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    current = await found(request, owner_id, hive_id(request))
    changes = await read_json(request)
    if not isinstance(changes, dict):
        raise Problem(
            422,
            "A PATCH body is a JSON object of the fields to change.",
            errors=[{"location": ["body"], "message": "Expected an object.", "type": "dict_type"}],
        )
    data = hive_input(current.as_input() | changes)
    async with request.app[db_key]() as db:
        await queries.update_hive(db, owner_id, current.id, data)
    return answer(await found(request, owner_id, current.id))


@api_view
async def hive_delete(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with request.app[db_key]() as db:
        if not await queries.delete_hive(db, owner_id, hive_id(request)):
            raise Problem(404, f"You have no hive {hive_id(request)}.")
    return web.Response(status=204)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def api_docs(request: web.Request) -> web.Response:
    """The API explained for people: keys, the header, each endpoint with a curl line."""
    return render(request, "api/docs.html", {"base_url": public_origin(request)})

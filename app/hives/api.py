"""The hives' JSON API: a key's owner lists, adds, reads, changes and deletes their hives, and
what it accepts and answers (app/hives/openapi.py documents it from these models).

Who may see which hive is app/web/auth.py's `hive_for`, as on the pages: another user's hive
does not exist here either (404). Errors are problem documents.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.hives import queries
from app.hives.queries import HivePage
from app.hives.schemas import HiveForm, HiveListQuery
from app.models import ColonyOrigin, FrameType, Hive, HiveStatus
from app.web import idempotency
from app.web.api import (
    Problem,
    answer_of,
    api_owner,
    api_view,
    create_once,
    created,
    idempotency_key,
    parse_body,
    read_json,
)
from app.web.auth import HiveView, hive_for
from app.web.database import db_session
from app.web.i18n import translate


def _hive_rules(schema: dict[str, Any]) -> None:
    """The form's rules that are not one field's, stated in the document: not at 0,0 (an unset
    GPS), and (in words and examples, which JSON Schema cannot compare with today) no
    installation date in the future."""
    schema["not"] = {
        "description": "Latitude and longitude both 0 is an unset GPS, not a hive.",
        "required": ["latitude", "longitude"],
        "properties": {"latitude": {"const": 0}, "longitude": {"const": 0}},
    }
    schema["properties"]["installed_on"] |= {
        "description": "When the colony moved in: today or before, never in the future.",
        "examples": ["2024-04-20"],
    }


class HiveIn(HiveForm):
    """A hive as a client sends it (POST, PUT): the same rules as the hive form."""

    model_config = ConfigDict(extra="forbid", title="HiveIn", json_schema_extra=_hive_rules)

    # JSON has null for "no date", so the form's blank-to-None step is not needed, and without
    # it strict JSON validation reads the ISO date (and refuses a number such as 0).
    installed_on: date | None = Field(default=None, title="Installed on")


class HiveOut(BaseModel):
    """A hive as the API answers it. Coordinates are WGS 84 degrees."""

    id: int
    name: str
    latitude: float
    longitude: float
    site: str | None = Field(description="The name of the hive's apiary.")
    apiary_id: int
    frame_type: FrameType
    origin: ColonyOrigin | None
    status: HiveStatus
    installed_on: date | None
    notes: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: HiveView) -> HiveOut:
        return answer_of(cls, view.hive, latitude=view.latitude, longitude=view.longitude)

    def as_input(self) -> dict[str, Any]:
        """The fields a client may send, with their current values (the base of a PATCH)."""
        return self.model_dump(mode="json", include=set(HiveIn.model_fields))


class HiveList(BaseModel):
    """One page of hives (20 per page) and where it stands in the whole list."""

    items: list[HiveOut]
    total: int = Field(description="Hives matching the filters, on all pages.")
    page: int
    pages: int

    @classmethod
    def of(cls, page: HivePage) -> HiveList:
        return cls(
            items=[HiveOut.of(view) for view in page.hives],
            total=page.total,
            page=page.page,
            pages=page.pages,
        )


def answer(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


@api_view
async def hive_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    try:
        query = HiveListQuery.model_validate(dict(request.query))
    except ValidationError as error:
        raise Problem.invalid(error, "query") from error
    async with db_session(request) as db:
        page = await queries.list_hives(db, owner_id, query)
    return answer(HiveList.of(page))


@api_view
async def hive_create(request: web.Request) -> web.Response:
    """A new hive, made once per Idempotency-Key (app/web/idempotency.py)."""
    owner_id = await api_owner(request)
    key = idempotency_key(request)
    body = await read_json(request)
    data = parse_body(HiveIn, body)
    guard = idempotency.for_json(request, owner_id, key, body)
    async with db_session(request) as db, db.begin():
        return await create_once(
            db, guard, lambda: added_hive(request, db, owner_id, data), kept_as=Hive
        )


async def added_hive(
    request: web.Request, db: AsyncSession, owner_id: int, data: HiveIn
) -> idempotency.Answer:
    new_id = await queries.add_hive(db, owner_id, data)
    view = await hive_for(request, new_id, db=db)
    return created(HiveOut.of(view), str(request.app.router["api_hive"].url_for(id=str(new_id))))


@api_view
async def hive_detail(request: web.Request) -> web.Response:
    return answer(HiveOut.of(await hive_for(request)))


@api_view
async def hive_replace(request: web.Request) -> web.Response:
    await api_owner(request)  # a request without a live key hears so before its body is read
    data = parse_body(HiveIn, await read_json(request))
    return await changed(request, data)


@api_view
async def hive_patch(request: web.Request) -> web.Response:
    current = HiveOut.of(await hive_for(request, change=True))
    changes = await read_json(request)
    if not isinstance(changes, dict):
        raise Problem(
            422,
            "A PATCH body is a JSON object of the fields to change.",
            errors=[{"location": ["body"], "message": "Expected an object.", "type": "dict_type"}],
        )
    return await changed(request, parse_body(HiveIn, current.as_input() | changes))


async def changed(request: web.Request, data: HiveIn) -> web.Response:
    """Store `data` as the URL's hive, if the key's holder may change it; the hive as it is now."""
    async with db_session(request) as db:
        found = await hive_for(request, change=True, db=db)
        try:
            await queries.update_hive(db, await api_owner(request), found, data)
        except queries.MoveRefused:
            message = translate(queries.MOVE_REFUSED)
            site = {"location": ["body", "site"], "message": message, "type": "refused"}
            raise Problem(422, message, errors=[site]) from None
        return answer(HiveOut.of(await hive_for(request, db=db)))


@api_view
async def hive_delete(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        found = await hive_for(request, own=True, db=db)
        await queries.delete_hive(db, found.hive.id)
    return web.Response(status=204)

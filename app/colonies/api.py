"""Colonies in the JSON API: a key's owner lists their colonies, queens and colony events, and
records an event of a colony (split, union, requeen, swarm lost, died, sold). A requeen is how
a queen is recorded: the event answers with her id.

The bodies are the forms' schemas, each with its `kind` and `colony_id`. An event that cannot be
(see app/colonies/queries.py) is a 422 problem naming the field; a repeat with the same
`Idempotency-Key` answers the first response again and records nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.colonies import queries
from app.colonies.queries import Refused
from app.colonies.schemas import (
    BoxesForm,
    DiedForm,
    RecordId,
    RequeenForm,
    SoldForm,
    SplitForm,
    SwarmLostForm,
    UnionForm,
)
from app.models import (
    Colony,
    ColonyEvent,
    ColonyEventKind,
    ColonyStatus,
    QueenOrigin,
    QueenStatus,
)
from app.web import idempotency
from app.web.api import (
    Problem,
    answer_of,
    api_owner,
    api_view,
    create_once,
    created,
    idempotency_key,
    json_answer,
    parse_body,
    read_json,
)
from app.web.auth import hive_for
from app.web.context import local_today
from app.web.database import db_session
from app.web.paths import path_id

MAX_LISTED = 500


class OfColony(BaseModel):
    """What every event's body names: the colony it happens to."""

    colony_id: RecordId


class SplitIn(SplitForm, OfColony):
    model_config = ConfigDict(extra="forbid", title="SplitIn")
    kind: Literal["split"]


class UnionIn(UnionForm, OfColony):
    model_config = ConfigDict(extra="forbid", title="UnionIn")
    kind: Literal["union"]


class RequeenIn(RequeenForm, OfColony):
    model_config = ConfigDict(extra="forbid", title="RequeenIn")
    kind: Literal["requeen"]


class SwarmLostIn(SwarmLostForm, OfColony):
    model_config = ConfigDict(extra="forbid", title="SwarmLostIn")
    kind: Literal["swarm_lost"]


class DiedIn(DiedForm, OfColony):
    model_config = ConfigDict(extra="forbid", title="DiedIn")
    kind: Literal["died"]


class SoldIn(SoldForm, OfColony):
    model_config = ConfigDict(extra="forbid", title="SoldIn")
    kind: Literal["sold"]


EventIn = SplitIn | UnionIn | RequeenIn | SwarmLostIn | DiedIn | SoldIn
RECORD: dict[str, Callable[..., Awaitable[Any]]] = {
    "split": queries.split,
    "union": queries.union,
    "requeen": queries.requeen,
    "swarm_lost": queries.swarm_lost,
    "died": queries.died,
    "sold": queries.sold,
}


class ColonyEventIn(
    RootModel[
        Annotated[
            EventIn,
            Field(discriminator="kind"),
        ]
    ]
):
    """An event of one of your colonies, by its `kind`."""

    model_config = ConfigDict(title="ColonyEventIn")


class ColonyOut(BaseModel):
    id: int
    hive_id: int | None
    name: str
    status: ColonyStatus
    started_on: date
    ended_on: date | None


class QueenOut(BaseModel):
    id: int
    colony_id: int | None
    year: int
    colour: str
    marked: bool
    clipped: bool
    race: str
    origin: QueenOrigin | None
    breeder: str
    mother_id: int | None
    introduced_on: date | None
    status: QueenStatus


class ColonyEventOut(BaseModel):
    id: int
    colony_id: int
    kind: ColonyEventKind
    happened_on: date
    note: str
    hive_id: int | None
    other_colony_id: int | None
    other_hive_id: int | None
    frames_of_brood: int | None
    frames_of_bees: int | None
    queen_id: int | None
    old_queen_fate: QueenStatus | None
    detail: str
    swarm_report_id: int | None
    alert_id: int | None
    recorded_by: int | None = Field(description="The user who recorded it, where known.")
    created_at: datetime


class BoxesIn(BoxesForm):
    """What a hive is built of."""

    model_config = ConfigDict(extra="forbid", title="BoxesIn")


class BoxesOut(BaseModel):
    hive_id: int
    described: bool  # false: never described, these are the defaults
    brood_boxes: int
    supers: int
    queen_excluder: bool
    feeder: bool
    frames_per_box: int | None


class ColonyList(BaseModel):
    items: list[ColonyOut]


class QueenList(BaseModel):
    items: list[QueenOut]


class ColonyEventList(BaseModel):
    items: list[ColonyEventOut]


def listed(model: type[BaseModel], items: Sequence[BaseModel]) -> web.Response:
    return json_answer(model.model_validate({"items": items}).model_dump_json(), 200, "")


@api_view
async def colony_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with db_session(request) as db:
        colonies = await queries.colonies_of(db, owner_id)
    return listed(ColonyList, [answer_of(ColonyOut, colony) for colony in colonies[:MAX_LISTED]])


@api_view
async def queen_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with db_session(request) as db:
        queens = await queries.queens_of(db, owner_id)
    return listed(QueenList, [answer_of(QueenOut, queen) for queen in queens[:MAX_LISTED]])


@api_view
async def queen_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    queen_id = path_id(request)
    async with db_session(request) as db:
        queen = await queries.queen_of(db, owner_id, queen_id)
    if queen is None:
        raise Problem(404, f"You have no queen {queen_id}.")
    return json_answer(answer_of(QueenOut, queen).model_dump_json(), 200, "")


def owned_events() -> Any:
    return select(ColonyEvent).join(Colony, Colony.id == ColonyEvent.colony_id)


@api_view
async def event_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with db_session(request) as db:
        rows = await db.scalars(
            owned_events()
            .where(queries.colony_access(owner_id))
            .order_by(ColonyEvent.happened_on.desc(), ColonyEvent.id.desc())
            .limit(MAX_LISTED)
        )
        items = [answer_of(ColonyEventOut, event) for event in rows]
    return listed(ColonyEventList, items)


@api_view
async def event_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    event_id = path_id(request)
    async with db_session(request) as db:
        event = await db.scalar(
            owned_events().where(queries.colony_access(owner_id), ColonyEvent.id == event_id)
        )
    if event is None:
        raise Problem(404, f"You have no colony event {event_id}.")
    return json_answer(answer_of(ColonyEventOut, event).model_dump_json(), 200, "")


async def recorded_event(
    db: AsyncSession, colony: Colony, data: EventIn, today: date, by: int
) -> idempotency.Answer:
    result = await RECORD[data.kind](db, colony, data, today, by)
    event_id = result[1] if isinstance(result, tuple) else result
    event = await db.get_one(ColonyEvent, event_id)
    return created(answer_of(ColonyEventOut, event), f"/api/v1/colony-events/{event_id}")


def refused_problem(refusal: Refused) -> Problem:
    field = "colony_id" if refusal.field == "colony" else refusal.field
    message = str(refusal.message)
    return Problem(
        422,
        message,
        errors=[{"location": ["body", field], "message": message, "type": "value_error"}],
    )


@api_view
async def event_create(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    key = idempotency_key(request)
    body = await read_json(request)
    data = parse_body(ColonyEventIn, body).root
    guard = idempotency.for_json(request, owner_id, key, body)
    today = local_today(request)
    try:
        async with db_session(request) as db, db.begin():
            colony = await queries.colony_of(db, owner_id, data.colony_id, change=True)
            if colony is None:
                raise Problem(404, f"You have no colony {data.colony_id}.")
            return await create_once(
                db,
                guard,
                lambda: recorded_event(db, colony, data, today, owner_id),
                kept_as=ColonyEvent,
            )
    except Refused as refusal:
        raise refused_problem(refusal) from refusal


def boxes_answer(hive_id: int, boxes: Any) -> web.Response:
    if boxes is None:
        described = BoxesOut(hive_id=hive_id, described=False, **BoxesForm().model_dump())
    else:
        described = answer_of(BoxesOut, boxes, described=True)
    return json_answer(described.model_dump_json(), 200, "")


@api_view
async def boxes_detail(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        found = await hive_for(request, db=db)
        boxes = await queries.boxes_of(db, found.hive.id)
    return boxes_answer(found.hive.id, boxes)


@api_view
async def boxes_replace(request: web.Request) -> web.Response:
    data = parse_body(BoxesIn, await read_json(request))
    async with db_session(request) as db:
        found = await hive_for(request, change=True, db=db)
        await queries.save_boxes(db, found.hive.id, data)
        await db.commit()
        boxes = await queries.boxes_of(db, found.hive.id)
    return boxes_answer(found.hive.id, boxes)

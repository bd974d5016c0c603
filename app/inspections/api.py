"""The field log in the JSON API: a key's owner lists and creates inspections and harvests.

A key acts with its user's roles: it lists the records of every hive they may read, and
records (as its user) only on hives they may change.

The same schemas as the forms check the bodies. A create with an `Idempotency-Key` header that
was seen before answers the first response again (same status, same body) and creates nothing;
the same key with another body is a 422 problem document.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from app.inspections import queries
from app.inspections.schemas import (
    FUTURE_INSPECTION,
    HarvestDetails,
    HarvestForm,
    HiveId,
    HoneyKg,
    InspectionForm,
    in_the_future,
    mites_per_100,
)
from app.keys import settings_key
from app.models import Harvest, Inspection, QueenCells, Temperament, VarroaMethod
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
from app.web.auth import hive_for, queried_hive_id
from app.web.database import db_session
from app.web.paths import path_id

MAX_LISTED = 500
# A hive id as a JSON object's key: 1 to 2147483647 (PostgreSQL's integer), in decimal.
ID_TEXT = (
    "^([1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    "|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]"
    "|214748364[0-7])$"
)


def _inspection_rules(schema: dict[str, Any]) -> None:
    """The form's rules across fields, stated in the document: a varroa count says how it was
    counted, counted queen cells say their kind; and in words and examples what JSON Schema
    cannot compare (with today, or with another field)."""
    counted_cells = [cells.value for cells in QueenCells if cells is not QueenCells.none]
    schema["allOf"] = [
        {
            "description": "A varroa count names its varroa_method.",
            "if": {
                "required": ["varroa_count"],
                "properties": {"varroa_count": {"type": "integer"}},
            },
            "then": {
                "required": ["varroa_method"],
                "properties": {"varroa_method": {"type": "string"}},
            },
        },
        {
            "description": "Queen cells counted (queen_cell_count above 0) name their kind.",
            "if": {
                "required": ["queen_cell_count"],
                "properties": {"queen_cell_count": {"type": "integer", "minimum": 1}},
            },
            "then": {
                "required": ["queen_cells"],
                "properties": {"queen_cells": {"enum": counted_cells}},
            },
        },
    ]
    properties = schema["properties"]
    properties["done_at"] |= {
        "description": (
            "When the inspection was done: not in the future, not before 1900. Without a "
            "zone, the city's local time."
        ),
        "examples": ["2026-06-01T10:30:00+02:00"],
    }
    properties["next_inspection_on"] |= {
        "description": "The day of the next inspection: done_at's day or later.",
        "examples": ["2026-06-08"],
    }


class InspectionIn(InspectionForm):
    """A recorded inspection: the checklist, for the hive `hive_id`."""

    model_config = ConfigDict(
        extra="forbid", title="InspectionIn", json_schema_extra=_inspection_rules
    )
    hive_id: int = Field(gt=0, le=2**31 - 1)


class InspectionOut(BaseModel):
    id: int
    hive_id: int
    scheduled_for: date | None
    done_at: datetime | None
    frames_of_bees: int | None
    queen_seen: bool | None
    eggs_seen: bool | None
    larvae_seen: bool | None
    capped_brood_seen: bool | None
    queen_cells: QueenCells | None
    queen_cell_count: int | None
    brood_pattern: int | None
    temperament: Temperament | None
    honey_frames: Decimal | None
    pollen_frames: Decimal | None
    varroa_count: int | None
    varroa_method: VarroaMethod | None
    varroa_sample: int | None
    mites_per_100_bees: float | None
    treatment_product: str
    treatment_dose: str
    feeding_kind: str
    feeding_amount: str
    weight_kg: Decimal | None
    actions: list[str]
    weather_temp_c: Decimal | None
    weather_conditions: str
    notes: str
    recorded_by: int | None = Field(
        description="The user who scheduled or recorded it (null: an account deleted since)."
    )

    @classmethod
    def of(cls, inspection: Inspection) -> InspectionOut:
        mites = mites_per_100(
            inspection.varroa_count, inspection.varroa_method, inspection.varroa_sample
        )
        return answer_of(cls, inspection, mites_per_100_bees=mites)


HARVESTED_ON = {
    "description": "The day of the harvest: not in the future, not before 1900.",
    "examples": ["2026-07-01"],
}


def _harvest_rules(schema: dict[str, Any]) -> None:
    """The harvest's date in words, and its quality names' rule on every name: pydantic states
    a key pattern as patternProperties, which leaves a name outside it (one with a NUL) free."""
    schema["properties"]["harvested_on"] |= HARVESTED_ON
    quality = schema["properties"]["quality"]
    ((pattern, values),) = quality.pop("patternProperties").items()
    quality["propertyNames"]["pattern"] = pattern
    quality["additionalProperties"] = values


class EvenHarvestIn(HarvestDetails):
    """Honey from `hive_ids`, `total_kg` of it, shared equally between them."""

    model_config = ConfigDict(
        extra="forbid", title="EvenHarvestIn", json_schema_extra=_harvest_rules
    )
    split: Literal["even"]
    hive_ids: list[HiveId] = Field(
        min_length=1, max_length=500, json_schema_extra={"uniqueItems": True}
    )
    total_kg: HoneyKg

    @field_validator("hive_ids")
    @classmethod
    def _each_once(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("Name each hive once")
        return value

    def as_form(self) -> HarvestForm:
        details = self.model_dump(exclude={"split", "hive_ids", "total_kg"})
        return HarvestForm.model_construct(
            **details, split="even", hive_ids=sorted(self.hive_ids), total_kg=self.total_kg
        )


class WeightHarvestIn(HarvestDetails):
    """Honey by hive: `kg_by_hive` maps each hive's id to the kg it gave."""

    model_config = ConfigDict(
        extra="forbid", title="WeightHarvestIn", json_schema_extra=_harvest_rules
    )
    split: Literal["weight"]
    kg_by_hive: dict[HiveId, HoneyKg] = Field(
        min_length=1, max_length=500, json_schema_extra={"propertyNames": {"pattern": ID_TEXT}}
    )

    def as_form(self) -> HarvestForm:
        details = self.model_dump(exclude={"split", "kg_by_hive"})
        return HarvestForm.model_construct(
            **details, split="weight", hive_ids=sorted(self.kg_by_hive), kg_by_hive=self.kg_by_hive
        )


class HarvestIn(
    RootModel[Annotated[EvenHarvestIn | WeightHarvestIn, Field(discriminator="split")]]
):
    """A harvest from one or several hives, shared "even"ly or by "weight"."""

    model_config = ConfigDict(title="HarvestIn")


class HarvestOut(BaseModel):
    id: int
    harvested_on: date
    total_kg: Decimal
    frames: int | None
    moisture_pct: Decimal | None
    honey_kind: str
    quality: dict[str, Any]
    notes: str
    shares: dict[int, Decimal]
    recorded_by: int = Field(description="The user who recorded the harvest.")

    @classmethod
    def of(cls, harvest: Harvest, shares: dict[int, Decimal]) -> HarvestOut:
        return answer_of(cls, harvest, shares=shares, recorded_by=harvest.owner_id)


class InspectionList(BaseModel):
    items: list[InspectionOut]


class HarvestList(BaseModel):
    items: list[HarvestOut]


async def recorded_inspection(db: AsyncSession, data: InspectionIn, by: int) -> idempotency.Answer:
    new_id = await queries.record(db, data.hive_id, data, by=by)
    inspection = await db.get_one(Inspection, new_id)
    return created(InspectionOut.of(inspection), f"/api/v1/inspections/{new_id}")


async def created_harvest(db: AsyncSession, owner_id: int, data: HarvestForm) -> idempotency.Answer:
    new_id = await queries.create_harvest(db, owner_id, data)
    harvest = await db.get_one(Harvest, new_id)
    return created(HarvestOut.of(harvest, data.shares()), f"/api/v1/harvests/{new_id}")


@api_view
async def inspection_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with db_session(request) as db:
        hive_id = await queried_hive_id(request, db)
        rows = await queries.inspections_of(db, owner_id, hive_id, MAX_LISTED)
    return json_answer(
        InspectionList(items=[InspectionOut.of(row) for row in rows]).model_dump_json(), 200, ""
    )


@api_view
async def inspection_create(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    key = idempotency_key(request)
    body = await read_json(request)
    data = parse_body(InspectionIn, body)
    guard = idempotency.for_json(request, owner_id, key, body)
    if data.done_at.tzinfo is None:  # a time without a zone is the city's
        zone = request.app[settings_key].zone
        data = data.model_copy(update={"done_at": data.done_at.replace(tzinfo=zone)})
    if in_the_future(data.done_at):
        raise Problem(
            422,
            "1 field of the body did not validate.",
            errors=[
                {
                    "location": ["body", "done_at"],
                    "message": FUTURE_INSPECTION,
                    "type": "value_error",
                }
            ],
        )
    async with db_session(request) as db, db.begin():
        # The hive is checked inside the create: a repeat is answered by its key first (410
        # once the inspection went with its deleted hive), a new request by the hive's owner.
        async def create() -> idempotency.Answer:
            await hive_for(request, data.hive_id, change=True, db=db)
            return await recorded_inspection(db, data, owner_id)

        return await create_once(db, guard, create, kept_as=Inspection)


@api_view
async def inspection_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    inspection_id = path_id(request)
    async with db_session(request) as db:
        found = await queries.inspection_of(db, owner_id, inspection_id)
    if found is None:
        raise Problem(404, f"You have no inspection {inspection_id}.")
    return json_answer(InspectionOut.of(found[0]).model_dump_json(), 200, "")


@api_view
async def harvest_list(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    async with db_session(request) as db:
        rows = await queries.harvests_with_shares(db, owner_id, MAX_LISTED)
    items = [HarvestOut.of(harvest, shares) for harvest, shares in rows]
    return json_answer(HarvestList(items=items).model_dump_json(), 200, "")


@api_view
async def harvest_create(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    key = idempotency_key(request)
    body = await read_json(request)
    data = parse_body(HarvestIn, body).root.as_form()
    guard = idempotency.for_json(request, owner_id, key, body)
    async with db_session(request) as db, db.begin():

        async def create() -> idempotency.Answer:
            changeable = await queries.changeable_hive_ids(db, owner_id, data.hive_ids)
            missing = sorted(set(data.hive_ids) - changeable)
            if missing:
                raise Problem(404, f"You have no hive {missing[0]}.")
            return await created_harvest(db, owner_id, data)

        try:
            return await create_once(db, guard, create, kept_as=Harvest)
        except queries.HarvestWithheld as withheld:
            raise withheld_problem(withheld) from withheld


def withheld_problem(withheld: queries.HarvestWithheld) -> Problem:
    """The withdrawal guard's refusal: why, and from which day (ISO) the harvest is allowed."""
    message = withheld.message(withheld.allowed_on.isoformat())
    return Problem(
        422,
        message,
        errors=[
            {
                "location": ["body", "harvested_on"],
                "message": message,
                "type": "withdrawal_period",
                "allowed_on": withheld.allowed_on.isoformat(),
            }
        ],
    )


@api_view
async def harvest_detail(request: web.Request) -> web.Response:
    owner_id = await api_owner(request)
    harvest_id = path_id(request)
    async with db_session(request) as db:
        found = await queries.harvest_of(db, owner_id, harvest_id)
    if found is None:
        raise Problem(404, f"You have no harvest {harvest_id}.")
    shares = {hive_id: kg for hive_id, _, kg in found.shares}
    return json_answer(HarvestOut.of(found.harvest, shares).model_dump_json(), 200, "")

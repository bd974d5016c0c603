"""The one idempotency step: a key and its request's fingerprint, kept with the record they
guard; and the lenient reading of typed text that every form schema shares."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select, update

from app.models import Harvest, Hive, IdempotentRequest, Inspection
from app.web import idempotency
from app.web.forms import Blank, NoAnswer, Number, validate
from tests.unit.test_field_log_data import api_key
from tests.unit.test_harvests import log_harvest
from tests.unit.test_hives import add_hive, new_hive_id
from tests.unit.test_inspections import inspections, record

GUARD = idempotency.Guard(user_id=1, scope="POST /things", key="key-0001", fingerprint="f" * 64)


async def count(db, model) -> int:
    db.expire_all()
    return int(await db.scalar(select(func.count()).select_from(model)))


# --- the step refuses to be misused ---------------------------------------------------------


async def test_the_step_runs_only_inside_the_records_transaction(db, user):
    async def create() -> idempotency.Answer:
        raise AssertionError("not called")

    with pytest.raises(RuntimeError, match="inside the record's transaction"):
        await GUARD.run(db, create)


@pytest.mark.parametrize(
    "returned", [None, "done", idempotency.Answer(303, "/x", replayed=True)], ids=repr
)
async def test_a_create_that_returns_no_new_answer_fails_loudly_and_spends_no_key(
    db, user, returned
):
    guard = idempotency.Guard(user.id, "POST /things", "key-0002", "f" * 64)

    async def create():
        return returned

    with pytest.raises(TypeError, match="must return its new Answer"):
        async with db.begin():
            await guard.run(db, create)
    assert await count(db, IdempotentRequest) == 0


async def test_the_answer_a_create_returns_is_the_one_its_repeats_get(db, user):
    guard = idempotency.Guard(user.id, "POST /things", "key-0003", "f" * 64)
    calls = 0

    async def create() -> idempotency.Answer:
        nonlocal calls
        calls += 1
        return idempotency.Answer(201, "/things/1", '{"id": 1}')

    async with db.begin():
        first = await guard.run(db, create)
    async with db.begin():
        again = await guard.run(db, create)
    assert calls == 1
    assert not first.replayed
    assert again.replayed
    assert (again.status, again.location, again.body) == (201, "/things/1", '{"id": 1}')


async def test_without_a_key_every_request_creates(db, user):
    guard = idempotency.Guard(user.id, "POST /things", None, "f" * 64)
    made = []

    async def create() -> idempotency.Answer:
        made.append(1)
        return idempotency.Answer(303, "/things")

    for _ in range(2):
        async with db.begin():
            await guard.run(db, create)
    assert len(made) == 2
    assert await count(db, IdempotentRequest) == 0


async def test_the_same_key_with_another_fingerprint_is_refused(db, user):
    async def create() -> idempotency.Answer:
        return idempotency.Answer(303, "/things/1")

    async with db.begin():
        await idempotency.Guard(user.id, "POST /things", "key-0004", "a" * 64).run(db, create)
    with pytest.raises(idempotency.KeyReused):
        async with db.begin():
            await idempotency.Guard(user.id, "POST /things", "key-0004", "b" * 64).run(db, create)


# --- fingerprints --------------------------------------------------------------------------


def test_a_json_fingerprint_ignores_key_order_and_spacing():
    assert idempotency.json_body({"b": [1, 2], "a": "x"}) == idempotency.json_body(
        {"a": "x", "b": [1, 2]}
    )
    assert idempotency.json_body({"a": 1}) != idempotency.json_body({"a": 2})


def test_a_form_fingerprint_ignores_the_token_the_key_and_the_order():
    from multidict import MultiDict

    sent = MultiDict([("b", "2"), ("a", "1"), ("_csrf", "t1"), ("idempotency_key", "k1")])
    again = MultiDict([("a", "1"), ("_csrf", "t2"), ("b", "2")])
    assert idempotency.form_body(sent) == idempotency.form_body(again)
    assert idempotency.form_body(MultiDict([("a", "1"), ("a", "2")])) != idempotency.form_body(
        MultiDict([("a", "1")])
    )


async def test_a_key_kept_before_fingerprints_keeps_replaying(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    key = "before-fingerprints-0001"
    first = await record(logged_in, hive_id, key=key, next_inspection_on="")
    await db.execute(update(IdempotentRequest).values(fingerprint=None))
    await db.commit()
    again = await record(logged_in, hive_id, key=key, next_inspection_on="", notes="other")
    assert (first.status, again.status) == (303, 303)
    assert again.headers["Location"] == first.headers["Location"]
    assert len(await inspections(db, hive_id)) == 1


async def test_a_harvest_form_sent_again_with_other_values_is_refused(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    key = "harvest-form-key-0001"
    first = await log_harvest(logged_in, [hive_id], key=key, split="even", total_kg="4")
    same = await log_harvest(logged_in, [hive_id], key=key, split="even", total_kg="4")
    other = await log_harvest(logged_in, [hive_id], key=key, split="even", total_kg="5")
    assert (first.status, same.status, other.status) == (303, 303, 422)
    assert same.headers["Location"] == first.headers["Location"]
    assert "already sent with other values" in await other.text()
    assert await count(db, Harvest) == 1


async def test_the_hive_form_makes_one_hive_per_key(logged_in, db):
    page = await (await logged_in.get("/hives/new")).text()
    shown = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert shown
    key = shown.group(1)
    first = await add_hive(logged_in, idempotency_key=key)
    again = await add_hive(logged_in, idempotency_key=key)
    other = await add_hive(logged_in, idempotency_key=key, name="Titania")
    assert (first.status, again.status, other.status) == (303, 303, 422)
    assert again.headers["Location"] == first.headers["Location"]
    refused = await other.text()
    assert "already sent with other values" in refused
    assert key not in refused  # a fresh key, to send these values as a new hive
    assert await count(db, Hive) == 1


async def test_a_schedule_sent_again_with_other_values_is_refused(logged_in, db):
    from tests.unit.conftest import csrf_token

    hive_id = await new_hive_id(logged_in)
    token = await csrf_token(logged_in, f"/hives/{hive_id}/inspections/schedule")

    async def send(day: str):
        return await logged_in.post(
            f"/hives/{hive_id}/inspections/schedule",
            data={"scheduled_for": day, "_csrf": token, "idempotency_key": "schedule-key-01"},
            allow_redirects=False,
        )

    assert (await send("2027-05-01")).status == 303
    assert (await send("2027-05-01")).status == 303
    refused = await send("2027-05-02")
    assert refused.status == 422
    assert "already sent with other values" in await refused.text()
    assert await count(db, Inspection) == 1


async def test_the_api_answers_a_reused_key_with_a_problem_and_stores_nothing(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}", "Idempotency-Key": "k" * 20}
    body = {"hive_id": hive_id, "done_at": "2026-06-01T10:30:00Z", "notes": "first"}
    first = await logged_in.post("/api/v1/inspections", json=body, headers=headers)
    reordered = {"notes": "first", "done_at": "2026-06-01T10:30:00Z", "hive_id": hive_id}
    same = await logged_in.post("/api/v1/inspections", json=reordered, headers=headers)
    other = await logged_in.post(
        "/api/v1/inspections", json={**body, "notes": "second"}, headers=headers
    )
    assert (first.status, same.status, other.status) == (201, 201, 422)
    assert await same.json() == await first.json()
    assert other.content_type == "application/problem+json"
    problem = await other.json()
    assert problem["errors"][0]["location"] == ["header", "Idempotency-Key"]
    assert problem["errors"][0]["type"] == "idempotency_key_reused"
    assert await count(db, Inspection) == 1
    assert await count(db, IdempotentRequest) == 1


async def test_concurrent_api_repeats_make_one_harvest(logged_in, db):
    hive_id = await new_hive_id(logged_in)
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}", "Idempotency-Key": "h" * 20}
    body = {"harvested_on": "2026-07-01", "split": "even", "hive_ids": [hive_id], "total_kg": 2}
    answers = await asyncio.gather(
        *[logged_in.post("/api/v1/harvests", json=body, headers=headers) for _ in range(5)]
    )
    assert {answer.status for answer in answers} == {201}
    assert len({(await answer.json())["id"] for answer in answers}) == 1
    assert await count(db, Harvest) == 1


# --- lenient reading of typed text ------------------------------------------------------------


class Typed(BaseModel):
    when: date
    until: date | NoAnswer = None
    kind: Annotated[Literal["a", "b"] | None, Blank] = None
    kg: Annotated[Annotated[float, Field(ge=0)] | None, Number] = None
    frames: Annotated[int | None, Number] = None


def test_a_form_reads_blank_as_none_and_a_decimal_comma_as_a_point():
    given = {"when": "2026-06-01", "until": " ", "kind": "", "kg": " 2,5 ", "frames": ""}
    form = validate(given, Typed)
    assert form.data == Typed(when=date(2026, 6, 1), kg=2.5)


def test_a_blank_where_an_answer_is_needed_is_required():
    form = validate({"when": "  "}, Typed)
    assert form.errors == {"when": "This field is required."}


def test_json_is_read_strictly_by_the_same_schema():
    with pytest.raises(ValidationError):
        Typed.model_validate_json('{"when": "2026-06-01", "frames": ""}', strict=True)
    with pytest.raises(ValidationError):
        Typed.model_validate_json('{"when": "2026-06-01", "kg": "2,5"}')
    with pytest.raises(ValidationError):
        Typed.model_validate_json('{"when": "2026-06-01", "until": ""}', strict=True)
    read = Typed.model_validate_json(
        '{"when": "2026-06-01", "until": "2026-06-02", "kind": "a", "kg": 2.5}', strict=True
    )
    assert (read.until, read.kind, read.kg) == (date(2026, 6, 2), "a", 2.5)

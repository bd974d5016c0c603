"""The API keeps what its document promises (issue 22, items 5 and 6): a create is made once
per Idempotency-Key and bound to its body, hive creation included, and a replay after its
record was deleted is a 410 problem; bodies not declared JSON are 415; `about:blank` problems
are titled with the status phrase; every problem type resolves to its anchor on /api; the
document states the rules across fields that the server enforces; /api shows every operation
of the document; calendar event UIDs are the same under every host name."""

from __future__ import annotations

import re
from datetime import date, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import icalendar
import jsonschema
import pytest
from sqlalchemy import func, select

from app.models import Hive, Inspection
from app.pages.openapi import openapi_document
from app.web.api import PROBLEM_TYPES
from tests.unit.conftest import csrf_token
from tests.unit.test_accounts import speak
from tests.unit.test_field_log_data import api_key, calendar_url
from tests.unit.test_hives import new_hive_id

DOCUMENT = openapi_document()
# The device and readings posts are reshaped by the devices work (issue 22, items 1-4).
JSON = "application/json"
HIVE = {"name": "Queen Mab", "latitude": 51.52, "longitude": -0.09, "frame_type": "national"}


def operations(*, with_body: bool = False) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for each operation of the document (with a body: those that
    take JSON alone; the device posts take forms and CSV too, as their firmware sends)."""
    return [
        (method, path, operation)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
        if not with_body or list(operation.get("requestBody", {}).get("content", {})) == [JSON]
    ]


def creates() -> list[tuple[str, str]]:
    """The operations that make a record with a URL of its own (201 with a Location); readings
    posts add to a series, where a batch sent again stores nothing twice."""
    return [
        (method, path)
        for method, path, operation in operations()
        if "Location" in operation["responses"].get("201", {}).get("headers", {})
    ]


async def signed(client) -> dict[str, str]:
    return {"Authorization": f"Bearer {await api_key(client)}"}


async def count(db, model) -> int:
    db.expire_all()
    return int(await db.scalar(select(func.count()).select_from(model)))


# --- item 5: idempotency keys bound to their request -------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    creates(),
)
def test_every_create_takes_an_idempotency_key(method, path):
    operation = DOCUMENT["paths"][path][method]
    assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]]
    assert "410" in operation["responses"]


async def test_two_hive_posts_with_one_key_make_one_hive(logged_in, db):
    headers = {**await signed(logged_in), "Idempotency-Key": "hive-once-0001"}
    first = await logged_in.post("/api/v1/hives", json=HIVE, headers=headers)
    again = await logged_in.post("/api/v1/hives", json=HIVE, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert await again.json() == await first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert await count(db, Hive) == 1

    other = await logged_in.post("/api/v1/hives", json={**HIVE, "name": "Other"}, headers=headers)
    assert other.status == 422
    assert (await other.json())["errors"][0]["type"] == "idempotency_key_reused"
    assert await count(db, Hive) == 1


async def test_without_a_key_each_hive_post_makes_a_hive(logged_in, db):
    headers = await signed(logged_in)
    for _ in range(2):
        assert (await logged_in.post("/api/v1/hives", json=HIVE, headers=headers)).status == 201
    assert await count(db, Hive) == 2


async def test_a_replay_after_the_hive_was_deleted_is_gone_and_makes_nothing(logged_in, db):
    headers = {**await signed(logged_in), "Idempotency-Key": "hive-gone-0001"}
    first = await logged_in.post("/api/v1/hives", json=HIVE, headers=headers)
    location = first.headers["Location"]
    assert (await logged_in.delete(location, headers=headers)).status == 204

    replay = await logged_in.post("/api/v1/hives", json=HIVE, headers=headers)
    assert replay.status == 410
    assert "Location" not in replay.headers
    problem = await replay.json()
    assert problem["type"] == "/api#idempotency-record-gone"
    assert problem["title"] == "Gone"
    assert location in problem["detail"]
    assert await count(db, Hive) == 0


async def test_a_replay_after_the_inspections_hive_was_deleted_is_gone(logged_in, db):
    """The issue's case: the inspection went with its hive; its replay no longer answers 201
    with a Location that is 404."""
    hive_id = await new_hive_id(logged_in)
    headers = {**await signed(logged_in), "Idempotency-Key": "inspection-gone-1"}
    body = {"hive_id": hive_id, "done_at": "2026-06-01T10:30:00Z"}
    first = await logged_in.post("/api/v1/inspections", json=body, headers=headers)
    assert first.status == 201
    assert (await logged_in.get(first.headers["Location"], headers=headers)).status == 200
    assert (await logged_in.delete(f"/api/v1/hives/{hive_id}", headers=headers)).status == 204

    replay = await logged_in.post("/api/v1/inspections", json=body, headers=headers)
    assert replay.status == 410
    assert (await replay.json())["type"] == "/api#idempotency-record-gone"
    assert await count(db, Inspection) == 0


# --- item 6: media types and problem documents -----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [(method, path) for method, path, _ in operations(with_body=True)],
)
async def test_a_body_not_declared_json_is_415(logged_in, user, method, path):
    headers = await signed(logged_in)
    hive_id = await new_hive_id(logged_in)
    hive = await (await logged_in.get(f"/api/v1/hives/{hive_id}", headers=headers)).json()
    # a path's {id} is the hive's, or its apiary's; {user} the signed-in user, its owner
    record = hive["apiary_id"] if path.startswith("/api/v1/apiaries/") else hive_id
    url = path.replace("{id}", str(record)).replace("{user}", str(user.id))
    as_text = await logged_in.request(
        method, url, data='{"name": "x"}', headers={**headers, "Content-Type": "text/plain"}
    )
    as_form = await logged_in.request(method, url, data={"name": "x"}, headers=headers)
    for response in (as_text, as_form):
        assert response.status == 415
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem["type"] == "about:blank"
        assert problem["title"] == "Unsupported Media Type"
        assert "415" in DOCUMENT["paths"][path][method]["responses"]


async def test_about_blank_problems_are_titled_with_the_status_phrase(logged_in):
    headers = await signed(logged_in)
    answers = [
        await logged_in.get("/api/v1/no-such-thing", headers=headers),
        await logged_in.put("/api/v1/hives", headers=headers),
        await logged_in.get("/api/v1/hives/2147483647", headers=headers),
        await logged_in.get("/api/v1/inspections/2147483647", headers=headers),
    ]
    for response in answers:
        problem = await response.json()
        assert problem["type"] == "about:blank"
        assert problem["title"] == HTTPStatus(response.status).phrase
    assert [response.status for response in answers] == [404, 405, 404, 404]


async def test_every_problem_type_resolves_to_its_anchor_on_the_api_page(client):
    page = await (await client.get("/api")).text()
    for problem_type in PROBLEM_TYPES:
        path, _, anchor = problem_type.partition("#")
        assert path == "/api"
        assert f'id="{anchor}"' in page
        assert f"<code>{problem_type}</code>" in page


# --- item 6: the document states the server's rules -----------------------------------------


def component(name: str) -> dict[str, Any]:
    """A schema of the document with its references resolvable."""
    return {**DOCUMENT["components"]["schemas"][name], "components": DOCUMENT["components"]}


def refs_resolved(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize(
    ("schema", "path", "body", "field"),
    [
        ("HiveIn", "/api/v1/hives", {**HIVE, "latitude": 0, "longitude": 0}, "longitude"),
        (
            "InspectionIn",
            "/api/v1/inspections",
            {"done_at": "2026-06-01T10:30:00Z", "varroa_count": 12},
            "varroa_method",
        ),
        (
            "InspectionIn",
            "/api/v1/inspections",
            {"done_at": "2026-06-01T10:30:00Z", "queen_cell_count": 3, "queen_cells": "none"},
            "queen_cells",
        ),
    ],
)
async def test_a_rule_across_fields_is_in_the_schema_and_kept_by_the_server(
    logged_in, schema, path, body, field
):
    headers = await signed(logged_in)
    if schema == "InspectionIn":
        body = {**body, "hive_id": await new_hive_id(logged_in)}
    assert not refs_resolved(component(schema)).is_valid(body)
    refused = await logged_in.post(path, json=body, headers=headers)
    assert refused.status == 422
    assert field in str((await refused.json())["errors"])

    kept = {"longitude": {"longitude": 0.5}, "varroa_method": {"varroa_method": "alcohol_wash"}}
    fixed = {**body, **kept.get(field, {"queen_cells": "swarm"})}
    assert refs_resolved(component(schema)).is_valid(fixed)
    assert (await logged_in.post(path, json=fixed, headers=headers)).status == 201


def test_dates_that_json_schema_cannot_compare_with_today_say_so_with_examples():
    schemas = DOCUMENT["components"]["schemas"]
    for schema, field in [
        ("HiveIn", "installed_on"),
        ("InspectionIn", "done_at"),
        ("InspectionIn", "next_inspection_on"),
        ("EvenHarvestIn", "harvested_on"),
        ("WeightHarvestIn", "harvested_on"),
    ]:
        described = schemas[schema]["properties"][field]
        assert "future" in described["description"] or "or later" in described["description"]
        assert described["examples"][0] < date.today().isoformat()


def test_a_create_links_to_where_its_record_is_found():
    paths = DOCUMENT["paths"]
    for path, operation_id, found_by in [
        ("/api/v1/hives", "getHive", "id"),
        ("/api/v1/inspections", "getInspection", "id"),
        ("/api/v1/harvests", "getHarvest", "id"),
    ]:
        links = paths[path]["post"]["responses"]["201"]["links"].values()
        assert {"operationId": operation_id, "parameters": {found_by: "$response.body#/id"}} in (
            links
        )


# --- item 6: /api shows every operation; calendar UIDs ---------------------------------------


async def test_the_api_page_shows_every_operation_of_the_document(client):
    page = await (await client.get("/api")).text()
    for method, path, operation in operations():
        section = re.search(
            rf'<section class="api-operation" id="{operation["operationId"]}">(.*?)</section>',
            page,
            re.DOTALL,
        )
        assert section, operation["operationId"]
        assert f"<code>{method.upper()} {path}</code>" in section.group(1)
        for code in operation["responses"]:
            assert f"<code>{code}</code>" in section.group(1)
    assert 'curl -X POST -H "Authorization: Bearer $CITYHIVE_KEY"' in page
    assert "Idempotency-Key" in page


@pytest.mark.parametrize(
    ("language", "words"),
    [("de", ["Endpunkte", "Antworten:"]), ("fr", ["Paramètres :", "Réponses :"])],
)
async def test_the_api_pages_own_texts_are_translated(client, language, words):
    speak(client, language)
    page = await (await client.get("/api")).text()
    for word in words:
        assert word in page
    assert "Answers:" not in page


async def test_calendar_event_uids_are_the_same_under_every_host_name(logged_in):
    hive_id = await new_hive_id(logged_in)
    token_page = f"/hives/{hive_id}/inspections/schedule"
    await logged_in.post(
        token_page,
        data={
            "scheduled_for": (date.today() + timedelta(days=3)).isoformat(),
            "_csrf": await csrf_token(logged_in, token_page),
        },
    )
    feed_path = urlsplit(await calendar_url(logged_in)).path
    logged_in.session.cookie_jar.clear()
    uids = []
    for host in ("hives.example.org", "bees.example.net:8443"):
        feed = await (await logged_in.get(feed_path, headers={"Host": host})).text()
        uids.append(
            [str(event["UID"]) for event in icalendar.Calendar.from_ical(feed).walk("VEVENT")]
        )
    assert uids[0] == uids[1]
    assert len(uids[0]) == 1
    assert "example" not in uids[0][0]

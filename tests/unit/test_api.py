"""The JSON API: keys authenticate, a key's owner manages their hives, errors are problems."""

from __future__ import annotations

import io

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from app.accounts import queries
from app.hives.queries import PER_PAGE
from app.models import ApiKey, Hive, HiveStatus
from app.web.api import Problem, new_key, strict_json
from tests.unit.conftest import make_user

HIVE = {
    "name": "Queen Mab",
    "latitude": 51.5202,
    "longitude": -0.0937,
    "site": "Barbican roof",
    "frame_type": "national",
    "origin": "swarm",
    "status": "active",
    "installed_on": "2025-05-11",
    "notes": "Gentle colony.",
}
PROBLEM = "application/problem+json"


async def key_for(db, user_id: int, name: str = "script") -> tuple[str, int]:
    made = new_key()
    stored = await queries.create_key(
        db, user_id, name=name, prefix=made.prefix, key_hash=made.hash
    )
    return made.key, stored.id


@pytest.fixture
async def auth(db, user) -> dict[str, str]:
    key, _ = await key_for(db, user.id)
    return {"Authorization": f"Bearer {key}"}


async def stored(db, hive_id: int) -> tuple[Hive, str] | None:
    row = (
        await db.execute(
            select(Hive, func.ST_AsText(Hive.location))
            .where(Hive.id == hive_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def add(client, auth, **fields) -> dict:
    response = await client.post("/api/v1/hives", json={**HIVE, **fields}, headers=auth)
    assert response.status == 201, await response.text()
    return await response.json()


async def problem(response, status: int) -> dict:
    assert response.status == status
    assert response.content_type == PROBLEM
    body = await response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


# Authentication


async def test_a_key_authenticates_as_its_owner_and_its_use_is_noted(client, db, user):
    key, key_id = await key_for(db, user.id)
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        response = await client.get("/api/v1/hives", headers=headers)
        assert response.status == 200
        assert await response.json() == {"items": [], "total": 0, "page": 1, "pages": 1}
        assert "Set-Cookie" not in response.headers
    used = await db.scalar(
        select(ApiKey.last_used_at)
        .where(ApiKey.id == key_id)
        .execution_options(populate_existing=True)
    )
    assert used is not None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ch_not-a-key"},
        {"Authorization": "Basic YWRhOnNlY3JldA=="},
        {"X-API-Key": "ch_wrong"},
    ],
)
async def test_no_key_or_a_wrong_key_is_401(client, user, headers):
    response = await client.get("/api/v1/hives", headers=headers)
    body = await problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["title"] == "Unauthorized"


async def test_a_revoked_key_no_longer_works(client, db, user):
    key, key_id = await key_for(db, user.id)
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/v1/hives", headers=headers)).status == 200
    assert await queries.revoke_key(db, user.id, key_id)
    response = await client.post("/api/v1/hives", json=HIVE, headers=headers)
    body = await problem(response, 401)
    assert "revoked" in body["detail"]
    assert await db.scalar(select(func.count()).select_from(Hive)) == 0


async def test_a_session_cookie_is_not_a_key(logged_in):
    response = await logged_in.get("/api/v1/hives")
    await problem(response, 401)


# The hives, end to end


async def test_create_read_replace_patch_delete(client, db, user, auth):
    response = await client.post("/api/v1/hives", json=HIVE, headers=auth)
    assert response.status == 201
    created = await response.json()
    hive_id = created["id"]
    assert response.headers["Location"] == f"/api/v1/hives/{hive_id}"
    assert created == {
        **HIVE,
        "id": hive_id,
        "apiary_id": created["apiary_id"],
        "created_at": created["created_at"],
        "updated_at": created["updated_at"],
    }
    hive, point = await stored(db, hive_id)
    assert (hive.owner_id, hive.name, hive.apiary_id) == (
        user.id,
        "Queen Mab",
        created["apiary_id"],
    )
    assert point == "POINT(-0.0937 51.5202)"

    fetched = await client.get(response.headers["Location"], headers=auth)
    assert await fetched.json() == created

    replaced = await client.put(
        f"/api/v1/hives/{hive_id}",
        json={"name": "Titania", "latitude": 51.53, "longitude": -0.1, "frame_type": "dadant"},
        headers=auth,
    )
    assert replaced.status == 200
    body = await replaced.json()
    # A hive is always in an apiary: a replacement that names none leaves it where it stands.
    assert (body["name"], body["site"], body["origin"], body["notes"]) == (
        "Titania",
        HIVE["site"],
        None,
        "",
    )
    hive, point = await stored(db, hive_id)
    assert (hive.name, hive.site, hive.frame_type) == ("Titania", HIVE["site"], "dadant")
    assert point == "POINT(-0.1 51.53)"

    patched = await client.patch(
        f"/api/v1/hives/{hive_id}", json={"status": "dead_out", "notes": "Lost"}, headers=auth
    )
    assert patched.status == 200
    body = await patched.json()
    assert (body["name"], body["status"], body["notes"]) == ("Titania", "dead_out", "Lost")
    hive, point = await stored(db, hive_id)
    assert hive.status == HiveStatus.dead_out
    assert point == "POINT(-0.1 51.53)"

    deleted = await client.delete(f"/api/v1/hives/{hive_id}", headers=auth)
    assert deleted.status == 204
    assert await stored(db, hive_id) is None
    await problem(await client.get(f"/api/v1/hives/{hive_id}", headers=auth), 404)
    await problem(await client.delete(f"/api/v1/hives/{hive_id}", headers=auth), 404)


async def test_another_users_hive_is_not_found_and_stays_as_it_was(client, db, user, auth):
    bob = await make_user(db, name="Bob", email="bob@example.org")
    bob_key, _ = await key_for(db, bob.id)
    bobs = await add(client, {"Authorization": f"Bearer {bob_key}"}, name="Bob's hive")
    url = f"/api/v1/hives/{bobs['id']}"

    await problem(await client.get(url, headers=auth), 404)
    await problem(await client.put(url, json=HIVE, headers=auth), 404)
    await problem(await client.patch(url, json={"name": "Mine now"}, headers=auth), 404)
    await problem(await client.delete(url, headers=auth), 404)

    hive, point = await stored(db, bobs["id"])
    assert (hive.owner_id, hive.name) == (bob.id, "Bob's hive")
    assert point == "POINT(-0.0937 51.5202)"
    listed = await (await client.get("/api/v1/hives", headers=auth)).json()
    assert listed["total"] == 0


# Problems


async def test_invalid_fields_are_a_422_naming_each_field(client, db, auth):
    response = await client.post(
        "/api/v1/hives",
        json={"name": "", "latitude": 91, "longitude": -0.1, "colour": "gold"},
        headers=auth,
    )
    body = await problem(response, 422)
    assert body["type"] == "/api#validation"
    errors = {tuple(e["location"]): e for e in body["errors"]}
    assert set(errors) == {
        ("body", "name"),
        ("body", "latitude"),
        ("body", "frame_type"),
        ("body", "colour"),
    }
    assert errors[("body", "latitude")]["message"] == "Input should be less than or equal to 90"
    assert errors[("body", "frame_type")]["type"] == "missing"
    assert errors[("body", "colour")]["type"] == "extra_forbidden"
    assert await db.scalar(select(func.count()).select_from(Hive)) == 0


async def test_form_rules_hold_on_the_api_too(client, auth):
    body = await problem(
        await client.post(
            "/api/v1/hives", json={**HIVE, "latitude": 0, "longitude": 0}, headers=auth
        ),
        422,
    )
    assert "both 0" in body["errors"][0]["message"]


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe", b""])
async def test_a_body_that_is_not_json_is_a_422(client, auth, payload):
    response = await client.post(
        "/api/v1/hives",
        data=payload,
        headers={**auth, "Content-Type": "application/json"},
    )
    body = await problem(response, 422)
    assert body["errors"][0]["location"] == ["body"]
    assert body["errors"][0]["type"] == "json_invalid"


async def test_a_body_that_is_not_an_object_is_a_422(client, auth):
    created = await add(client, auth)
    for method in (client.post, client.patch):
        url = "/api/v1/hives" if method == client.post else f"/api/v1/hives/{created['id']}"
        body = await problem(await method(url, json=[1, 2], headers=auth), 422)
        assert body["errors"][0]["location"] == ["body"]


async def test_an_invalid_patch_changes_nothing(client, db, auth):
    created = await add(client, auth)
    response = await client.patch(
        f"/api/v1/hives/{created['id']}", json={"latitude": -100, "name": "Ok"}, headers=auth
    )
    body = await problem(response, 422)
    assert [e["location"] for e in body["errors"]] == [["body", "latitude"]]
    hive, point = await stored(db, created["id"])
    assert hive.name == "Queen Mab"
    assert point == "POINT(-0.0937 51.5202)"


async def test_a_body_too_large_is_a_413_problem(client, auth, settings):
    response = await client.post(
        "/api/v1/hives",
        data=io.BytesIO(b"{" + b" " * settings.max_body_bytes + b"}"),
        headers={**auth, "Content-Type": "application/json"},
    )
    await problem(response, 413)


async def test_a_bad_query_is_a_422_naming_the_parameter(client, auth):
    body = await problem(await client.get("/api/v1/hives?status=flying&page=0", headers=auth), 422)
    assert {tuple(e["location"]) for e in body["errors"]} == {
        ("query", "status"),
        ("query", "page"),
    }


# The list


async def test_the_list_filters_like_the_hive_list(client, auth):
    await add(client, auth, name="Queen Mab", site="Barbican roof", notes="calm")
    await add(client, auth, name="Titania", site="Allotment", status="dead_out", notes="")
    await add(client, auth, name="Oberon", site="Allotment", notes="swarmy")

    async def names(query: str) -> list[str]:
        response = await client.get(f"/api/v1/hives{query}", headers=auth)
        assert response.status == 200
        return [hive["name"] for hive in (await response.json())["items"]]

    assert await names("") == ["Oberon", "Queen Mab", "Titania"]
    assert await names("?site=Allotment") == ["Oberon", "Titania"]
    assert await names("?status=dead_out") == ["Titania"]
    assert await names("?q=swarm") == ["Oberon"]
    assert await names("?sort=-name") == ["Titania", "Queen Mab", "Oberon"]


async def test_the_list_comes_in_pages(client, auth):
    for n in range(PER_PAGE + 1):
        await add(client, auth, name=f"Hive {n:02}")
    first = await (await client.get("/api/v1/hives", headers=auth)).json()
    assert (len(first["items"]), first["total"], first["page"], first["pages"]) == (
        PER_PAGE,
        PER_PAGE + 1,
        1,
        2,
    )
    second = await (await client.get("/api/v1/hives?page=2", headers=auth)).json()
    assert [hive["name"] for hive in second["items"]] == [f"Hive {PER_PAGE:02}"]
    assert second["page"] == 2


# The description


async def test_the_openapi_document_is_valid_and_lists_every_route(client):
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    served = {
        (route.resource.canonical, route.method.lower())
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }
    described = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert served == described
    create = document["paths"]["/api/v1/hives"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HiveIn"
    }
    assert "422" in create["responses"]
    latitude = document["components"]["schemas"]["HiveIn"]["properties"]["latitude"]
    assert (latitude["minimum"], latitude["maximum"]) == (-90, 90)


async def test_the_api_page_explains_keys_and_each_endpoint(client):
    response = await client.get("/api")
    page = await response.text()
    assert response.status == 200
    assert "<html" in page
    assert 'href="/api/v1/openapi.json"' in page
    assert "Authorization: Bearer" in page
    for line in (
        "GET /api/v1/hives",
        "POST /api/v1/hives",
        "PUT /api/v1/hives/{id}",
        "PATCH /api/v1/hives/{id}",
        "DELETE /api/v1/hives/{id}",
        # The sensors page sends people here for readings: they are documented too.
        "POST /api/v1/readings",
        "POST /api/v1/devices/{hive_id}/readings",
        "GET /api/v1/sensors",
    ):
        assert line in page
    assert page.count("curl ") >= 6
    assert "cdn" not in page.lower()


async def test_an_unknown_api_path_is_a_problem(client):
    await problem(await client.get("/api/v1/bees"), 404)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"a": [1, {"b": "x\\u0000y"}]}', ["body", "a", 1, "b"]),
        (b'{"a": {"k\\u0000": 1}}', ["body", "a"]),
        (b'{"a": [1e999]}', ["body", "a", 0]),
        (b'{"a": NaN}', ["body", "a"]),
        (b"[" * 21 + b"]" * 21, ["body", *[0] * 20]),
    ],
)
def test_strict_json_names_where_a_document_breaks_a_rule(body, where):
    with pytest.raises(Problem) as refused:
        strict_json(body)
    assert refused.value.errors[0]["location"] == where


def test_strict_json_keeps_what_only_looks_like_a_nul():
    """An escaped backslash before `u0000` is text, not a NUL: the quick walk is unsure of it,
    the exact one lets it through."""
    assert strict_json(b'{"a": "\\\\u0000", "b": [1.5, 2]}') == {"a": "\\u0000", "b": [1.5, 2]}

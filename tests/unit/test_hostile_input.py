"""Hostile input at every route: never a server error, never a dropped connection.

The fuzz test below walks the app's router, not the OpenAPI document (test_api_fuzz.py does
that), so HTML pages, forms and query strings are covered as well as the JSON API. Each route
is sent, for each method it answers:

- its path parameters replaced by hostile values (ids beyond PostgreSQL's integer, NUL, ...);
- hostile values in the query string, for every name the app reads from a query string
  (found in the source: `request.query...`, and the fields of the query schemas) and a few
  common ones;
- for unsafe methods, hostile form bodies: each field of the forms that post to it (found on
  the pages the owner sees), one at a time and all at once, a body that is not UTF-8 at all,
  and one that declares an unknown charset; on the JSON API, hostile JSON documents built from
  the operation's request schema (NaN, Infinity, nesting a thousand deep, NUL, huge integers);

as the owner (signed in, with the session's CSRF token and an API key) and anonymously. Every
answer must be below 500 and the connection must stay up; a refusal on the API is a problem
document. The bounded run takes about a minute, in four shards of the routes that pytest-xdist
can run side by side; FUZZ=1 sends every value to every field.

The targeted tests after it show each class of value refused the way its route speaks: the
form again with a message beside the field, an error page, or a problem document.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel
from sqlalchemy import text
from yarl import URL

from app.colonies import queries as colony_queries
from app.colonies.schemas import RequeenForm, StartForm
from app.models import Hive
from app.pages.openapi import openapi_document
from app.settings import ROOT
from app.web.auth import MAX_NEXT_LENGTH
from tests.unit.conftest import csrf_token, log_in
from tests.unit.test_harvests import log_harvest
from tests.unit.test_inspections import record
from tests.unit.test_sensors import api_key, make_hive, make_sensor
from tests.unit.test_swarms import reported

WIDE = bool(os.environ.get("FUZZ"))
PROBLEM = "application/problem+json"

# Text values as a form or query string carries them (percent-encoded on the wire).
HOSTILE_TEXT = {
    "nul": "bee\x00hive",
    "only nul": "\x00",
    "int4 + 1": "2147483648",
    "huge integer": "9" * 30,
    "huge negative": "-" + "9" * 30,
    "nan": "NaN",
    "infinity": "Infinity",
    "minus infinity": "-Infinity",
    "overflowing float": "1e999",
    "replacement": "\ufffd",
    "json bomb": "[" * 200,
    "long": "x" * 5000,
}
# In a query string, "long" is just longer than any query value the app takes (`next`, the
# longest, stops at MAX_NEXT_LENGTH): two of them fit in a request line where one of 5,000 did.
LONG_QUERY_VALUE = "x" * (MAX_NEXT_LENGTH + 1)
# Already percent-encoded, sent as is: a percent-escape that is not UTF-8.
RAW_QUERY_VALUES = {"bad utf-8 escape": "%FF%FE", "escaped nul": "%00"}
HOSTILE_PATH_VALUES = ["2147483648", "99999999999999999999", "%00", "1%00", "%FF", "-1", "0"]
COMMON_QUERY_NAMES = ["id", "page", "q", "next", "hive", "hive_id", "range", "bbox", "v"]

# A value in a JSON document: each must be refused (or stored as what it is), never a 500.
NESTED = 1000


def hostile_json_values() -> dict[str, str]:
    """JSON text for each hostile value (NaN and Infinity are what Python's json writes)."""
    return {
        "nan": "NaN",
        "infinity": "Infinity",
        "minus infinity": "-Infinity",
        "nul": json.dumps("bee\x00hive"),
        "int4 + 1": str(2**31),
        "huge integer": "9" * 30,
        "more digits than python reads": "9" * 5000,
        "overflowing float": "1e999",
        "deep": "[" * NESTED + "]" * NESTED,
        "deep object": '{"a":' * NESTED + "1" + "}" * NESTED,
    }


# --- what the app has: routes, the names it reads, its forms ----------------------------------


@dataclass
class Route:
    method: str
    template: str  # "/hives/{id}/edit"
    names: list[str]  # its path parameters

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")

    @property
    def destroys(self) -> bool:
        """Taking away what later routes need (the owner's hive, key, session) goes last."""
        last = self.template.rsplit("/", 1)[-1]
        return self.method == "DELETE" or last in DESTRUCTIVE

    @property
    def ends_session(self) -> bool:
        """Logging in (again) or out, or a new password, starts another session: last."""
        return self.template in SESSION_ROUTES or "password" in self.template


DESTRUCTIVE = {"delete", "revoke", "stop", "release", "close", "logout", "password", "calendar"}
SESSION_ROUTES = {"/login", "/signup", "/logout", "/logout/everywhere"}
PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def routes_of(app: web.Application) -> list[Route]:
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path")
        if route.method == "HEAD" or template is None:
            continue  # HEAD is GET without a body; static files are fuzzed on their own
        found.append(Route(route.method, template, PARAMETER.findall(template)))
    return sorted(found, key=lambda r: (r.ends_session, r.destroys))


QUERY_READ = re.compile(r"""request\.query(?:\.get|\.getall|\.getone)?[(\[]\s*["'](\w+)["']""")


def query_names() -> list[str]:
    """Every name the app reads from a query string, from its source and its query schemas."""
    names = set(COMMON_QUERY_NAMES)
    for source in (ROOT / "app").rglob("*.py"):
        names |= set(QUERY_READ.findall(source.read_text()))
    document = openapi_document()
    for operations in document["paths"].values():
        for operation in operations.values():
            shared = operation if isinstance(operation, list) else operation.get("parameters", [])
            for parameter in shared:
                if parameter["in"] == "query":
                    names.add(parameter["name"])
    for module in list(sys.modules.values()):  # the app is imported: its query schemas too
        if getattr(module, "__name__", "").startswith("app."):
            for thing in vars(module).values():
                if (
                    isinstance(thing, type)
                    and issubclass(thing, BaseModel)
                    and thing.__name__.endswith("Query")
                ):
                    names |= set(thing.model_fields)
    return sorted(names)


class FormFinder(HTMLParser):
    """The forms on a page: where each posts, and its fields with the values they show."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._fields: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._fields = []
            self.forms.append((a.get("action", ""), self._fields))
        if self._fields is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in a:
                self._fields.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio") and not any(n == name for n, _ in self._fields):
                self._fields.append((name, a.get("value", "")))  # one choice, to know the name
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first_option is None or "selected" in a:
                self._first_option = value
        elif tag == "textarea" and name:
            self._textarea = name
            self._fields.append((name, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select" and self._select is not None and self._fields is not None:
            self._fields.append((self._select, self._first_option or ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@dataclass
class Fuzzer:
    client: TestClient
    token: str | None  # the session's CSRF token
    auth: dict[str, str]  # the API key header, if any
    owner: Things
    query_names: list[str]
    forms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    async def send(self, method: str, url: str | URL, label: str, **kwargs: Any) -> None:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        if self.token and method not in ("GET", "HEAD", "OPTIONS"):
            headers.setdefault("X-CSRF-Token", self.token)
        self.sent += 1
        try:
            response = await self.client.request(
                method, url, headers=headers, allow_redirects=False, **kwargs
            )
            await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            self.failures.append(f"{method} {url} [{label}]: connection dropped ({error!r})")
            return
        if response.status >= 500:
            self.failures.append(f"{method} {url} [{label}]: {response.status}")
        elif (
            str(url).startswith("/api/")
            and response.status >= 400
            and response.content_type != PROBLEM
        ):
            self.failures.append(f"{method} {url} [{label}]: {response.status} not a problem")

    def paths(self, route: Route) -> Iterator[tuple[str, str]]:
        """The route's path with real ids, then with each hostile value in each parameter."""
        real = self.owner.real(route)
        yield route.template.format(**real), "real ids"
        for name in route.names:
            for value in HOSTILE_PATH_VALUES:
                yield route.template.format(**{**real, name: value}), f"path {name}={value}"

    def queries(self) -> Iterator[tuple[str, str]]:
        """Query strings with hostile values: each name alone (FUZZ), or as many names at once
        as fit in a request line (8 kB; beyond it aiohttp answers 400 before any route)."""
        names = self.query_names
        for label, hostile in HOSTILE_TEXT.items():
            value = LONG_QUERY_VALUE if label == "long" else hostile
            if WIDE:
                for name in names:
                    yield urlencode({name: value}), f"query {name}: {label}"
                continue
            for group in groups_within(names, len(quote(value, safe="")), budget=6000):
                yield urlencode(dict.fromkeys(group, value)), f"query {group}: {label}"
        for label, raw in RAW_QUERY_VALUES.items():
            yield "&".join(f"{name}={raw}" for name in names), f"every query name: {label}"


def groups_within(names: list[str], value_length: int, budget: int) -> Iterator[list[str]]:
    group: list[str] = []
    used = 0
    for name in names:
        cost = len(name) + value_length + 2
        if group and used + cost > budget:
            yield group
            group, used = [], 0
        group.append(name)
        used += cost
    if group:
        yield group


async def fuzz_route(fuzzer: Fuzzer, route: Route) -> None:
    paths = list(fuzzer.paths(route))
    real_path = paths[0][0]
    for path, label in paths:
        await fuzzer.send(route.method, URL(path, encoded=True), label)
    for query, label in fuzzer.queries():
        await fuzzer.send(route.method, URL(f"{real_path}?{query}", encoded=True), label)
    if route.method in ("POST", "PUT", "PATCH", "DELETE"):
        if route.is_api:
            await fuzz_json(fuzzer, route, real_path)
        await fuzz_form(fuzzer, route, real_path)


async def fuzz_form(fuzzer: Fuzzer, route: Route, path: str) -> None:
    form = [(n, v) for n, v in fuzzer.forms.get(path, []) if n != "_csrf"]
    names = list(dict.fromkeys(n for n, _ in form)) or ["name", "id", "notes"]
    csrf = [("_csrf", fuzzer.token)] if fuzzer.token else []
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    for label, value in HOSTILE_TEXT.items():
        everything = [(n, value) for n in names] + csrf
        await fuzzer.send(route.method, path, f"every field: {label}", data=everything)
    labels = list(HOSTILE_TEXT)
    for index, name in enumerate(names):
        chosen = labels if WIDE else [labels[index % len(labels)]]
        for label in chosen:
            one = [(n, HOSTILE_TEXT[label] if n == name else v) for n, v in form] + csrf
            if not form:
                one = [(name, HOSTILE_TEXT[label]), *csrf]
            await fuzzer.send(route.method, path, f"field {name}: {label}", data=one)
    encoded = "&".join(f"{quote(n)}={quote(v)}" for n, v in form + csrf).encode()
    not_utf8 = encoded + b"&" + "&".join(names).encode() + b"=\xff\xfe\x00"
    await fuzzer.send(route.method, path, "body not utf-8", data=not_utf8, headers=form_type)
    unknown_charset = {"Content-Type": "application/x-www-form-urlencoded; charset=no-such"}
    await fuzzer.send(route.method, path, "unknown charset", data=encoded, headers=unknown_charset)
    await fuzzer.send(route.method, path, "multipart not utf-8", data=multipart(names, csrf))


def multipart(names: list[str], csrf: list[tuple[str, str | None]]) -> aiohttp.MultipartWriter:
    """A multipart form whose fields (not files) are bytes that are not UTF-8."""
    writer = aiohttp.MultipartWriter("form-data")
    for name, value in csrf:
        writer.append(value or "").set_content_disposition("form-data", name=name)
    for name in names:
        part = writer.append(b"\xff\xfe\x00", {"Content-Type": "text/plain; charset=utf-8"})
        part.set_content_disposition("form-data", name=name)
    return writer


def skeleton(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A document of the schema's shape with None at every leaf, to put hostile values in."""
    if "$ref" in schema:
        return skeleton(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    choices = schema.get("anyOf") or schema.get("oneOf")
    if choices:
        return skeleton(choices[0], components, depth)
    if depth > 4:
        return None
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: skeleton(part, components, depth + 1) for name, part in props.items()}
    if schema.get("type") == "array":
        return [skeleton(schema.get("items", {}), components, depth + 1)]
    return None


def filled(shape: Any, text: str) -> str:
    """The skeleton as JSON text, with `text` (raw JSON) at every leaf."""
    marker = "\x01LEAF\x01"

    def mark(part: Any) -> Any:
        if isinstance(part, dict):
            return {name: mark(item) for name, item in part.items()}
        if isinstance(part, list):
            return [mark(item) for item in part]
        return marker

    return json.dumps(mark(shape)).replace(json.dumps(marker), text)


def request_schemas() -> dict[tuple[str, str], Any]:
    document = openapi_document()
    components = document["components"]["schemas"]
    shapes = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue  # the parameters every operation of the path shares
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is not None:
                shapes[(method.upper(), path)] = skeleton(schema, components)
    return shapes


SHAPES = request_schemas()


async def fuzz_json(fuzzer: Fuzzer, route: Route, path: str) -> None:
    shape = SHAPES.get((route.method, route.template), {"id": None, "name": None})
    json_type = {"Content-Type": "application/json"}
    for label, value in hostile_json_values().items():
        await fuzzer.send(route.method, path, f"json {label}", data=value, headers=json_type)
        body = filled(shape, value)
        await fuzzer.send(route.method, path, f"json leaves {label}", data=body, headers=json_type)
    for label, raw in {
        "not utf-8": b'{"name": "\xff\xfe"}',
        "nul key": b'{"na\\u0000me": 1}',
        "raw nul": b'{"name": "a\x00b"}',
    }.items():
        await fuzzer.send(route.method, path, f"json {label}", data=raw, headers=json_type)


async def forms_of(client: TestClient, pages: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The fields of every form on these pages, by the path each posts to."""
    forms: dict[str, list[tuple[str, str]]] = {}
    for page in pages:
        response = await client.get(page)
        if response.status != 200 or response.content_type != "text/html":
            continue
        finder = FormFinder()
        finder.feed(await response.text())
        for action, fields in finder.forms:
            target = URL(action).path or page
            forms.setdefault(target, [])
            known = {n for n, _ in forms[target]}
            forms[target] += [(n, v) for n, v in fields if n not in known]
    return forms


@dataclass
class Things:
    """What the owner has, so that hostile values reach the code behind the ownership checks."""

    auth: dict[str, str]
    ids: dict[str, str]  # path parameter -> the owner's value
    ids_by_room: dict[str, str]  # first path segment -> the owner's id of that kind

    def real(self, route: Route) -> dict[str, str]:
        room = route.template.removeprefix("/api/v1").split("/")[1]
        ids = {name: self.ids.get(name, "1") for name in route.names}
        if "id" in ids and room in self.ids_by_room:
            ids["id"] = self.ids_by_room[room]
        return ids


async def owner_things(client: TestClient, db, user, *, signed_in: bool) -> Things:
    """Hives, a sensor and a key of the owner's; signed in, also an inspection, a harvest and a
    swarm report, made through the app's own forms."""
    hive = await make_hive(db, user.id)
    await make_hive(db, user.id, "Second")
    sensor = await make_sensor(db, hive)
    auth, key_id = await api_key(db, user.id)
    ids = {"id": str(hive), "hive_id": str(hive), "sensor_id": str(sensor), "alert_id": "1"}
    ids |= {"table": "inspections", "secret": "x" * 32, "token": "y" * 32}
    rooms = {"profile": str(key_id)}
    if signed_in:
        await log_in(client, user.email)
        assert (await record(client, hive)).status == 303
        assert (await log_harvest(client, [hive], split="even", total_kg="12")).status == 303
        status = await reported(client)
        ids["token"] = status.rsplit("/", 1)[-1]
        for room, table in (("inspections", "inspections"), ("harvests", "harvests")):
            found = await db.scalar(text(f"SELECT max(id) FROM {table}"))  # noqa: S608
            rooms[room] = str(found or 1)
        rooms["swarms"] = str(await db.scalar(text("SELECT max(id) FROM swarm_reports")) or 1)
        rooms |= await colony_with_queen(db, user.id, hive)
    return Things(auth, ids, rooms)


async def colony_with_queen(db, owner_id: int, hive_id: int) -> dict[str, str]:
    """A colony in the hive, with a queen and two events: the colonies' routes' real ids."""
    today = date.today()
    hive = await db.get(Hive, hive_id)
    colony = await colony_queries.start(db, owner_id, hive, StartForm(happened_on=today), today)
    event = await colony_queries.requeen(
        db, colony, RequeenForm(happened_on=today, year=today.year), today
    )
    await db.commit()
    queen = await db.scalar(text("SELECT max(id) FROM queens"))
    return {"colonies": str(colony.id), "queens": str(queen), "colony-events": str(event)}


async def run_fuzz(client: TestClient, db, user, *, signed_in: bool, shard: int) -> Fuzzer:
    """Every SHARDS-th route from `shard` on: the walk is long, so its shards run side by side."""
    owner = await owner_things(client, db, user, signed_in=signed_in)
    app_routes = routes_of(client.app)
    token = await csrf_token(client, "/login") if not signed_in else await csrf_token(client, "/")
    fuzzer = Fuzzer(client, token, owner.auth if signed_in else {}, owner, query_names())
    if signed_in:
        pages = [
            route.template.format(**owner.real(route))
            for route in app_routes
            if route.method == "GET"
        ]
        fuzzer.forms = await forms_of(client, pages)
    for route in app_routes[shard::SHARDS]:
        await fuzz_route(fuzzer, route)
    return fuzzer


def report(fuzzer: Fuzzer) -> str:
    shown = "\n".join(fuzzer.failures[:40])
    return f"{len(fuzzer.failures)} of {fuzzer.sent} hostile requests failed:\n{shown}"


SHARDS = 4


def shards(who: str) -> list[Any]:
    """One test per shard of the routes, each a pytest-xdist group of its own."""
    return [
        pytest.param(shard, marks=pytest.mark.xdist_group(f"hostile input {who} {shard}"))
        for shard in range(SHARDS)
    ]


@pytest.mark.parametrize("shard", shards("owner"))
async def test_item11_every_route_survives_hostile_input_as_the_owner(client, db, user, shard):
    fuzzer = await run_fuzz(client, db, user, signed_in=True, shard=shard)
    assert fuzzer.sent > 250
    assert not fuzzer.failures, report(fuzzer)


@pytest.mark.parametrize("shard", shards("anonymous"))
async def test_item11_every_route_survives_hostile_input_anonymously(client, db, user, shard):
    fuzzer = await run_fuzz(client, db, user, signed_in=False, shard=shard)
    assert not fuzzer.failures, report(fuzzer)


def static_names() -> list[str]:
    root = ROOT / "static"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


async def test_item11_static_paths_with_nul_are_404(client):
    name = static_names()[0]
    paths = (f"/static/{name}%00", f"/static/%00{name}", "/static/%00", f"/static/{name}%00.css")
    for path in paths:
        response = await client.get(URL(path, encoded=True))
        assert response.status == 404, path
        assert "Page not found" in await response.text()


# --- each class of value, refused in the route's own way --------------------------------------


async def test_item11_form_body_that_is_not_utf8_is_a_400_page(client):
    token = await csrf_token(client, "/login")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    bodies = {
        "raw bytes": (b"email=\xff\xfe@example.org&password=x&_csrf=" + token.encode(), form),
        "unknown charset": (
            f"email=a%40example.org&_csrf={token}".encode(),
            {"Content-Type": "application/x-www-form-urlencoded; charset=no-such"},
        ),
    }
    for label, (body, headers) in bodies.items():
        page = await client.post("/login", data=body, headers=headers)
        text_ = await page.text()
        assert page.status == 400, label
        assert text_.startswith("<!doctype html>"), label
        assert "could not be read" in text_, label
    parts = multipart(["email", "password"], [("_csrf", token)])
    page = await client.post("/login", data=parts)
    assert page.status == 400
    assert "could not be read" in await page.text()


async def test_item11_api_form_body_that_is_not_utf8_is_a_400_problem(client, db, user):
    auth, _ = await api_key(db, user.id)
    hive = await make_hive(db, user.id)
    response = await client.post(
        f"/api/v1/devices/{hive}/readings",
        data=b"t=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded", **auth},
    )
    assert response.status == 400
    assert response.content_type == PROBLEM
    assert "could not be read" in (await response.json())["detail"]


async def test_item11_nul_in_a_form_field_is_refused_beside_the_field(logged_in, db, user):
    token = await csrf_token(logged_in, "/profile")
    page = await logged_in.post(
        "/profile", data={"name": "Ada\x00Lovelace", "email": user.email, "_csrf": token}
    )
    body = await page.text()
    assert page.status == 422
    assert "NUL character" in body
    assert 'value="AdaLovelace"' in body  # shown again, without the character
    await db.refresh(user)
    assert user.name == "Ada Beekeeper"


async def test_item11_percent_escape_that_is_not_utf8_is_refused_beside_the_field(logged_in, user):
    token = await csrf_token(logged_in, "/profile/api-keys")
    page = await logged_in.post(
        "/profile/api-keys",
        data=f"key_name=scale%FF&_csrf={token}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status == 422
    assert "could not be read" in await page.text()


async def test_item11_api_json_nan_infinity_deep_nesting_and_nul_are_422_problems(client, db, user):
    auth, _ = await api_key(db, user.id)
    hive = {"name": "Roof", "latitude": 52.5, "longitude": 13.4, "frame_type": "langstroth"}
    cases = {
        "NaN": (json.dumps(hive).replace("52.5", "NaN"), ["body", "latitude"], "value_not_finite"),
        "Infinity": (
            json.dumps(hive).replace("13.4", "-Infinity"),
            ["body", "longitude"],
            "value_not_finite",
        ),
        "1e999": (json.dumps(hive).replace("13.4", "1e999"), ["body", "longitude"], None),
        "deep": ("[" * 100_000 + "]" * 100_000, ["body"], "json_too_deep"),
        "deep object": ('{"a":' * 50 + "1" + "}" * 50, None, "json_too_deep"),
        "nul": (json.dumps({**hive, "name": "Ro\x00of"}), ["body", "name"], "json_nul"),
        "nul name": ('{"na\\u0000me": "Roof"}', ["body"], "json_nul"),
    }
    for label, (body, location, kind) in cases.items():
        response = await client.post(
            "/api/v1/hives", data=body, headers={**auth, "Content-Type": "application/json"}
        )
        problem = await response.json()
        assert response.status == 422, label
        assert response.content_type == PROBLEM, label
        if location is not None:
            assert problem["errors"][0]["location"] == location, label
        if kind is not None:
            assert problem["errors"][0]["type"] == kind, label
    assert await db.scalar(text("SELECT count(*) FROM hives")) == 0


async def test_item11_integers_beyond_int4_are_404_in_paths_and_refused_in_forms(
    logged_in, db, user
):
    auth, _ = await api_key(db, user.id)
    for path in ("/hives/2147483648", "/inspections/99999999999999999999/edit"):
        page = await logged_in.get(path)
        assert page.status == 404, path
        assert "Page not found" in await page.text()
    api = await logged_in.get("/api/v1/hives/2147483648", headers=auth)
    assert api.status == 404
    assert api.content_type == PROBLEM
    listed = await logged_in.get("/api/v1/hives?page=2147483648", headers=auth)
    assert listed.status == 422
    assert listed.content_type == PROBLEM
    hive = await make_hive(db, user.id)
    token = await csrf_token(logged_in, f"/hives/{hive}/inspections/new")
    page = await logged_in.post(
        f"/hives/{hive}/inspections", data={"frames_of_bees": "2147483648", "_csrf": token}
    )
    assert page.status == 422
    assert "Enter 100 or less." in await page.text()


async def test_item11_query_strings_with_hostile_values_are_answered(logged_in, db, user):
    await make_hive(db, user.id)
    for query in ("page=2147483648", "page=%00", "page=NaN", "bbox=NaN,NaN,Infinity,1e999"):
        response = await logged_in.get(URL(f"/hives?{query}", encoded=True))
        assert response.status in (200, 400, 422), query
        assert (await response.text()).startswith("<!doctype html>"), query
    geojson = await logged_in.get(URL("/hives.geojson?bbox=%00,1,2,3", encoded=True))
    assert geojson.status in (400, 422)
    assert geojson.content_type == PROBLEM

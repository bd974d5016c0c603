"""The JSON API's plumbing, shared by every feature's API: problem details (RFC 9457) for what
went wrong (and for 422, where), strict JSON reading, API keys (how they are made and how a
request proves it holds one), and the pieces of the OpenAPI document every feature's part uses.

A key is `ch_` + 32 random bytes (token_urlsafe). That is far beyond guessing, so a fast hash
is the right one: the table holds its SHA-256 in hex, looked up through a unique index, and the
key itself exists only in the one response that shows it to its owner.

`key_holder()` is the one way any route (the JSON API, readings batches, device posts) finds
whose key a request carries. Wrong keys are counted per client address (IPv6 by its /64):
past API_KEY_FAILURES_PER_ADDRESS in API_KEY_FAILURE_WINDOW_SECONDS, a wrong key is answered
429 with Retry-After instead of 401. A correct key is still accepted from that address: the
key's 256 bits are what stops guessing, and a sensor behind the same NAT as a misconfigured one
keeps working. A request with no key at all is not counted (it costs no look-up).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import key_holder_key, settings_key
from app.models import ApiKey, Base, KeyOwner
from app.web import i18n, idempotency, throttle
from app.web.database import db_session

PROBLEM_JSON = "application/problem+json"
# Problem types that say more than the status: each resolves to its anchor on the /api page
# (templates/api/docs.html), which explains it. Every other problem is `about:blank`. Each is
# titled with its status's phrase, as RFC 9457 §4.2.1 asks of `about:blank`.
VALIDATION_TYPE = "/api#validation"
AUTHENTICATION_TYPE = "/api#authentication-problem"
RECORD_GONE_TYPE = "/api#idempotency-record-gone"
READINGS_REFUSED_TYPE = "/api#readings-refused"  # a readings post that stored some or none
PROBLEM_TYPES = (VALIDATION_TYPE, AUTHENTICATION_TYPE, RECORD_GONE_TYPE, READINGS_REFUSED_TYPE)
JSON_TYPE = "application/json"


class Problem(Exception):
    """Raised by an API view; answered as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        auth: bool = False,
        type: str = "about:blank",
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.auth = status, detail, errors, auth
        self.type = AUTHENTICATION_TYPE if auth else VALIDATION_TYPE if errors is not None else type

    @classmethod
    def invalid(cls, error: ValidationError, where: str) -> Problem:
        """A 422 naming each field that failed: where it is (body or query) and what is wrong."""
        errors = [
            {
                "location": [where, *item["loc"]],
                "message": str(item["msg"]).removeprefix("Value error, "),
                "type": item["type"],
            }
            for item in error.errors(include_url=False)
        ]
        noun = "field" if len(errors) == 1 else "fields"
        return cls(422, f"{len(errors)} {noun} of the {where} did not validate.", errors=errors)

    def response(self) -> web.Response:
        body: dict[str, Any] = {
            "type": self.type,
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = list(self.errors)
        response = web.json_response(body, status=self.status, content_type=PROBLEM_JSON)
        if self.auth:
            response.headers["WWW-Authenticate"] = 'Bearer realm="cityhive-api"'
        return response


def api_view(
    view: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Answer a Problem raised by the view with its problem document. The API speaks English
    whatever the client's Accept-Language: its messages are for programs and their logs."""

    @functools.wraps(view)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        i18n.answer_in(request, i18n.SOURCE)
        try:
            return await view(request)
        except Problem as problem:
            return problem.response()

    return wrapper


def answer_of[Model: BaseModel](model: type[Model], record: Any, **given: Any) -> Model:
    """An API answer read off a stored record: each of the model's fields by its own name,
    except those `given` (what the record does not hold itself)."""
    values = {name: getattr(record, name) for name in model.model_fields if name not in given}
    return model.model_validate(values | given)


def parse_body[M: BaseModel](schema: type[M], data: Any) -> M:
    """A JSON body (as `read_json` parsed it) read as `schema`, strictly: "5" is not a number,
    nor 0 a date."""
    try:
        return schema.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as error:
        raise Problem.invalid(error, "body") from error


def idempotency_key(request: web.Request) -> str | None:
    """The request's Idempotency-Key header; a malformed one is a 422 that names it."""
    try:
        return idempotency.key_of(request)
    except idempotency.BadKey as error:
        raise Problem(
            422,
            str(error),
            errors=[
                {
                    "location": ["header", "Idempotency-Key"],
                    "message": str(error),
                    "type": "value_error",
                }
            ],
        ) from error


def json_answer(body: str, status: int, location: str) -> web.Response:
    """A JSON body as it is kept (for a create's repeats), with the new record's Location."""
    response = web.Response(text=body, status=status, content_type="application/json")
    if location:
        response.headers["Location"] = location
    return response


def created(record: BaseModel, location: str) -> idempotency.Answer:
    """201 with the new record: the answer to this request and to any repeat of it."""
    return idempotency.Answer(201, location, record.model_dump_json())


async def create_once(
    db: AsyncSession,
    guard: idempotency.Guard,
    create: Callable[[], Awaitable[idempotency.Answer]],
    *,
    kept_as: type[Base],
) -> web.Response:
    """An API's create acted on once per key (app/web/idempotency.py), in the caller's
    transaction, answered as JSON; the key sent again with another body is a problem, and
    nothing is stored.

    A repeat is answered as the first time while the record it made (a `kept_as`, at the end
    of the answer's Location) still exists. Once it was deleted, the repeat is a 410 problem
    (RECORD_GONE_TYPE), never a 201 that points at nothing, and nothing is made again: the
    key's request was carried out, once, as the Idempotency-Key draft asks; to make the record
    anew, a client sends a new key."""
    try:
        answer = await guard.run(db, create)
    except idempotency.KeyReused as error:
        raise Problem(
            422,
            "This Idempotency-Key was already used for a request with another body.",
            errors=[
                {
                    "location": ["header", "Idempotency-Key"],
                    "message": str(error),
                    "type": "idempotency_key_reused",
                }
            ],
        ) from error
    if answer.replayed and not await _still_there(db, kept_as, answer.location):
        raise Problem(
            410,
            f"The record this Idempotency-Key created ({answer.location}) has since been "
            "deleted. Nothing was created again; send a new Idempotency-Key to create it anew.",
            type=RECORD_GONE_TYPE,
        )
    return json_answer(answer.body, answer.status, answer.location)


async def _still_there(db: AsyncSession, model: type[Base], location: str) -> bool:
    """Whether the record at `location` (`/api/v1/…/<id>`) is still stored."""
    _, _, last = location.rpartition("/")
    return last.isdigit() and await db.get(model, int(last)) is not None


UNSUPPORTED_MEDIA_TYPE = "Send the body as JSON, with 'Content-Type: application/json'."


def json_media_type(request: web.Request) -> None:
    """A body that is not declared JSON (text/plain, a form, none) is a 415 problem, not read
    as JSON anyway: what a client declares is what the API takes."""
    media_type = request.content_type
    if media_type != JSON_TYPE and not media_type.endswith("+json"):
        raise Problem(415, UNSUPPORTED_MEDIA_TYPE)


async def read_json(request: web.Request) -> Any:
    """The body as JSON (strict_json), if it is declared JSON; else a 415 problem."""
    json_media_type(request)
    body = await request.read()  # over client_max_size: 413, from aiohttp
    return strict_json(body)


# Deeper than any document of the API (a batch of readings is 3 deep): enough for what anyone
# sends on purpose, and far from the recursion that deeper nesting would cost every reader.
MAX_JSON_DEPTH = 20


def strict_json(body: bytes, *, finite: bool = True) -> Any:
    """The body as JSON that PostgreSQL can store and our schemas can check: no nesting deeper
    than MAX_JSON_DEPTH, no NUL in any text or name and, unless the caller checks each number
    itself (`finite=False`), no NaN or Infinity (which Python's json reads by default, as it
    reads 1e999 as infinite). Anything else is a 422 problem naming where it is."""
    try:
        document = json.loads(body)
    except RecursionError as error:
        raise _json_problem(["body"], "The JSON is nested too deeply.", "json_too_deep") from error
    except ValueError as error:  # UnicodeDecodeError included
        raise _json_problem(["body"], str(error), "json_invalid") from error
    if not _fine_json(document, finite=finite, nul_possible=b"\\u0000" in body):
        _check_json(document, finite=finite)  # finds what is wrong, and where
    return document


def _fine_json(document: Any, *, finite: bool, nul_possible: bool) -> bool:
    """Whether the document is within the rules, walked once without keeping any path (a batch
    of 10,000 readings is 50,000 values): the walk that names where a problem is runs only
    when there is one. A NUL can only come from a `\\u0000` escape (JSON text holds no raw
    control characters), so without one in the body no text or name is looked into."""
    waiting: list[tuple[Any, int]] = [(document, 0)]
    while waiting:
        value, depth = waiting.pop()
        if isinstance(value, dict):
            if depth >= MAX_JSON_DEPTH:
                return False
            if nul_possible and any("\x00" in key for key in value):
                return False
            waiting.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            if depth >= MAX_JSON_DEPTH:
                return False
            waiting.extend((item, depth + 1) for item in value)
        elif isinstance(value, float):
            if finite and not math.isfinite(value):
                return False
        elif nul_possible and isinstance(value, str) and "\x00" in value:
            return False
    return True


def _check_json(document: Any, *, finite: bool) -> None:
    """Walk the document without recursion (it may be deep), refusing depth, NUL and, if asked,
    numbers that are not finite, with where each is."""
    waiting: list[tuple[Any, list[str | int]]] = [(document, [])]
    while waiting:
        value, where = waiting.pop()
        if isinstance(value, str) and "\x00" in value:
            raise _json_problem(["body", *where], "Text may not hold a NUL character.", "json_nul")
        if finite and isinstance(value, float) and not math.isfinite(value):
            message = "Send a finite number (NaN and Infinity are not JSON numbers)."
            raise _json_problem(["body", *where], message, "value_not_finite")
        if not isinstance(value, dict | list):
            continue
        if len(where) >= MAX_JSON_DEPTH:
            message = f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep."
            raise _json_problem(["body", *where], message, "json_too_deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and "\x00" in key:
                message = "A name may not hold a NUL character."
                raise _json_problem(["body", *where], message, "json_nul")
            waiting.append((item, [*where, key]))


def _json_problem(location: list[str | int], message: str, kind: str) -> Problem:
    return Problem(
        422,
        "The request body is not valid JSON.",
        errors=[{"location": location, "message": message, "type": kind}],
    )


# --- API keys --------------------------------------------------------------------------------

KEY_PREFIX = "ch_"
SHOWN_PREFIX_LENGTH = 8
MISSING_KEY = "Send your API key as 'Authorization: Bearer <key>'."
UNKNOWN_KEY = "This API key is unknown or has been revoked."
WRONG_KEYS = "api-key-failures"  # the throttle bucket, keyed by client address
# last_used_at is written at most this often per key, so a busy sensor costs one read per call.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once, never stored
    prefix: str
    hash: str


def new_key() -> NewKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(key=key, prefix=key[:SHOWN_PREFIX_LENGTH], hash=hash_key(key))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def presented_key(request: web.Request) -> str | None:
    """The key sent as `Authorization: Bearer <key>` or as `X-API-Key: <key>`."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("X-API-Key", "").strip() or None


class TooManyRequests(Problem):
    """A 429 problem that says, in Retry-After too, how many seconds to wait."""

    def __init__(self, retry_after: int, detail: str) -> None:
        super().__init__(429, detail)
        self.retry_after = retry_after

    def response(self) -> web.Response:
        response = super().response()
        response.headers["Retry-After"] = str(self.retry_after)
        return response


async def owner_of_key(db: AsyncSession, key_hash: str) -> KeyOwner | None:
    """Whose live key has this hash; notes the use (at most once per TOUCH_INTERVAL). A key is
    found by the SHA-256 of what the client sent, never by the key."""
    row = (
        await db.execute(
            select(ApiKey.id, ApiKey.user_id, ApiKey.last_used_at).where(
                ApiKey.hash == key_hash, ApiKey.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    key_id, user_id, last_used_at = row
    if last_used_at is None or last_used_at < datetime.now(UTC) - TOUCH_INTERVAL:
        await db.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=func.now()))
        await db.commit()
    return KeyOwner(key_id=key_id, user_id=user_id)


async def key_holder(
    request: web.Request, key: str | None = None, *, missing: str = MISSING_KEY
) -> KeyOwner:
    """The live key this request carries (`key`, else its Authorization or X-API-Key header)
    and its owner. Otherwise a Problem: 401 with `missing` when there is no key, 401 for an
    unknown or revoked one, 429 once the client's address has sent too many wrong ones.

    The request's own key is looked up once: a view that asks again (say, `api_owner` and then
    `hive_for`) gets the same answer without a second query."""
    if key is None and key_holder_key in request:
        return request[key_holder_key]
    presented = key or presented_key(request)
    if presented is None:
        raise Problem(401, missing, auth=True)
    async with db_session(request) as db:
        holder = await owner_of_key(db, hash_key(presented))
        if holder is None:
            raise await wrong_key(db, request)
    if key is None:
        request[key_holder_key] = holder
    return holder


async def wrong_key(db: AsyncSession, request: web.Request) -> Problem:
    """Count a wrong key against the client's address; the problem to answer it with."""
    settings = request.app[settings_key]
    wait = await throttle.take(
        db,
        bucket=WRONG_KEYS,
        key=throttle.address_key(request.remote),
        limit=settings.api_key_failures_per_address,
        window_seconds=settings.api_key_failure_window_seconds,
    )
    if wait:
        return TooManyRequests(
            wait, f"Too many wrong API keys from your address. Try again in {wait} seconds."
        )
    return Problem(401, UNKNOWN_KEY, auth=True)


async def api_owner(request: web.Request) -> int:
    """The id of the user whose live key the request carries; otherwise a 401 or 429 problem."""
    return (await key_holder(request)).user_id


# --- OpenAPI: what every feature's part of the document shares --------------------------------

REF = "#/components/schemas/{model}"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def json_content(schema: str, description: str, example: Any = None) -> dict[str, Any]:
    """A response (or body) of JSON in the schema `schema`, with an example if given."""
    content: dict[str, Any] = {"schema": ref(schema)}
    if example is not None:
        content["example"] = example
    return {"description": description, "content": {"application/json": content}}


def problem(description: str, schema: str = "ProblemOut") -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ref(schema)}}}


UNAUTHORIZED = problem("No API key, or an unknown or revoked one.")
INVALID = problem(
    "The body or query did not validate; `errors` names each field.", "ValidationProblem"
)
TOO_LARGE = problem("The request body is larger than the server accepts.")
UNSUPPORTED = problem("The body is not declared JSON: send 'Content-Type: application/json'.")
RECORD_GONE = problem(
    "The Idempotency-Key was used before, and the record it created has since been deleted. "
    "Nothing is created again: send a new key to create it anew."
)
TOO_MANY_WRONG_KEYS = problem(
    "Too many wrong API keys from your address (API_KEY_FAILURES_PER_ADDRESS per "
    "API_KEY_FAILURE_WINDOW_SECONDS): wait the seconds that Retry-After says."
)
TOO_MANY_WRONG_KEYS["headers"] = {
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Any unique string of 8 to 100 printable characters (a UUID). A repeat with the same "
        "key and body creates nothing and answers as the first time: retries and offline "
        "replays are safe. The same key with another body is refused (422, "
        "`idempotency_key_reused`) and nothing is stored. A repeat after the record it made "
        "was deleted is a 410 problem (`/api#idempotency-record-gone`) and creates nothing."
    ),
    "schema": {"type": "string", "minLength": 8, "maxLength": 100, "pattern": "^[!-~]+$"},
}
CREATED_HEADERS = {
    "Location": {"description": "The new record's URL.", "schema": {"type": "string"}}
}


def id_parameter(what: str) -> dict[str, Any]:
    """The `{id}` path parameter of one record: a positive PostgreSQL integer."""
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }


# `?hive_id=`: a list of one hive's records only.
HIVE_ID_QUERY = {
    "name": "hive_id",
    "in": "query",
    "required": False,
    "description": "Only the records of this hive of yours.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
}


def idempotent_create(
    operation_id: str,
    summary: str,
    sent: tuple[str, Any],
    answered: tuple[str, str],
    *,
    links: dict[str, Any],
    not_found: dict[str, Any],
    invalid: dict[str, Any] = INVALID,
) -> dict[str, Any]:
    """A create that takes an Idempotency-Key: the `sent` schema and its example, answered 201
    with the `answered` schema, the new record's Location and `links` to what can be done with
    it; a repeat of a deleted record 410, a body not JSON 415."""
    schema, example = sent
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [IDEMPOTENCY_KEY],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ref(schema), "example": example}},
        },
        "responses": {
            "201": {**json_content(*answered), "headers": CREATED_HEADERS, "links": links},
            "401": UNAUTHORIZED,
            "404": not_found,
            "410": RECORD_GONE,
            "413": TOO_LARGE,
            "415": UNSUPPORTED,
            "422": invalid,
        },
    }


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link from an answer to the operation `operation_id`, its parameters taken
    from the answer (`$response.body#/id`): what a client, or a stateful test, does next."""
    return {"operationId": operation_id, "parameters": parameters}


class FieldError(BaseModel):
    location: list[str | int] = Field(
        description="Where: 'body' or 'query', then the field name (and index, for lists)."
    )
    message: str
    type: str = Field(description="A stable code for the kind of error, e.g. 'missing'.")


class ProblemOut(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    type: str = Field(
        default="about:blank",
        description=(
            "`about:blank`, or a type that says more: `/api#validation`, "
            "`/api#authentication-problem`, `/api#idempotency-record-gone`, each explained at "
            "its anchor on /api."
        ),
    )
    title: str = Field(description="The status's own phrase, such as 'Not Found'.")
    status: int
    detail: str = ""


class ValidationProblem(ProblemOut):
    """A 422: the request was understood, but these fields are wrong."""

    errors: list[FieldError]


PROBLEM_MODELS: list[type[BaseModel]] = [ProblemOut, ValidationProblem]

"""Problem details (RFC 9457) for the JSON API: what went wrong, and for 422, where."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import ValidationError

PROBLEM_JSON = "application/problem+json"
VALIDATION_TYPE = "/api#validation"
AUTHENTICATION_TYPE = "/api#authentication-problem"


class Problem(Exception):
    """Raised by an API view; answered as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        auth: bool = False,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.auth = status, detail, errors, auth

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
            "type": "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        if self.auth:
            body["type"] = AUTHENTICATION_TYPE
        if self.errors is not None:
            body["type"] = VALIDATION_TYPE
            body["errors"] = list(self.errors)
        response = web.json_response(body, status=self.status, content_type=PROBLEM_JSON)
        if self.auth:
            response.headers["WWW-Authenticate"] = 'Bearer realm="cityhive-api"'
        return response


def api_view(
    view: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Answer a Problem raised by the view with its problem document."""

    @functools.wraps(view)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await view(request)
        except Problem as problem:
            return problem.response()

    return wrapper


async def read_json(request: web.Request) -> Any:
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
    _check_json(document, finite=finite)
    return document


def _check_json(document: Any, *, finite: bool) -> None:
    """Walk the document without recursion (it may be deep), refusing depth, NUL and, if asked,
    numbers that are not finite."""
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

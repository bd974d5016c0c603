"""Problem details (RFC 9457) for the JSON API: what went wrong, and for 422, where."""

from __future__ import annotations

import functools
import json
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
    try:
        return json.loads(body)
    except ValueError as error:  # UnicodeDecodeError included
        raise Problem(
            422,
            "The request body is not valid JSON.",
            errors=[{"location": ["body"], "message": str(error), "type": "json_invalid"}],
        ) from error

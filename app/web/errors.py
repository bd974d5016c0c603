"""Error pages in both shapes: a full page, or the fragment for htmx; JSON for the API.

A page speaks the reader's language, a problem document English (it is read by programs). So
the titles below, and the reason an exception carries, are English, marked with `N_()` where a
person may read them; the page translates them. An exception's reason stays English because it
is also the response's status line and the API's `detail`."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from app.web import i18n
from app.web.htmx import render
from app.web.i18n import N_, translate

log = structlog.get_logger(__name__)

TITLES = {
    400: N_("Bad request"),
    401: N_("Please log in"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Not allowed here"),
    413: N_("Too large"),
    422: N_("Please check the form"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
    503: N_("Unavailable"),
}
OTHER_ERROR = N_("Error")
CRASHED = N_("The error was logged; please try again.")
# The error page keeps these of the exception's headers; among them whose answer it is
# (app/pwa/owner.py), so that a phone that is told "not found" after its user left an apiary
# forgets the pages it saved of it.
KEPT_HEADERS = (
    "Allow",
    "Retry-After",
    "Location",
    "HX-Redirect",
    "WWW-Authenticate",
    "CityHive-User",
    "CityHive-Access",
)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(request, exc.status, exc.reason, exc.headers)
    except ConnectionResetError:
        # The client hung up mid-request: nobody is left to answer, and nothing is wrong here.
        log.info("client_disconnected", path=request.path)
        raise
    except Exception as exc:
        if raised_reading_the_body(exc):
            # Bytes that are not UTF-8, a charset no one has heard of, a multipart body without
            # its boundary: the client sent a body no one can read, which is not our error.
            log.info("unreadable_body", path=request.path, error=type(exc).__name__)
            return error_response(request, 400, UNREADABLE_BODY, {})
        log.exception("unhandled_error", path=request.path)
        return error_response(request, 500, CRASHED, {})


UNREADABLE_BODY = N_("The form's body could not be read: send it as UTF-8 text.")
# Where aiohttp turns a request's body into text and fields: whatever they raise is about the
# bytes the client sent (UnicodeDecodeError, LookupError for an unknown charset, ValueError).
BODY_READERS = frozenset({"aiohttp.web_request", "aiohttp.multipart", "aiohttp.formdata"})


def raised_reading_the_body(error: BaseException) -> bool:
    """Whether `error` came from reading the request's body (`request.post()`, a multipart
    reader), wherever in the app it was asked for: the CSRF check, a form reader, a view."""
    if isinstance(error, web.HTTPException):
        return False
    frame = error.__traceback__
    while frame is not None:
        if frame.tb_frame.f_globals.get("__name__") in BODY_READERS:
            return True
        frame = frame.tb_next
    return False


def error_response(
    request: web.Request, status: int, reason: str, headers: Mapping[str, str]
) -> web.StreamResponse:
    title = TITLES.get(status, OTHER_ERROR)
    detail = reason if reason and reason != _standard_reason(status) else ""
    if request.path.startswith("/api/") or request.path.endswith((".json", ".geojson")):
        # An `about:blank` problem's title is the status's own phrase (RFC 9457 §4.2.1).
        problem = {"type": "about:blank", "title": _phrase(status), "status": status}
        response: web.StreamResponse = web.json_response(
            problem | {"detail": detail},
            status=status,
            content_type="application/problem+json",
            headers={"Content-Language": i18n.SOURCE},  # for programs: always English
        )
    else:
        response = error_page(request, status, title, detail)
    for name in KEPT_HEADERS:
        if value := headers.get(name):
            response.headers[name] = value
    return response


def error_page(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    """The error page in the reader's language. The language is asked again here: an error
    raised before the language middleware ran (a form without its CSRF token, a body too
    large, the database away) would otherwise be answered in English."""
    i18n.speak_to(request)
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": translate(title), "detail": translate(detail)},
        partial="partials/errors/error.html",
        status=status,
    )


def _phrase(status: int) -> str:
    return _standard_reason(status) or OTHER_ERROR


def _standard_reason(status: int) -> str:
    """HTTP's own phrase for `status` ("Not Found"): an exception that only says that adds
    nothing to the page's title."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""

"""htmx on the server: read its request headers, render a page in the shape it asks for.

One page, one URL, two shapes. A handler names its page template and, where it has one, the
partial the page includes; `render()` returns the partial alone to an htmx request and the full
page to everything else (a plain GET, a boosted link or form, a history restore). Either way the
response says `Vary: HX-Request`, so no cache hands one shape to a request for the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp_jinja2
from aiohttp import web

from app.web.context import template_context


@dataclass(frozen=True, slots=True)
class HtmxDetails:
    """What htmx told us about a request, from its HX-* headers."""

    request: bool
    boosted: bool
    history_restore: bool
    target: str | None
    trigger: str | None
    current_url: str | None

    @classmethod
    def of(cls, request: web.Request) -> HtmxDetails:
        headers = request.headers
        return cls(
            request=headers.get("HX-Request") == "true",
            boosted=headers.get("HX-Boosted") == "true",
            history_restore=headers.get("HX-History-Restore-Request") == "true",
            target=headers.get("HX-Target"),
            trigger=headers.get("HX-Trigger"),
            current_url=headers.get("HX-Current-URL"),
        )

    @property
    def wants_fragment(self) -> bool:
        """Only a plain htmx request gets a fragment; boosted and history restores need the page."""
        return self.request and not self.boosted and not self.history_restore


def htmx(request: web.Request) -> HtmxDetails:
    return HtmxDetails.of(request)


def render(
    request: web.Request,
    page: str,
    context: Mapping[str, Any] | None = None,
    *,
    partial: str | None = None,
    status: int = 200,
) -> web.Response:
    """The page template, or its partial alone when htmx asks for a fragment."""
    details = htmx(request)
    template = partial if partial is not None and details.wants_fragment else page
    full_context = template_context(request) | dict(context or {})
    response = aiohttp_jinja2.render_template(template, request, full_context, status=status)
    vary(response, "HX-Request")
    return response


def vary(response: web.StreamResponse, *headers: str) -> None:
    """Add header names to Vary, keeping those already there."""
    present = [h.strip() for h in response.headers.get("Vary", "").split(",") if h.strip()]
    for header in headers:
        if header.lower() not in (p.lower() for p in present):
            present.append(header)
    response.headers["Vary"] = ", ".join(present)


_TRIGGER_HEADERS = {
    "receive": "HX-Trigger",
    "swap": "HX-Trigger-After-Swap",
    "settle": "HX-Trigger-After-Settle",
}


def trigger_client_event(
    response: web.StreamResponse,
    name: str,
    detail: Mapping[str, Any] | None = None,
    *,
    after: Literal["receive", "swap", "settle"] = "receive",
) -> None:
    """Ask htmx to fire `name` on the client when the response arrives, or after swap or settle."""
    header = _TRIGGER_HEADERS[after]
    events: dict[str, Any] = json.loads(response.headers.get(header, "{}"))
    events[name] = dict(detail or {})
    response.headers[header] = json.dumps(events, separators=(",", ":"))


def push_url(response: web.StreamResponse, url: str | None) -> None:
    """Make htmx push `url` into the history (None: push nothing)."""
    response.headers["HX-Push-Url"] = "false" if url is None else url


def retarget(response: web.StreamResponse, selector: str, *, reswap: str | None = None) -> None:
    """Swap this response into `selector` instead of the element that asked."""
    response.headers["HX-Retarget"] = selector
    if reswap is not None:
        response.headers["HX-Reswap"] = reswap


def redirect(request: web.Request, location: str) -> web.Response:
    """After a successful form post: 303 See Other (post/redirect/get).

    A browser and a boosted form follow the 303 to a full page. A form that htmx posts for an
    in-place fragment is sent to the new page with HX-Redirect instead, because following a 303
    would swap the next page's fragment into the form's place.
    """
    if htmx(request).wants_fragment:
        response = web.Response(status=204, headers={"HX-Redirect": location})
    else:
        response = web.Response(status=303, headers={"Location": location})
    vary(response, "HX-Request")
    return response

"""A private iCalendar feed of scheduled inspections, for a phone's calendar to subscribe to.

The URL's secret is the only credential (calendar apps send no cookies), so it is long, kept
only as a SHA-256, and can be replaced at any time, which ends the old URL. For the same reason
the feed speaks the language its owner chose for the account (English if none), not the one a
calendar app's request would suggest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from app.inspections import queries
from app.keys import settings_key
from app.models import Inspection
from app.web import i18n
from app.web.auth import login_required, user_of
from app.web.context import local_today
from app.web.database import db_session
from app.web.htmx import render
from app.web.i18n import _
from app.web.urls import absolute_url, public_origin

PRODUCT_ID = "-//CityHive//Inspections//EN"
# Past schedules stay in the feed for a while, so an overdue visit does not vanish.
KEEP_PAST = timedelta(days=60)


# Every way text can break a line: CRLF, a bare CR or LF, and the separators Unicode and
# Python's str.splitlines() also break on (vertical tab, form feed, NEL, U+2028, U+2029).
LINE_BREAK = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")
# RFC 5545 TEXT allows no control character but the tab (CONTROL = %x00-08 / %x0A-1F / %x7F);
# the C1 controls (U+0080-U+009F) are dropped too: parsers refuse them as well.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """RFC 5545 TEXT: every line break as the two characters `\\n`, no other control character,
    and backslash, semicolon and comma escaped, so that no note can end a content line early
    or start a property of its own (a bare CR is a line break to some parsers, an error to
    others)."""
    return "\\n".join(
        CONTROL.sub("", line).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        for line in LINE_BREAK.split(text)
    )


def fold(line: str) -> str:
    """Content lines longer than 75 octets continue on the next line after a space."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never split a UTF-8 character
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, 74
    return "\r\n ".join(parts)


def uid_namespace(secret: str) -> uuid.UUID:
    """This installation's own namespace for event UIDs, drawn from its SECRET_KEY: the same
    under every name the feed is reached by (the Host header, a proxy's, PUBLIC_URL), and
    another installation's inspection 7 is another event."""
    drawn = hmac.new(secret.encode(), b"cityhive calendar event uids", hashlib.sha256)
    return uuid.UUID(bytes=drawn.digest()[:16])


def event_uid(namespace: uuid.UUID, inspection_id: int) -> str:
    """A scheduled inspection's UID: a UUID, as RFC 7986 §5.3 recommends, that stays the same
    for as long as the inspection is in the feed, so a calendar updates its event in place."""
    return str(uuid.uuid5(namespace, f"inspection/{inspection_id}"))


def calendar(
    events: Iterable[tuple[Inspection, str]], base_url: str, now: datetime, uids: uuid.UUID
) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(_('CityHive inspections'))}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT6H",
    ]
    for inspection, hive_name in events:
        day: date = inspection.scheduled_for  # type: ignore[assignment]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event_uid(uids, inspection.id)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{escape(_('Inspect %(hive)s', hive=hive_name))}",
            f"URL:{base_url}/hives/{inspection.hive_id}/inspections/new?schedule={inspection.id}",
        ]
        if inspection.schedule_note:
            lines.append(f"DESCRIPTION:{escape(inspection.schedule_note)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


async def feed(request: web.Request) -> web.Response:
    secret = request.match_info["secret"]
    async with db_session(request) as db:
        found = await queries.calendar_owner(db, secret)
        if found is None:
            raise web.HTTPNotFound()
        owner, language = found
        i18n.answer_in(request, language or i18n.SOURCE)
        today = local_today(request)
        events = await queries.scheduled_for_calendar(db, owner, today - KEEP_PAST)
    settings = request.app[settings_key]
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    body = calendar(events, public_origin(request), datetime.now(UTC), uid_namespace(secret))
    return web.Response(
        text=body,
        content_type="text/calendar",
        headers={
            "Cache-Control": "private, max-age=300",
            "Referrer-Policy": "no-referrer",
            "Content-Language": i18n.language(),
        },
    )


@login_required
async def calendar_page(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        current = await queries.calendar_feed_of(db, user_of(request).id)
    return render(
        request,
        "inspections/calendar.html",
        {"feed": current, "new_url": None},
        partial="partials/inspections/calendar.html",
    )


@login_required
async def calendar_rotate(request: web.Request) -> web.Response:
    """A new secret URL, shown once; the previous URL stops working."""
    secret = secrets.token_urlsafe(32)
    async with db_session(request) as db, db.begin():
        await queries.set_calendar_secret(db, user_of(request).id, secret)
    async with db_session(request) as db:
        current = await queries.calendar_feed_of(db, user_of(request).id)
    url = absolute_url(request, f"/calendar/{secret}.ics")
    response = render(
        request,
        "inspections/calendar.html",
        {"feed": current, "new_url": url},
        partial="partials/inspections/calendar.html",
    )
    response.headers["Cache-Control"] = "no-store"
    return response

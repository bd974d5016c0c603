"""Template filters that show dates, times and amounts the way a beekeeper reads them.

Every page formats with these filters and nothing else: no `strftime`, `"%.2f"` or `"{:,}"` in a
template, no display string built in a query. So when the pages learn the reader's language
(Babel, in the request's language: app/web/i18n.py), this module is where that happens.

    {{ inspection.done_at|datetime }}   26 November 2026, 14:05 (in the city's time zone)
    {{ hive.installed_on|date }}        26 November 2026
    {{ item.scheduled_for|day }}        Thu 26 November 2026
    {{ report.seen_at|ago }}            5 minutes ago
    {{ weight|number }}  2.5    {{ area|number(1) }}  3.1    {{ count|number }}  1,204
    {{ harvest.total_kg|kg }}           12.50 kg
    {{ report.distance_m|distance }}    850 m, 3.2 km
    data-lat="{{ hive.latitude|coordinate }}"   52.521900, for the map script: never translated

An unknown value (None) shows as nothing, so a template decides what a gap reads like.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from app.web import i18n

Amount = Decimal | float | int


def local(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Times are stored in UTC; pages show them in the city's time zone. A time without a zone
    is read as UTC, never as the server's own zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone)


def _calendar_day(value: dt.date, zone: ZoneInfo) -> dt.date:
    """The day a date or a moment falls on, in the city."""
    return local(value, zone).date() if isinstance(value, dt.datetime) else value


# A day to plan around, with its weekday, as each language writes it.
DAY_PATTERNS = {"en": "EEE d MMMM y", "de": "EEE, d. MMMM y", "fr": "EEE d MMMM y"}


def day(value: dt.date | None, zone: ZoneInfo) -> str:
    """Thu 26 November 2026 (Do., 26. November 2026): a day to plan around, with its weekday."""
    if value is None:
        return ""
    pattern = DAY_PATTERNS.get(i18n.language(), "full")
    return format_date(_calendar_day(value, zone), pattern, locale=i18n.format_locale())


def date(value: dt.date | None, zone: ZoneInfo) -> str:
    """26 November 2026 (26. November 2026, 26 novembre 2026)."""
    if value is None:
        return ""
    return format_date(_calendar_day(value, zone), "long", locale=i18n.format_locale())


def date_time(value: dt.datetime | None, zone: ZoneInfo) -> str:
    """26 November 2026, 14:05, in the city's time zone, on the 24-hour clock."""
    if value is None:
        return ""
    moment = local(value, zone)
    return i18n._(
        "%(date)s, %(time)s",
        date=format_date(moment, "long", locale=i18n.format_locale()),
        time=format_time(moment, "HH:mm", locale=i18n.format_locale()),
    )


def ago(value: dt.datetime | dt.timedelta | None, now: dt.datetime | None = None) -> str:
    """How long ago, in the largest unit that reads naturally: 'just now', '5 minutes ago',
    '3 hours ago', '2 days ago'. Reads the same in every time zone. Takes a moment (compared
    with `now`) or an age; a moment a little in the future (clocks disagree) is 'just now'."""
    if value is None:
        return ""
    age = value if isinstance(value, dt.timedelta) else (now or dt.datetime.now(dt.UTC)) - value
    minutes = int(age.total_seconds() // 60)
    if minutes < 2:
        return i18n._("just now")
    if minutes < 120:
        return i18n.ngettext("%(num)s minute ago", "%(num)s minutes ago", minutes)
    hours = minutes // 60
    if hours < 48:
        return i18n.ngettext("%(num)s hour ago", "%(num)s hours ago", hours)
    return i18n.ngettext("%(num)s day ago", "%(num)s days ago", hours // 24)


def number(value: Amount | None, places: int | None = None) -> str:
    """1,204 and 2.5 (1.204 and 2,5 in German): at most two decimals, 2.5 rather than 2.50;
    with `places`, exactly that many (`|number(1)`: 3.0). Nothing for an unknown value."""
    if value is None:
        return ""
    pattern = "#,##0.##" if places is None else "#,##0" + ("." + "0" * places if places else "")
    rounded = round(Decimal(str(value)), 2 if places is None else places)
    if not rounded:
        rounded = abs(rounded)  # -0.001 rounds to 0, not to "-0"
    return format_decimal(rounded, pattern, locale=i18n.format_locale())


def kg(value: Amount | None) -> str:
    """12.50 kg: honey and hive weights, to the ten grams a kitchen scale shows."""
    return "" if value is None else f"{number(value, 2)} kg"


def distance(metres: float | None) -> str:
    """850 m to the nearest ten metres; 3.2 km from one kilometre on."""
    if metres is None:
        return ""
    rounded = round(metres, -1)
    if rounded < 1000:
        return f"{number(rounded, 0)} m"
    return f"{number(metres / 1000, 1)} km"


def coordinate(degrees: float) -> str:
    """52.521900: a latitude or longitude for the map script or a form field, to about 10 cm.
    Data for a machine, so never in the reader's language."""
    return f"{degrees:.6f}"


def filters(zone: ZoneInfo) -> dict[str, Callable[..., Any]]:
    """Every formatting filter, by the name templates use, those that show a time bound to the
    city's zone."""
    return {
        "day": partial(day, zone=zone),
        "date": partial(date, zone=zone),
        "datetime": partial(date_time, zone=zone),
        "ago": ago,
        "number": number,
        "kg": kg,
        "distance": distance,
        "coordinate": coordinate,
    }

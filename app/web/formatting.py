"""Template filters that show dates, times and amounts the way a beekeeper reads them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo


def local_time(zone: ZoneInfo) -> Callable[[datetime | None], datetime | None]:
    """Times are stored in UTC; pages show them in the city's time zone."""

    def to_local(value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(zone)

    return to_local


def day(value: date | None) -> str:
    """Thu 26 November 2026."""
    return "" if value is None else value.strftime("%a %-d %B %Y")


def date_time(value: datetime | None) -> str:
    """26 November 2026, 14:05."""
    return "" if value is None else value.strftime("%-d %B %Y, %H:%M")


def number(value: Decimal | float | int | None) -> str:
    """2.5 rather than 2.50; nothing for an unknown value."""
    if value is None:
        return ""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"

"""A bar chart drawn on the server as SVG: no script, and nothing the CSP forbids (the bars are
placed with SVG attributes and coloured by CSS classes, never with style attributes).

Its words are the reader's: month names from Babel in the request's language (J/F/M..., Januar,
janvier), numbers through app.web.formatting, each bar's tooltip a translated message. The chart
is drawn for each request from the cached figures, so one language's chart is never kept for
another's reader."""

from __future__ import annotations

from dataclasses import dataclass

from babel.dates import get_month_names

from app.city.queries import MonthOfSwarms
from app.web import i18n
from app.web.formatting import number

WIDTH = 600
HEIGHT = 240
TOP = 20  # room for the largest bar's number
BOTTOM = 24  # room for the month letters
LEFT = 8
SLOT = (WIDTH - 2 * LEFT) / 12
BAR = SLOT * 0.36


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    value: int
    kind: str  # "reported" or "collected": the CSS class
    shown: str  # the value as the reader writes it (1,204; 1.204 in German)
    title: str  # "January: 4 reported", the bar's tooltip


@dataclass(frozen=True)
class MonthColumn:
    label: str  # "J", "F", ...
    name: str  # "January"
    short: str  # "Jan"
    x: float  # the middle of the month's slot
    bars: tuple[Bar, Bar]


@dataclass(frozen=True)
class SwarmChart:
    width: int
    height: int
    baseline: float
    columns: list[MonthColumn]
    largest: int


def bar_title(kind: str, month: str, value: int) -> str:
    """The tooltip of a bar: "January: 4 reported" (Januar: 4 gemeldet)."""
    if kind == "reported":
        return i18n.ngettext(
            "%(month)s: %(count)s reported",
            "%(month)s: %(count)s reported",
            value,
            month=month,
            count=number(value),
        )
    return i18n.ngettext(
        "%(month)s: %(count)s collected",
        "%(month)s: %(count)s collected",
        value,
        month=month,
        count=number(value),
    )


def swarm_chart(months: list[MonthOfSwarms]) -> SwarmChart:
    """Per month, a bar for the swarms reported and one for those collected, to one scale."""
    largest = max([1, *(m.reported for m in months), *(m.collected for m in months)])
    baseline = HEIGHT - BOTTOM
    scale = (baseline - TOP) / largest
    locale = i18n.format_locale()
    # Stand-alone forms: a month named on its own, as a label (not inside a date).
    names = get_month_names("wide", "stand-alone", locale=locale)
    shorts = get_month_names("abbreviated", "stand-alone", locale=locale)
    letters = get_month_names("narrow", "stand-alone", locale=locale)
    columns = []
    for index, month in enumerate(months):
        middle = LEFT + SLOT * (index + 0.5)
        number_of_month = month.month.month
        name = names[number_of_month]
        bars = tuple(
            Bar(
                x=round(middle + offset, 1),
                y=round(baseline - value * scale, 1),
                height=round(value * scale, 1),
                value=value,
                kind=kind,
                shown=number(value),
                title=bar_title(kind, name, value),
            )
            for offset, value, kind in (
                (-BAR, month.reported, "reported"),
                (0.0, month.collected, "collected"),
            )
        )
        columns.append(
            MonthColumn(
                label=letters[number_of_month],
                name=name,
                short=shorts[number_of_month],
                x=round(middle, 1),
                bars=(bars[0], bars[1]),
            )
        )
    return SwarmChart(WIDTH, HEIGHT, baseline, columns, largest)

"""A bar chart drawn on the server as SVG: no script, and nothing the CSP forbids (the bars are
placed with SVG attributes and coloured by CSS classes, never with style attributes)."""

from __future__ import annotations

from dataclasses import dataclass

from app.city.queries import MonthOfSwarms

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


@dataclass(frozen=True)
class MonthColumn:
    label: str  # "J", "F", ...
    name: str  # "January"
    x: float  # the middle of the month's slot
    bars: tuple[Bar, Bar]


@dataclass(frozen=True)
class SwarmChart:
    width: int
    height: int
    baseline: float
    columns: list[MonthColumn]
    largest: int


def swarm_chart(months: list[MonthOfSwarms]) -> SwarmChart:
    """Per month, a bar for the swarms reported and one for those collected, to one scale."""
    largest = max([1, *(m.reported for m in months), *(m.collected for m in months)])
    baseline = HEIGHT - BOTTOM
    scale = (baseline - TOP) / largest
    columns = []
    for index, month in enumerate(months):
        middle = LEFT + SLOT * (index + 0.5)
        bars = tuple(
            Bar(
                x=round(middle + offset, 1),
                y=round(baseline - value * scale, 1),
                height=round(value * scale, 1),
                value=value,
                kind=kind,
            )
            for offset, value, kind in (
                (-BAR, month.reported, "reported"),
                (0.0, month.collected, "collected"),
            )
        )
        name = month.month.strftime("%B")
        columns.append(MonthColumn(name[0], name, round(middle, 1), (bars[0], bars[1])))
    return SwarmChart(WIDTH, HEIGHT, baseline, columns, largest)

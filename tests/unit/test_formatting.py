"""The one set of template filters (app/web/formatting.py), and the one hidden CSRF field."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import jinja2
import pytest

from app.settings import ROOT
from app.web import formatting
from app.web.context import csrf_field

BERLIN = ZoneInfo("Europe/Berlin")
FILTERS = formatting.filters(BERLIN)
TEMPLATES = ROOT / "templates"


def render(source: str, **context: object) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    env.globals["csrf_field"] = csrf_field
    return env.from_string(source).render(**context)


# --- times ---------------------------------------------------------------------------------------


def test_times_are_shown_in_the_citys_time_zone():
    winter = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)
    summer = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)
    assert FILTERS["datetime"](winter) == "26 November 2026, 14:05"
    assert FILTERS["datetime"](summer) == "2 June 2026, 00:30"  # past midnight in Berlin
    assert FILTERS["date"](summer) == "2 June 2026"
    assert FILTERS["day"](summer) == "Tue 2 June 2026"


def test_a_time_without_a_zone_is_read_as_utc():
    assert FILTERS["datetime"](datetime(2026, 11, 26, 13, 5)) == "26 November 2026, 14:05"


def test_a_calendar_day_is_shown_as_it_is():
    assert FILTERS["day"](date(2026, 11, 26)) == "Thu 26 November 2026"
    assert FILTERS["date"](date(2026, 11, 26)) == "26 November 2026"


@pytest.mark.parametrize("name", ["day", "date", "datetime", "ago", "number", "kg", "distance"])
def test_an_unknown_value_shows_as_nothing(name):
    assert FILTERS[name](None) == ""


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=30), "just now"),
        (timedelta(seconds=119), "just now"),
        (timedelta(minutes=2), "2 minutes ago"),
        (timedelta(minutes=25), "25 minutes ago"),
        (timedelta(minutes=119), "119 minutes ago"),
        (timedelta(hours=5), "5 hours ago"),
        (timedelta(hours=47, minutes=59), "47 hours ago"),
        (timedelta(days=3), "3 days ago"),
        (timedelta(minutes=-5), "just now"),  # a clock a little ahead
    ],
)
def test_ages_read_naturally(age, text):
    assert formatting.ago(age) == text


def test_ago_reads_the_same_in_every_time_zone():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    moment = (now - timedelta(hours=5)).astimezone(ZoneInfo("Pacific/Auckland"))
    assert formatting.ago(moment, now) == "5 hours ago"
    assert formatting.ago(now - timedelta(minutes=25), now) == "25 minutes ago"


def test_ago_of_a_moment_compares_with_the_clock():
    assert formatting.ago(datetime.now(UTC) - timedelta(days=2)) == "2 days ago"


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (0, None, "0"),
        (Decimal("0.00"), None, "0"),
        (Decimal("2.50"), None, "2.5"),
        (Decimal("38.50"), None, "38.5"),
        (10, None, "10"),
        (100, None, "100"),
        (1204, None, "1,204"),
        (2.345678, None, "2.35"),
        (-2.5, None, "-2.5"),
        (-0.001, None, "0"),
        (3, 1, "3.0"),
        (0, 1, "0.0"),
        (-0.01, 1, "0.0"),
        (-1.25, 1, "-1.2"),
        (52.52, 5, "52.52000"),
        (21.46, 0, "21"),
        (12345.678, 2, "12,345.68"),
    ],
)
def test_numbers(value, places, text):
    assert formatting.number(value, places) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12.5"), "12.50 kg"),
        (0, "0.00 kg"),
        (Decimal("-1.5"), "-1.50 kg"),
        (1000, "1,000.00 kg"),
    ],
)
def test_kilograms_to_the_ten_grams(value, text):
    assert formatting.kg(value) == text


@pytest.mark.parametrize(
    ("metres", "text"),
    [(0, "0 m"), (44, "40 m"), (486, "490 m"), (999, "1.0 km"), (1000, "1.0 km"), (3049, "3.0 km")],
)
def test_distances_read_in_metres_near_and_kilometres_further(metres, text):
    assert formatting.distance(metres) == text


def test_templates_use_the_filters_by_name():
    page = render(
        "{{ at|datetime }} · {{ weight|kg }} · {{ area|number(1) }} · {{ gap|number or '—' }}",
        at=datetime(2026, 11, 26, 13, 5, tzinfo=UTC),
        weight=Decimal("40.08"),
        area=3.14159,
        gap=None,
    )
    assert page == "26 November 2026, 14:05 · 40.08 kg · 3.1 · —"


# --- the hidden CSRF field -----------------------------------------------------------------------


def test_the_csrf_field_carries_the_token_escaped():
    assert render("{{ csrf_field() }}", csrf_token='a"b') == (
        '<input type="hidden" name="_csrf" value="a&#34;b">'
    )
    assert render("{{ csrf_field() }}") == '<input type="hidden" name="_csrf" value="">'


def test_no_template_writes_the_csrf_field_by_hand():
    """Every form uses `{{ csrf_field() }}`; a form that writes its own field can drift from
    the name app/web/csrf.py checks."""
    by_hand = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if re.search(r"""name=["']?_csrf""", path.read_text())
    ]
    assert by_hand == []


def test_no_template_formats_by_hand():
    """Dates and numbers go through the filters, so a later language switch is one edit."""
    by_hand = re.compile(r"""strftime|["']%[.\d*]*[fg]["']|["']\{:,\}["']|\|format\(|\|round""")
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in by_hand.finditer(path.read_text())
    ]
    assert found == []


def test_coordinates_for_the_map_are_plain_decimals():
    assert formatting.coordinate(52.5219) == "52.521900"
    assert formatting.coordinate(-0.1276) == "-0.127600"

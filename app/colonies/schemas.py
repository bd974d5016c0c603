"""What the colony forms accept: a queen, and each colony event (split, union, requeen, swarm
lost or captured, died, sold or given, a colony started in an empty hive).

Each event has a day and a note. What needs the database to decide (a dead colony, a union of
a colony with itself, a queen who would be her own ancestor, a report the user did not claim,
a day before the hive existed) is refused by app/colonies/queries.py, naming the field.
The same schemas check the HTML forms and the JSON API.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.models import ColonyEventKind, ColonyStatus, QueenOrigin, QueenStatus
from app.web.forms import NO_NUL, Blank
from app.web.i18n import N_

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=NO_NUL)]
Detail = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=NO_NUL)]
Notes = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]
RecordId = Annotated[int, Field(gt=0, le=2**31 - 1)]
OptionalId = Annotated[RecordId | None, Blank]
Frames = Annotated[Annotated[int, Field(ge=0, le=100)] | None, Blank]


class MarkingColour(enum.StrEnum):
    """The international colours of queen marking, by the last digit of her year."""

    white = "white"  # 1, 6
    yellow = "yellow"  # 2, 7
    red = "red"  # 3, 8
    green = "green"  # 4, 9
    blue = "blue"  # 5, 0


COLOURS_BY_YEAR = (
    MarkingColour.blue,
    MarkingColour.white,
    MarkingColour.yellow,
    MarkingColour.red,
    MarkingColour.green,
)


def colour_of(year: int) -> MarkingColour:
    """The marking colour of a queen born in `year`: 2026 is white, 2027 yellow."""
    return COLOURS_BY_YEAR[year % 5]


COLOUR_LABELS = {
    MarkingColour.white: N_("White"),
    MarkingColour.yellow: N_("Yellow"),
    MarkingColour.red: N_("Red"),
    MarkingColour.green: N_("Green"),
    MarkingColour.blue: N_("Blue"),
}
QUEEN_ORIGIN_LABELS = {
    QueenOrigin.own_rearing: N_("Own rearing"),
    QueenOrigin.bought: N_("Bought"),
    QueenOrigin.swarm: N_("Swarm"),
    QueenOrigin.supersedure: N_("Supersedure"),
    QueenOrigin.emergency: N_("Emergency cell"),
}
QUEEN_STATUS_LABELS = {
    QueenStatus.laying: N_("Laying"),
    QueenStatus.missing: N_("Missing"),
    QueenStatus.superseded: N_("Superseded"),
    QueenStatus.dead: N_("Dead"),
    QueenStatus.replaced: N_("Replaced"),
}
# What became of the old queen when a new one came in.
OLD_QUEEN_FATES = {
    status: label for status, label in QUEEN_STATUS_LABELS.items() if status != QueenStatus.laying
}
COLONY_STATUS_LABELS = {
    ColonyStatus.alive: N_("Alive"),
    ColonyStatus.united: N_("United with another colony"),
    ColonyStatus.dead: N_("Dead"),
    ColonyStatus.sold: N_("Sold or given"),
}
EVENT_LABELS = {
    ColonyEventKind.started: N_("Colony started"),
    ColonyEventKind.split: N_("Split"),
    ColonyEventKind.union: N_("Union"),
    ColonyEventKind.requeen: N_("Requeened"),
    ColonyEventKind.swarm_lost: N_("Swarm lost"),
    ColonyEventKind.swarm_captured: N_("Swarm captured"),
    ColonyEventKind.died: N_("Colony died"),
    ColonyEventKind.sold: N_("Sold or given"),
}

FIRST_YEAR = 1990


class EventForm(BaseModel):
    """What every colony event has: the day it happened and a note."""

    happened_on: date = Field(title=N_("Date"))
    note: Notes = Field(default="", title=N_("Note"))


class StartForm(EventForm):
    """A colony that came to an empty hive (bought, a nucleus, a package)."""

    name: ShortText = Field(default="", title=N_("Colony name"))


class SplitForm(EventForm):
    """A new colony made from this one, into a hive of the user's or a new one beside it."""

    hive_id: OptionalId = Field(default=None, title=N_("Into the hive"))
    new_hive_name: ShortText = Field(default="", title=N_("Or a new hive named"))
    frames_of_brood: Frames = Field(default=None, title=N_("Frames of brood taken"))
    frames_of_bees: Frames = Field(default=None, title=N_("Frames of bees taken"))


class UnionForm(EventForm):
    """Another colony joined into this one's hive; the other hive is freed."""

    other_colony_id: RecordId = Field(title=N_("The colony joined into this one"))


class QueenFields(BaseModel):
    """A queen as a beekeeper describes her."""

    year: int = Field(ge=FIRST_YEAR, le=2100, title=N_("Year of birth"))
    colour: Annotated[MarkingColour | None, Blank] = Field(default=None, title=N_("Colour"))
    marked: bool = Field(default=False, title=N_("Marked"))
    clipped: bool = Field(default=False, title=N_("Clipped"))
    race: ShortText = Field(default="", title=N_("Race or line"))
    origin: Annotated[QueenOrigin | None, Blank] = Field(default=None, title=N_("Origin"))
    breeder: ShortText = Field(default="", title=N_("Breeder"))
    mother_id: OptionalId = Field(default=None, title=N_("Mother queen"))


class RequeenForm(EventForm, QueenFields):
    """A new queen for the colony, and what became of the old one."""

    old_queen_fate: QueenStatus = Field(default=QueenStatus.replaced, title=N_("The old queen"))


class QueenForm(QueenFields):
    """A queen's details, corrected."""

    introduced_on: Annotated[date | None, Blank] = Field(default=None, title=N_("Introduced on"))
    status: QueenStatus = Field(default=QueenStatus.laying, title=N_("Status"))


class SwarmLostForm(EventForm):
    """The colony swarmed and the swarm got away; the weight-drop alert it answers, if any."""

    alert_id: OptionalId = Field(default=None, title=N_("Weight-drop alert"))


class SwarmCapturedForm(EventForm):
    """A swarm caught into this (empty) hive: a new colony. It may come from one of the user's
    own colonies, or from a city swarm report they claimed."""

    name: ShortText = Field(default="", title=N_("Colony name"))
    from_colony_id: OptionalId = Field(default=None, title=N_("It came from my colony"))
    swarm_report_id: OptionalId = Field(default=None, title=N_("City swarm report"))


class DiedForm(EventForm):
    detail: Detail = Field(default="", title=N_("Cause"))


class SoldForm(EventForm):
    detail: Detail = Field(default="", title=N_("To whom"))


class BoxesForm(BaseModel):
    """What a hive is built of."""

    brood_boxes: int = Field(default=1, ge=0, le=10, title=N_("Brood boxes"))
    supers: int = Field(default=0, ge=0, le=20, title=N_("Honey supers"))
    queen_excluder: bool = Field(default=False, title=N_("Queen excluder"))
    feeder: bool = Field(default=False, title=N_("Feeder"))
    frames_per_box: Annotated[Annotated[int, Field(ge=1, le=40)] | None, Blank] = Field(
        default=None, title=N_("Frames per box")
    )

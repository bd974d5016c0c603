"""What the hive form accepts, and the list's query string."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from app.models import ColonyOrigin, FrameType, HiveStatus
from app.web.forms import NO_NUL, NOT_BLANK, Blank, NoAnswer, Number
from app.web.i18n import N_, _

SiteName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=NO_NUL)]

# The labels people read, marked here and translated where shown (app/hives/views.py's
# `choices`). The hive standards named after a person or a country stay as they are.
FRAME_TYPE_LABELS = {
    FrameType.langstroth: "Langstroth",
    FrameType.dadant: "Dadant",
    FrameType.national: "National",
    FrameType.warre: "Warré",
    FrameType.top_bar: N_("Top bar"),
    FrameType.other: N_("Other"),
}
ORIGIN_LABELS = {
    ColonyOrigin.swarm: N_("Swarm"),
    ColonyOrigin.package: N_("Package"),
    ColonyOrigin.nucleus: N_("Nucleus"),
    ColonyOrigin.split: N_("Split"),
}
STATUS_LABELS = {
    HiveStatus.active: N_("Active"),
    HiveStatus.dead_out: N_("Dead-out"),
    HiveStatus.sold: N_("Sold"),
    HiveStatus.merged: N_("Merged"),
}


class HiveForm(BaseModel):
    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NOT_BLANK),
    ] = Field(title=N_("Name"))
    latitude: Annotated[float, Number, Field(ge=-90, le=90)] = Field(title=N_("Latitude"))
    longitude: Annotated[float, Number, Field(ge=-180, le=180)] = Field(title=N_("Longitude"))
    site: Annotated[SiteName | None, Blank] = Field(
        default=None,
        title=N_("Apiary"),
        description=(
            "The name of one of your apiaries where you may add hives; a new name makes a new"
            " apiary that you own; none, your first apiary. Only an apiary's owners move a hive"
            " to another."
        ),
    )
    frame_type: FrameType = Field(title=N_("Frame type"))
    origin: Annotated[ColonyOrigin | None, Blank] = Field(default=None, title=N_("Colony origin"))
    status: HiveStatus = Field(default=HiveStatus.active, title=N_("Status"))
    installed_on: date | NoAnswer = Field(default=None, title=N_("Installed on"))
    notes: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] = Field(
        default="", title=N_("Notes")
    )

    @field_validator("installed_on")
    @classmethod
    def _not_in_the_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError(_("The installation date cannot be in the future"))
        return value

    @field_validator("longitude")
    @classmethod
    def _not_null_island(cls, value: float, info: ValidationInfo) -> float:
        if value == 0 and info.data.get("latitude") == 0:
            raise ValueError(_("Latitude and longitude are both 0: choose where the hive stands"))
        return value


SortKey = Literal["name", "site", "status", "installed", "-name", "-site", "-status", "-installed"]


class HiveListQuery(BaseModel):
    """The list's state, all of it in the URL: search, filters, sort and page."""

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=NO_NUL)] = ""
    site: SiteName = ""
    status: Annotated[HiveStatus | None, Blank] = None
    sort: SortKey = "name"
    page: Annotated[int, Field(ge=1, le=10_000)] = 1


# The largest box the map may ask for, in square degrees: about a continent (Europe is ~1,400).
MAX_BBOX_AREA = 2500


class Bbox(BaseModel):
    """A bounding box west, south, east, north in degrees (WGS 84)."""

    west: Annotated[float, Field(ge=-180, le=180)]
    south: Annotated[float, Field(ge=-90, le=90)]
    east: Annotated[float, Field(ge=-180, le=180)]
    north: Annotated[float, Field(ge=-90, le=90)]

    @classmethod
    def parse(cls, text: str) -> Bbox:
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError("bbox must be four numbers: west,south,east,north")
        west, south, east, north = parts
        box = cls.model_validate({"west": west, "south": south, "east": east, "north": north})
        if box.west > box.east or box.south > box.north:
            raise ValueError("bbox must have west <= east and south <= north")
        if (box.east - box.west) * (box.north - box.south) > MAX_BBOX_AREA:
            raise ValueError(f"bbox covers more than {MAX_BBOX_AREA} square degrees: zoom in")
        return box

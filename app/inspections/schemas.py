"""What the field log accepts: the inspection checklist, a schedule, a harvest.

The same schemas check the HTML forms and the JSON API, so a rule holds everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.models import QueenCells, Temperament, VarroaMethod
from app.web.forms import NO_NUL, Blank, NoAnswer, Number, typed_by_a_person
from app.web.i18n import N_, _

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=NO_NUL)]
Notes = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]


def measured(low: int, high: int, places: int) -> Callable[[object, ValidationInfo], Decimal]:
    """A measurement read as a number (or, typed by a person, its text), within [low, high] and
    kept to `places` decimals: 41.257 kg is stored as 41.26, as the column holds it."""
    step = Decimal(1).scaleb(-places)

    def read(value: object, info: ValidationInfo) -> Decimal:
        typed = typed_by_a_person(info)
        if isinstance(value, bool) or not isinstance(
            value, (int, float, Decimal, str) if typed else (int, float, Decimal)
        ):
            raise PydanticCustomError("number_type", "Input should be a valid number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise PydanticCustomError("number_type", "Input should be a valid number") from None
        if not number.is_finite():
            raise PydanticCustomError("number_type", "Input should be a valid number")
        # The limit goes along as pydantic's own does, so a form words it in the reader's
        # language (app/web/forms.py) while the API keeps pydantic's English message.
        if number < low:
            raise PydanticCustomError(
                "greater_than_equal", "Input should be greater than or equal to {ge}", {"ge": low}
            )
        if number > high:
            raise PydanticCustomError(
                "less_than_equal", "Input should be less than or equal to {le}", {"le": high}
            )
        return number.quantize(step, rounding=ROUND_HALF_EVEN)

    return read


def number_schema(low: int, high: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "number", "minimum": low, "maximum": high})


Frames = Annotated[Decimal, PlainValidator(measured(0, 200, 1)), number_schema(0, 200)]
HiveWeight = Annotated[Decimal, PlainValidator(measured(0, 1000, 2)), number_schema(0, 1000)]
AirTemperature = Annotated[Decimal, PlainValidator(measured(-40, 60, 1)), number_schema(-40, 60)]
HoneyKg = Annotated[Decimal, PlainValidator(measured(0, 100_000, 2)), number_schema(0, 100_000)]
Percent = Annotated[Decimal, PlainValidator(measured(0, 100, 1)), number_schema(0, 100)]

# How far ahead of the server's clock a harvest's day may be: a phone's clock and time zone.
CLOCK_SLACK = timedelta(days=1)
# How far ahead of the server's clock an inspection's time may be: a phone's clock running fast.
INSPECTION_CLOCK_SLACK = timedelta(minutes=10)
FUTURE_INSPECTION = N_("An inspection cannot be recorded for a time in the future")


def in_the_future(moment: datetime) -> bool:
    """Whether an inspection's time (with its zone) is later than now, give or take a fast
    clock."""
    return moment > datetime.now(UTC) + INSPECTION_CLOCK_SLACK


QUEEN_CELL_LABELS = {
    QueenCells.none: N_("None"),
    QueenCells.swarm: N_("Swarm cells"),
    QueenCells.supersedure: N_("Supersedure cells"),
    QueenCells.emergency: N_("Emergency cells"),
}
TEMPERAMENT_LABELS = {
    Temperament.calm: N_("Calm"),
    Temperament.nervous: N_("Nervous"),
    Temperament.aggressive: N_("Aggressive"),
}
VARROA_METHOD_LABELS = {
    VarroaMethod.sugar_roll: N_("Sugar roll"),
    VarroaMethod.alcohol_wash: N_("Alcohol wash"),
    VarroaMethod.natural_drop: N_("Natural drop (board)"),
}
ACTION_LABELS = {
    "super_added": N_("Super added"),
    "super_removed": N_("Super removed"),
    "split_made": N_("Split made"),
    "requeened": N_("Requeened"),
    "united": N_("United"),
}
WEATHER_LABELS = {
    "sunny": N_("Sunny"),
    "partly_cloudy": N_("Partly cloudy"),
    "overcast": N_("Overcast"),
    "light_rain": N_("Light rain"),
    "windy": N_("Windy"),
}

# A yes/no question that may go unanswered.
YesNo = Annotated[bool | None, Blank]
Action = Literal["super_added", "super_removed", "split_made", "requeened", "united"]
Weather = Literal["sunny", "partly_cloudy", "overcast", "light_rain", "windy"]


def mites_per_100(
    count: int | None, method: VarroaMethod | None, sample: int | None
) -> float | None:
    """Mites per 100 bees, where the method samples bees (a roll or a wash) and says how many."""
    if count is None or sample is None or sample <= 0 or method is VarroaMethod.natural_drop:
        return None
    return round(count * 100 / sample, 1)


class InspectionForm(BaseModel):
    """The beekeeping checklist. Only `done_at` is required: record what you looked at."""

    done_at: datetime = Field(title=N_("When"))
    frames_of_bees: Annotated[Annotated[int, Field(ge=0, le=100)] | None, Number] = Field(
        default=None, title=N_("Frames covered with bees")
    )
    queen_seen: YesNo = Field(default=None, title=N_("Queen seen"))
    eggs_seen: YesNo = Field(default=None, title=N_("Eggs seen"))
    larvae_seen: YesNo = Field(default=None, title=N_("Larvae seen"))
    capped_brood_seen: YesNo = Field(default=None, title=N_("Capped brood seen"))
    queen_cells: Annotated[QueenCells | None, Blank] = Field(default=None, title=N_("Queen cells"))
    queen_cell_count: Annotated[Annotated[int, Field(ge=0, le=200)] | None, Number] = Field(
        default=None, title=N_("Number of queen cells")
    )
    brood_pattern: Annotated[Annotated[int, Field(ge=1, le=5)] | None, Number] = Field(
        default=None, title=N_("Brood pattern")
    )
    temperament: Annotated[Temperament | None, Blank] = Field(default=None, title=N_("Temperament"))
    honey_frames: Annotated[Frames | None, Number] = Field(
        default=None, title=N_("Honey stores (frames)")
    )
    pollen_frames: Annotated[Frames | None, Number] = Field(
        default=None, title=N_("Pollen stores (frames)")
    )
    varroa_count: Annotated[Annotated[int, Field(ge=0, le=100_000)] | None, Number] = Field(
        default=None, title=N_("Varroa count")
    )
    varroa_method: Annotated[VarroaMethod | None, Blank] = Field(
        default=None, title=N_("Varroa method")
    )
    varroa_sample: Annotated[Annotated[int, Field(ge=1, le=100_000)] | None, Number] = Field(
        default=None, title=N_("Sample size")
    )
    treatment_product: ShortText = Field(default="", title=N_("Treatment product"))
    treatment_dose: ShortText = Field(default="", title=N_("Treatment dose"))
    feeding_kind: ShortText = Field(default="", title=N_("Feeding"))
    feeding_amount: ShortText = Field(default="", title=N_("Feeding amount"))
    weight_kg: Annotated[HiveWeight | None, Number] = Field(
        default=None, title=N_("Hive weight (kg)")
    )
    actions: list[Action] = Field(default_factory=list, title=N_("Actions"))
    weather_temp_c: Annotated[AirTemperature | None, Number] = Field(
        default=None, title=N_("Temperature (°C)")
    )
    weather_conditions: Annotated[Weather | None, Blank] = Field(default=None, title=N_("Weather"))
    notes: Notes = Field(default="", title=N_("Notes"))
    next_inspection_on: date | NoAnswer = Field(default=None, title=N_("Next inspection"))

    @field_validator("done_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime) -> datetime:
        # A time without a zone is the city's local time: the views attach the zone and check
        # it again with in_the_future; here, any zone on earth is within 14 hours of UTC.
        aware = value if value.tzinfo else value.replace(tzinfo=UTC) - timedelta(hours=14)
        if in_the_future(aware):
            raise ValueError(_(FUTURE_INSPECTION))
        if value.year < 1900:
            raise ValueError(_("Give a date after 1900"))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> InspectionForm:
        if self.varroa_count is not None and self.varroa_method is None:
            raise ValueError("varroa_method: " + _("Say how the mites were counted"))
        if self.queen_cell_count and self.queen_cells in (None, QueenCells.none):
            raise ValueError("queen_cells: " + _("Say which kind of queen cells you counted"))
        if self.next_inspection_on is not None and self.next_inspection_on < self.done_at.date():
            raise ValueError("next_inspection_on: " + _("The next inspection comes after this one"))
        return self

    @property
    def mites_per_100_bees(self) -> float | None:
        return mites_per_100(self.varroa_count, self.varroa_method, self.varroa_sample)


class ScheduleForm(BaseModel):
    """An inspection planned for a day."""

    scheduled_for: date = Field(title=N_("Date"))
    schedule_note: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=500, pattern=NO_NUL)
    ] = Field(default="", title=N_("Note"))

    @field_validator("scheduled_for")
    @classmethod
    def _sensible(cls, value: date) -> date:
        if value.year < 2000 or value > date.today() + timedelta(days=3 * 366):
            raise ValueError(_("Choose a date within the next three years"))
        return value


SplitRule = Literal["even", "weight"]
CENTS = Decimal("0.01")
HiveId = Annotated[int, Field(gt=0, le=2**31 - 1)]


QualityName = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=NO_NUL)]
QualityValue = bool | float | Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]


class HarvestDetails(BaseModel):
    """What a harvest says besides where its honey came from: the form's and the API's."""

    harvested_on: date = Field(title=N_("Date"))
    frames: Annotated[Annotated[int, Field(ge=0, le=10_000)] | None, Number] = Field(
        default=None, title=N_("Frames taken")
    )
    moisture_pct: Annotated[Percent | None, Number] = Field(default=None, title=N_("Moisture (%)"))
    honey_kind: ShortText = Field(default="", title=N_("Honey kind or colour"))
    quality: dict[QualityName, QualityValue] = Field(
        default_factory=dict,
        max_length=50,
        title=N_("Quality metrics"),
        description="Your own measures, by name: numbers, short texts or yes/no.",
    )
    notes: Notes = Field(default="", title=N_("Notes"))

    @field_validator("harvested_on")
    @classmethod
    def _not_in_the_future(cls, value: date) -> date:
        if value > date.today() + CLOCK_SLACK:
            raise ValueError(_("A harvest cannot be dated in the future"))
        if value.year < 1900:
            raise ValueError(_("Give a date after 1900"))
        return value


class HarvestForm(HarvestDetails):
    """A harvest as the form sends it: hives ticked, and the honey shared over them.

    `split` "even" shares `total_kg` equally; "weight" takes each hive's kg as typed and their
    sum is the total.
    """

    hive_ids: list[HiveId] = Field(min_length=1, max_length=500, title=N_("Hives"))
    split: SplitRule = Field(default="even", title=N_("How the honey is shared between hives"))
    total_kg: Annotated[HoneyKg | None, Number] = Field(default=None, title=N_("Honey (kg)"))
    kg_by_hive: dict[HiveId, Annotated[HoneyKg, Number]] = Field(
        default_factory=dict, title=N_("Honey per hive (kg)")
    )

    @model_validator(mode="after")
    def _amounts(self) -> HarvestForm:
        if len(set(self.hive_ids)) != len(self.hive_ids):
            raise ValueError("hive_ids: " + _("Each hive once"))
        if self.split == "even" and self.total_kg is None:
            raise ValueError("total_kg: " + _("Say how many kg were taken"))
        if self.split == "weight":
            missing = [hive for hive in self.hive_ids if hive not in self.kg_by_hive]
            if missing:
                raise ValueError("kg_by_hive: " + _("Give the kg for every chosen hive"))
        return self

    def shares(self) -> dict[int, Decimal]:
        """Each hive's kg, to the hundredth; an even split gives the rounding to the first hive."""
        if self.split == "weight":
            return {hive: self.kg_by_hive[hive].quantize(CENTS) for hive in self.hive_ids}
        assert self.total_kg is not None
        count = len(self.hive_ids)
        each = (self.total_kg / count).quantize(CENTS, rounding="ROUND_DOWN")
        shares = dict.fromkeys(self.hive_ids, each)
        shares[self.hive_ids[0]] += self.total_kg.quantize(CENTS) - each * count
        return shares

    def total(self) -> Decimal:
        return sum(self.shares().values(), Decimal(0))

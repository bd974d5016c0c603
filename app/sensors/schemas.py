"""What sensors measure and what their forms accept; the API's shapes for the OpenAPI document.

A reading is checked in plain Python (app/sensors/ingest.py), not through a pydantic model per
reading: 10,000 of them arrive in one request. The models below describe the API for people
and for the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app.models import AlertKind, SensorKind, SensorPlacement
from app.web.api import answer_of
from app.web.formatting import number
from app.web.forms import Number
from app.web.i18n import N_, _


@dataclass(frozen=True)
class KindInfo:
    label: str  # marked with N_(): translated where shown, English in the API's messages
    unit: str
    low: float  # the physical range a reading must fall in
    high: float
    decimals: int  # how values are shown


KINDS: dict[SensorKind, KindInfo] = {
    # A tared scale drifts a little below zero; 500 kg is beyond any stack of boxes.
    SensorKind.weight: KindInfo(N_("Weight"), "kg", -10, 500, 2),
    SensorKind.temperature: KindInfo(N_("Temperature"), "°C", -50, 80, 1),
    SensorKind.humidity: KindInfo(N_("Humidity"), "%", 0, 100, 0),
    SensorKind.sound: KindInfo(N_("Sound level"), "dB", 0, 150, 0),
    SensorKind.battery: KindInfo(N_("Battery"), "V", 0, 30, 2),
    SensorKind.pressure: KindInfo(N_("Pressure"), "hPa", 300, 1100, 0),
}
PLACEMENT_LABELS = {SensorPlacement.inside: N_("Inside"), SensorPlacement.outside: N_("Outside")}
ALERT_LABELS = {
    AlertKind.swarm: N_("Swarm"),
    AlertKind.temperature: N_("Temperature"),
    AlertKind.humidity: N_("Humidity"),
    AlertKind.battery: N_("Low battery"),
    AlertKind.offline: N_("Offline"),
}
# What the acknowledge button adds for screen readers: "Acknowledge the swarm alert of …".
ALERT_OF_HIVE = {
    # Translators: read after the button's word "Acknowledge"; %(hive)s is the hive's name.
    AlertKind.swarm: N_("the swarm alert of %(hive)s"),
    AlertKind.temperature: N_("the temperature alert of %(hive)s"),
    AlertKind.humidity: N_("the humidity alert of %(hive)s"),
    AlertKind.battery: N_("the low battery alert of %(hive)s"),
    AlertKind.offline: N_("the offline alert of %(hive)s"),
}

MAX_BATCH = 10_000
# A device clock a little fast is fine; a day ahead is a wrong clock, not a reading.
MAX_FUTURE = timedelta(days=1)
# Before 2000 is a clock that was never set (an ESP32 without NTP starts in 1970).
EARLIEST = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


# --- chart ranges -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartRange:
    """A chart's span. Its texts are marked with N_() and translated where shown: one text per
    use, since languages word "the last 7 days" and "the last year" differently."""

    key: str
    label: str  # the range switch: "7 days"
    span: timedelta
    bucket: timedelta  # span / bucket <= about 1,000 points per series
    last: str  # before the summary: "Last 7 days: lowest …"
    within: str  # in the chart's description: "Weight chart, last 7 days: …"
    empty: str  # "No readings in the last 7 days."


RANGES = {
    r.key: r
    for r in (
        ChartRange(
            "24h",
            N_("24 hours"),
            timedelta(hours=24),
            timedelta(minutes=2),
            last=N_("Last 24 hours"),
            within=N_("last 24 hours"),
            empty=N_("No readings in the last 24 hours."),
        ),
        ChartRange(
            "7d",
            N_("7 days"),
            timedelta(days=7),
            timedelta(minutes=15),
            last=N_("Last 7 days"),
            within=N_("last 7 days"),
            empty=N_("No readings in the last 7 days."),
        ),
        ChartRange(
            "30d",
            N_("30 days"),
            timedelta(days=30),
            timedelta(hours=1),
            last=N_("Last 30 days"),
            within=N_("last 30 days"),
            empty=N_("No readings in the last 30 days."),
        ),
        ChartRange(
            "1y",
            N_("1 year"),
            timedelta(days=365),
            timedelta(hours=12),
            last=N_("Last 1 year"),
            within=N_("last 1 year"),
            empty=N_("No readings in the last 1 year."),
        ),
    )
}
DEFAULT_RANGE = "24h"


def chart_range(key: str | None) -> ChartRange:
    """The range a URL asks for; anything unknown is the default."""
    return RANGES.get(key or "", RANGES[DEFAULT_RANGE])


# --- the device form: field names to sensors ----------------------------------------------------

# What simple firmware and BEEP devices call their values. A name with a placement picks the
# sensor placed there when the hive has one of each; `sensor_<id>` names a sensor exactly.
DEVICE_FIELDS: dict[str, tuple[SensorKind, SensorPlacement | None]] = {
    "weight_kg": (SensorKind.weight, None),
    "weight": (SensorKind.weight, None),
    "w": (SensorKind.weight, None),
    "t": (SensorKind.temperature, None),
    "temp": (SensorKind.temperature, None),
    "temperature": (SensorKind.temperature, None),
    "t_i": (SensorKind.temperature, SensorPlacement.inside),
    "t_o": (SensorKind.temperature, SensorPlacement.outside),
    "h": (SensorKind.humidity, None),
    "humidity": (SensorKind.humidity, None),
    "h_i": (SensorKind.humidity, SensorPlacement.inside),
    "h_o": (SensorKind.humidity, SensorPlacement.outside),
    "s": (SensorKind.sound, None),
    "sound": (SensorKind.sound, None),
    "s_tot": (SensorKind.sound, None),
    "bv": (SensorKind.battery, None),
    "battery": (SensorKind.battery, None),
    "vbat": (SensorKind.battery, None),
    "p": (SensorKind.pressure, None),
    "pressure": (SensorKind.pressure, None),
}
DEVICE_RESERVED = frozenset({"key", "time"})


# --- HTML forms -----------------------------------------------------------------------------


SensorName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# A range end: a number within the kind's range, or empty for no limit.
TemperatureLimit = Annotated[Annotated[float, Field(ge=-50, le=80)] | None, Number]
HumidityLimit = Annotated[Annotated[float, Field(ge=0, le=100)] | None, Number]


class SensorForm(BaseModel):
    name: SensorName = Field(title=N_("Name"))
    kind: SensorKind = Field(title=N_("Measures"))
    placement: SensorPlacement = Field(title=N_("Where it sits"))


class SensorRenameForm(BaseModel):
    name: SensorName = Field(title=N_("Name"))
    placement: SensorPlacement = Field(title=N_("Where it sits"))


@dataclass(frozen=True)
class Rules:
    """A hive's alert thresholds, as the alert checks use them."""

    swarm_drop_kg: float = 1.5
    swarm_window_minutes: int = 30
    temperature_min: float | None = 0.0
    temperature_max: float | None = 40.0
    humidity_min: float | None = 30.0
    humidity_max: float | None = 90.0
    offline_hours: int = 3
    battery_min_volts: float = 3.4


DEFAULT_RULES = Rules()


class AlertRulesForm(BaseModel):
    swarm_drop_kg: Annotated[float, Number, Field(gt=0, le=50)] = Field(
        title=N_("Swarm: a weight drop of at least (kg)")
    )
    swarm_window_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = Field(
        title=N_("Swarm: within (minutes)")
    )
    temperature_min: TemperatureLimit = Field(
        default=None, title=N_("Temperature inside at least (°C)")
    )
    temperature_max: TemperatureLimit = Field(
        default=None, title=N_("Temperature inside at most (°C)")
    )
    humidity_min: HumidityLimit = Field(default=None, title=N_("Humidity inside at least (%)"))
    humidity_max: HumidityLimit = Field(default=None, title=N_("Humidity inside at most (%)"))
    offline_hours: Annotated[int, Field(ge=1, le=24 * 30)] = Field(
        title=N_("Offline: no data for (hours)")
    )
    battery_min_volts: Annotated[float, Number, Field(ge=0, le=30)] = Field(
        title=N_("Low battery below (V)")
    )

    @field_validator("temperature_max", "humidity_max")
    @classmethod
    def _above_the_minimum(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get(str(info.field_name).replace("_max", "_min"))
        if value is not None and low is not None and value <= low:
            raise ValueError(_("Must be above the lower limit (%(low)s).", low=number(low)))
        return value


class WebhookForm(BaseModel):
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = Field(
        default="", title=N_("Webhook URL")
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.lower().startswith(("https://", "http://")):
            raise ValueError(_("Use an http:// or https:// address, or leave it empty."))
        return value


# --- the JSON API ---------------------------------------------------------------------------


class ReadingIn(BaseModel):
    """One value of one sensor at one instant."""

    # Other fields are ignored, but no JSON name anywhere may hold a NUL (app/api/problems.py).
    model_config = ConfigDict(json_schema_extra={"propertyNames": {"pattern": "^[^\\u0000]*$"}})

    sensor_id: int = Field(description="The sensor's id, from its page or GET /api/v1/sensors.")
    recorded_at: datetime = Field(
        description="When it was measured: ISO 8601 with a time zone ('Z' or '+01:00'). "
        "Not before 2000, not more than a day ahead."
    )
    value: float = Field(
        description="In the sensor kind's unit (kg, °C, %, dB, V, hPa), inside its physical "
        "range; NaN and infinity are refused."
    )


class ReadingsBatch(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "readings": [
                        {"sensor_id": 12, "recorded_at": "2026-06-01T10:00:00Z", "value": 41.82},
                        {"sensor_id": 13, "recorded_at": "2026-06-01T10:00:00Z", "value": 34.6},
                    ]
                }
            ]
        }
    )

    readings: list[ReadingIn] = Field(max_length=MAX_BATCH, description="Up to 10,000.")
    all_or_nothing: bool = Field(
        default=False,
        description="true: if any reading is refused, store none of them. "
        "false (the default): store the valid ones.",
    )


Batch = Literal["stored", "valid_stored", "nothing_stored"]


class ReadingsStored(BaseModel):
    """Every reading was accepted (those already stored count as duplicates)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"batch": "stored", "stored": 2, "duplicates": 0, "refused": 0}]
        }
    )

    batch: Literal["stored"]
    stored: int = Field(description="Readings new to CityHive, now stored.")
    duplicates: int = Field(
        description="Readings of a sensor at an instant it already had (kept once)."
    )
    refused: int
    ignored: list[str] | None = Field(
        default=None, description="Device posts only: the fields that name no kind of sensor."
    )


class ReadingError(BaseModel):
    location: list[str | int] = Field(
        description="Where: e.g. ['body', 'readings', 3, 'value'], or ['body', 't'] for a "
        "device form field."
    )
    message: str
    type: str = Field(
        description="A stable code: missing, json_invalid, sensor_unknown, value_range, "
        "value_not_finite, time_zone_missing, time_in_future, time_too_old, "
        "type_error, field_unknown, field_ambiguous."
    )


class ReadingsRefused(BaseModel):
    """A problem document (422): some readings were refused; `batch` says what was stored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/api#readings-refused",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "1 of 3 readings was refused; the 2 valid ones were stored.",
                    "batch": "valid_stored",
                    "stored": 2,
                    "duplicates": 0,
                    "refused": 1,
                    "errors": [
                        {
                            "location": ["body", "readings", 2, "value"],
                            "message": "A humidity reading must be between 0 and 100 %.",
                            "type": "value_range",
                        }
                    ],
                }
            ]
        }
    )

    type: str
    title: str
    status: int
    detail: str
    batch: Batch = Field(
        description="valid_stored: the valid readings were stored; nothing_stored: none were "
        "(all_or_nothing, or none was valid)."
    )
    stored: int
    duplicates: int
    refused: int
    ignored: list[str] | None = Field(
        default=None, description="Device posts only: the fields that name no kind of sensor."
    )
    errors: list[ReadingError]


class DeviceReadingsIn(BaseModel):
    """A flat device post, form-encoded (or JSON, or in the query string)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "key": "ch_…",
                    "t": 12.5,
                    "t_i": 34.8,
                    "h": 61,
                    "weight_kg": 42.1,
                    "bv": 3.92,
                }
            ]
        },
    )

    key: str | None = Field(
        default=None, description="Your API key, when the device cannot send a header."
    )
    time: str | None = Field(
        default=None,
        description="When it was measured (ISO 8601 with a time zone, or Unix seconds); "
        "default: when the post arrives.",
    )


class SensorOut(BaseModel):
    id: int
    hive_id: int
    name: str
    kind: SensorKind
    unit: str
    placement: SensorPlacement
    last_reading_at: datetime | None
    last_value: float | None


class SensorList(BaseModel):
    items: list[SensorOut]


class AlertOut(BaseModel):
    """An alert, as GET /api/v1/alerts lists it and as the webhook posts it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "kind": "swarm",
                    "hive_id": 3,
                    "hive_name": "Rooftop One",
                    "sensor_id": 12,
                    "message": "Weight dropped 2.0 kg in 10 minutes: a swarm?",
                    "started_at": "2026-06-01T11:40:00Z",
                    "raised_at": "2026-06-01T11:41:02Z",
                    "path": "/hives/3",
                }
            ]
        }
    )

    id: int
    kind: AlertKind
    hive_id: int
    hive_name: str
    sensor_id: int | None
    message: str
    started_at: datetime
    raised_at: datetime
    path: str = Field(description="The hive's page on this server, e.g. /hives/3.")

    @classmethod
    def of(cls, alert: Any) -> AlertOut:
        """An alert as stored (queries.AlertView) or as just raised (alerts.Raised)."""
        return answer_of(cls, alert, path=f"/hives/{alert.hive_id}")


class AlertList(BaseModel):
    """The key owner's alerts not yet acknowledged, newest first."""

    items: list[AlertOut]


def public_values(values: dict[str, Any]) -> dict[str, str]:
    """Form values as text, for re-rendering a form."""
    return {key: "" if value is None else f"{value:g}" for key, value in values.items()}

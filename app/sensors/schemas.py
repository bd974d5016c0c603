"""What sensors measure and what their forms accept; the API's shapes for the OpenAPI document.

A reading is checked in plain Python (app/sensors/ingest.py), not through a pydantic model per
reading: 10,000 of them arrive in one request. The models below describe the API for people
and for the OpenAPI document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.models import AlertKind, DeviceType, RuleComparison, SensorKind, SensorPlacement
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
    SensorKind.light: KindInfo(N_("Light"), "lx", 0, 200_000, 0),
    # A frequency band of the hive's sound (BEEP's s_fan_*, s_bin*), in the device's own scale.
    SensorKind.sound_band: KindInfo(N_("Sound band"), "", 0, 1_000_000, 0),
    SensorKind.bee_count: KindInfo(N_("Bees counted"), "", 0, 1_000_000, 0),
    # A load cell's value before calibration (an HX711 gives 24 bits, summed over cells).
    SensorKind.raw_weight: KindInfo(N_("Raw weight"), "", -(2**31), 2**31, 0),
    SensorKind.signal: KindInfo(N_("Signal strength"), "dBm", -200, 20, 0),
    SensorKind.signal_noise: KindInfo(N_("Signal to noise"), "dB", -50, 50, 1),
}
PLACEMENT_LABELS = {SensorPlacement.inside: N_("Inside"), SensorPlacement.outside: N_("Outside")}
ALERT_LABELS = {
    AlertKind.swarm: N_("Swarm"),
    AlertKind.temperature: N_("Temperature"),
    AlertKind.humidity: N_("Humidity"),
    AlertKind.battery: N_("Low battery"),
    AlertKind.offline: N_("Offline"),
    AlertKind.rule: N_("Your rule"),
}
# What the acknowledge button adds for screen readers: "Acknowledge the swarm alert of …".
ALERT_OF_HIVE = {
    # Translators: read after the button's word "Acknowledge"; %(hive)s is the hive's name.
    AlertKind.swarm: N_("the swarm alert of %(hive)s"),
    AlertKind.temperature: N_("the temperature alert of %(hive)s"),
    AlertKind.humidity: N_("the humidity alert of %(hive)s"),
    AlertKind.battery: N_("the low battery alert of %(hive)s"),
    AlertKind.offline: N_("the offline alert of %(hive)s"),
    AlertKind.rule: N_("the alert of your rule on %(hive)s"),
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
    bucket: timedelta  # span / bucket <= about 1,000 points per series; from 1 hour, a
    # whole number of hours or days reads the rollups (queries.py downsampled)
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
            timedelta(days=1),  # a day's rollup per point (app/models.py ReadingDay)
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


@dataclass(frozen=True)
class Sleep:
    """When one of a hive's alert rules sleeps (app.models.AlertSleep): in `months` (empty:
    every month) at `hours` of the city's day (empty: all day); with neither, never."""

    months: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()

    def asleep(self, at: datetime, zone: tzinfo) -> bool:
        if not (self.months or self.hours):
            return False
        local = at.astimezone(zone)
        return (not self.months or local.month in self.months) and (
            not self.hours or local.hour in self.hours
        )


@dataclass(frozen=True)
class UserRule:
    """A rule the beekeeper wrote (app.models.HiveRule), as the alert checks use it on one of
    the sensors it watches."""

    id: int
    comparison: RuleComparison
    threshold: float
    window_minutes: int | None
    sleep: Sleep


# The rules that can sleep, in the order the rules page shows them. (An offline alert concerns
# the hive's device as a whole and is checked apart: it does not sleep.)
SLEEPING_KINDS = (AlertKind.swarm, AlertKind.temperature, AlertKind.humidity, AlertKind.battery)
Month = Annotated[int, Field(ge=1, le=12)]
Hour = Annotated[int, Field(ge=0, le=23)]


class AlertSleepForm(BaseModel):
    """The months and hours each rule sleeps (checkboxes: each a list of the ticked values)."""

    swarm_months: list[Month] = Field(default=[], title=N_("Swarm: months"))
    swarm_hours: list[Hour] = Field(default=[], title=N_("Swarm: hours"))
    temperature_months: list[Month] = Field(default=[], title=N_("Temperature: months"))
    temperature_hours: list[Hour] = Field(default=[], title=N_("Temperature: hours"))
    humidity_months: list[Month] = Field(default=[], title=N_("Humidity: months"))
    humidity_hours: list[Hour] = Field(default=[], title=N_("Humidity: hours"))
    battery_months: list[Month] = Field(default=[], title=N_("Low battery: months"))
    battery_hours: list[Hour] = Field(default=[], title=N_("Low battery: hours"))

    def sleeps(self) -> dict[AlertKind, Sleep]:
        return {
            kind: Sleep(
                frozenset(getattr(self, f"{kind.value}_months")),
                frozenset(getattr(self, f"{kind.value}_hours")),
            )
            for kind in SLEEPING_KINDS
        }


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


COMPARISON_LABELS = {
    RuleComparison.above: N_("rises above"),
    RuleComparison.below: N_("falls below"),
    RuleComparison.drops_by: N_("drops by"),
    RuleComparison.rises_by: N_("rises by"),
}
CHANGES = (RuleComparison.drops_by, RuleComparison.rises_by)
RULE_LISTS = ("months", "hours")


class HiveRuleForm(BaseModel):
    """A rule the beekeeper writes: which measurement, how compared, with what, and when it
    sleeps. A drop or a rise needs its window; a limit must be a value the sensor can read."""

    sensor_kind: SensorKind = Field(title=N_("Measurement"))
    placement: SensorPlacement | None = Field(default=None, title=N_("Where it sits"))
    comparison: RuleComparison = Field(title=N_("When it"))
    threshold: Annotated[float, Number] = Field(title=N_("Threshold"))
    window_minutes: Annotated[Annotated[int, Field(ge=1, le=24 * 60)] | None, Number] = Field(
        default=None, title=N_("Within (minutes)")
    )
    months: list[Month] = Field(default=[], title=N_("Sleeps in these months"))
    hours: list[Hour] = Field(default=[], title=N_("At these hours"))

    @field_validator("placement", mode="before")
    @classmethod
    def _anywhere(cls, value: Any) -> Any:
        return value or None

    @model_validator(mode="after")
    def _fits_the_measurement(self) -> HiveRuleForm:
        info = KINDS[self.sensor_kind]
        if self.comparison not in CHANGES:
            self.window_minutes = None  # a limit is crossed at an instant: no window
            if not info.low <= self.threshold <= info.high:
                message = _(
                    "This measurement reads from %(low)s to %(high)s.",
                    low=number(info.low),
                    high=number(info.high),
                )
                raise ValueError(f"threshold: {message}")
            return self
        if self.window_minutes is None:
            message = _("A drop or a rise needs its time window.")
            raise ValueError(f"window_minutes: {message}")
        if not 0 < self.threshold <= info.high - info.low:
            message = _(
                "A change must be above 0 and at most %(most)s.", most=number(info.high - info.low)
            )
            raise ValueError(f"threshold: {message}")
        return self

    def sleep(self) -> Sleep:
        return Sleep(frozenset(self.months), frozenset(self.hours))


# --- devices ----------------------------------------------------------------------------------

DEVICE_TYPE_LABELS = {
    DeviceType.beep: N_("BEEP base, or a device posting as BEEP"),
    DeviceType.honeypi: N_("HoneyPi"),
    DeviceType.ttn: N_("LoRaWAN device on The Things Network"),
    DeviceType.kotori: N_("Hiveeyes or Kotori node"),
    DeviceType.generic: N_("Other device posting over HTTP"),
}
DEVICE_KEY = re.compile(r"^[A-Za-z0-9_.-]{4,100}$")
# The shortest key that may stand for a device on its own, without the owner's API key.
KEY_ALONE_LENGTH = 16
DEV_EUI = re.compile(r"^[0-9A-Fa-f]{16}$")


class DeviceForm(BaseModel):
    """A device added on the sensors page (named device_* beside the sensor form's fields)."""

    device_name: SensorName = Field(title=N_("Device name"))
    device_type: DeviceType = Field(title=N_("Kind of device"))
    device_key: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = Field(
        default="", title=N_("Its key or DevEUI")
    )

    @field_validator("device_key")
    @classmethod
    def _usable_key(cls, value: str) -> str:
        if value and not DEVICE_KEY.match(value):
            raise ValueError(
                _("Use 4 to 100 letters, digits, dots, dashes or underscores, or leave it empty.")
            )
        return value.lower()

    @model_validator(mode="after")
    def _dev_eui_for_lorawan(self) -> DeviceForm:
        if self.device_type == DeviceType.ttn and not DEV_EUI.match(self.device_key):
            message = _("A LoRaWAN device needs its DevEUI: 16 hexadecimal digits.")
            raise ValueError(f"device_key: {message}")
        if self.device_type != DeviceType.ttn and 0 < len(self.device_key) < KEY_ALONE_LENGTH:
            message = _(
                "Use at least %(count)s characters, or leave it empty: the device proves itself "
                "by its key alone."
            ) % {"count": KEY_ALONE_LENGTH}
            raise ValueError(f"device_key: {message}")
        return self


RawValue = Annotated[float, Number, Field(ge=-(2**31), le=2**31)]


class EmptyScaleForm(BaseModel):
    """Calibration, step 1: the scale's raw value with nothing on it."""

    empty: RawValue = Field(title=N_("Raw value with the scale empty"))


class KnownWeightForm(BaseModel):
    """Calibration, step 2: the raw value with a known weight on the scale."""

    empty: RawValue = Field(title=N_("Raw value with the scale empty"))
    known_kg: Annotated[float, Number, Field(gt=0, le=500)] = Field(
        title=N_("The known weight (kg)")
    )
    loaded: RawValue = Field(title=N_("Raw value with the known weight on"))

    @field_validator("loaded")
    @classmethod
    def _moved(cls, value: float, info: ValidationInfo) -> float:
        if value == info.data.get("empty"):
            raise ValueError(
                _("The raw value has not changed: is the weight on the scale, and has it posted?")
            )
        return value


class WeighingForm(BaseModel):
    """A weight read off a scale at the hive (a luggage scale under the box)."""

    weight_kg: Annotated[float, Number, Field(gt=0, le=500)] = Field(title=N_("Weight (kg)"))
    weighed_at: datetime = Field(title=N_("When"))


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
    """One value of one sensor at one instant. Other fields are ignored; no name or text
    anywhere in the body may hold a NUL character."""

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
    """Readings of your sensors. Other fields are ignored; no name or text anywhere in the body
    may hold a NUL character."""

    model_config = ConfigDict(
        json_schema_extra={
            # Other fields are ignored, but no JSON name may hold a NUL, as in ReadingIn.
            "propertyNames": {"pattern": "^[^\\u0000]*$"},
            "examples": [
                {
                    "readings": [
                        {"sensor_id": 12, "recorded_at": "2026-06-01T10:00:00Z", "value": 41.82},
                        {"sensor_id": 13, "recorded_at": "2026-06-01T10:00:00Z", "value": 34.6},
                    ]
                }
            ],
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


class DeviceReadingsJson(BaseModel):
    """A flat device post as a JSON object: each other member a measurement by its name."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": "number"},
            "examples": [{"t": 12.5, "t_i": 34.8, "h": 61, "weight_kg": 42.1, "bv": 3.92}],
        },
    )

    key: str | None = Field(
        default=None, description="Your API key, when the device cannot send a header."
    )
    time: str | int | None = Field(
        default=None,
        description="When it was measured (ISO 8601 with a time zone, or Unix seconds); "
        "default: when the post arrives.",
    )


class DeviceReadingsForm(BaseModel):
    """A flat device post as a form: each other field a measurement by its name, as text."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": "string"},
            "examples": [{"t": "12.5", "t_i": "34.8", "weight_kg": "42.1", "bv": "3.92"}],
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


BEEP_FIELDS = (
    "BEEP's measurement names: t (air), t_i, t_0 to t_9, t_i_1… (inside), h, p, weight_kg, "
    "w_v and w_fl, w_fr, w_bl, w_br (raw load cells, calibrated to weight_kg on the device's "
    "page), bv (V, or mV above 100), l (lux), s_fan_*, s_bin*, s_tot (sound), bc_i, bc_o (bees "
    "in and out), rssi, snr. Each gets a sensor of the device the first time it is posted; "
    "other names are listed in `ignored`."
)


class BeepPostJson(BaseModel):
    """A BEEP post as JSON (BEEP's `POST /api/sensors`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": "number"},
            "examples": [
                {
                    "key": "your_beep_device_key",
                    "t": 18.4,
                    "t_i": 34.5,
                    "weight_kg": 57.348,
                    "h": 58,
                    "bv": 3.54,
                }
            ],
        },
    )

    key: str = Field(
        pattern=DEVICE_KEY.pattern,
        description="The device's key: its BEEP key or DevEUI. " + BEEP_FIELDS,
    )
    time: int | None = Field(
        default=None, description="Unix seconds; default: when the post arrives."
    )


class BeepPostForm(BaseModel):
    """A BEEP post as a form or query string, or firmware 1 to 3's `data` string."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": "string"},
            "examples": [
                {
                    "key": "your_beep_device_key",
                    "t": "18.4",
                    "t_i": "34.5",
                    "weight_kg": "57.348",
                    "h": "58",
                    "bv": "3.54",
                },
                {"data": "key:your_beep_device_key|t:18.4|t_i:34.5|h:58|bv:3540"},
            ],
        },
    )

    key: str = Field(
        pattern=DEVICE_KEY.pattern,
        description="The device's key (firmware that sends only `data` has it there). "
        + BEEP_FIELDS,
    )
    time: str | None = Field(default=None, description="Unix seconds.")
    data: str | None = Field(
        default=None, description="The legacy string: name:value pairs split by |, key included."
    )


class TtnDeviceIds(BaseModel):
    model_config = ConfigDict(extra="allow")

    dev_eui: str = Field(
        pattern=DEV_EUI.pattern, description="The device's DevEUI: its key in CityHive."
    )


class TtnUplinkMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    decoded_payload: dict[str, Any] | None = Field(
        default=None,
        description="What the payload formatter made of the bytes, with BEEP's names "
        "(weight_kg, t_i, t, h, bv…); each number lands on the device's sensor of its name.",
    )
    rx_metadata: list[dict[str, Any]] | None = Field(
        default=None, description="The gateways: the best one's rssi and snr are stored too."
    )
    received_at: datetime | None = None


class TtnUplink(BaseModel):
    """A The Things Network v3 uplink message, as its webhooks post it."""

    model_config = ConfigDict(extra="allow")

    end_device_ids: TtnDeviceIds
    received_at: datetime | None = Field(default=None, description="When the readings were taken.")
    uplink_message: TtnUplinkMessage


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
    kind: AlertKind = Field(
        description="What raised it: a default rule (swarm, temperature, humidity, battery, "
        "offline) or one of the beekeeper's own rules (rule)."
    )
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

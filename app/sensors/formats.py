"""What devices that already exist post, read as one flat post: `{field: value}` and a time.

Each client's shape is read as its project documents it (the bodies are kept as test fixtures in
tests/fixtures/devices/, with their sources):
- BEEP (`POST /api/sensors`): a flat form, query string or JSON object with `key`, an optional
  `time` in Unix seconds and BEEP's field names; or the legacy `data=key:…|t:…|h:…` string.
- The Things Network v3 uplink webhook: the device is `end_device_ids.dev_eui`, the values are
  `uplink_message.decoded_payload` (what the application's payload formatter made of the
  bytes), the time `received_at`; the best gateway's `rssi` and `snr` come along.
- Hiveeyes / Kotori (`POST /api/hiveeyes/…/data`): JSON, a form, or CSV whose `## a, b, c`
  line names the columns (kept for the lines that follow, in later posts too); `time` in ISO
  8601 (without a zone: Europe/Berlin, as Kotori reads it) or Unix seconds, milli-, micro- or
  nanoseconds.

Then `normalised()` applies what the devices mean: BEEP's battery in millivolts (above 100),
and a raw weight (`w_v`) calibrated to kg by the device's offset and multiplier.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.models import SensorKind, SensorPlacement

# --- what a field means --------------------------------------------------------------------

Meaning = tuple[SensorKind, SensorPlacement]
INSIDE, OUTSIDE = SensorPlacement.inside, SensorPlacement.outside

# BEEP's names (and the common spellings of simple firmware and Hiveeyes nodes). BEEP's `t`
# and `h` are the air around the hive; `t_i` and the probes `t_0`…`t_9`, `t_i_1`… are inside.
EXACT: dict[str, Meaning] = {
    "weight_kg": (SensorKind.weight, INSIDE),
    "weight": (SensorKind.weight, INSIDE),
    "w": (SensorKind.weight, INSIDE),
    "t": (SensorKind.temperature, OUTSIDE),
    "temp": (SensorKind.temperature, OUTSIDE),
    "temperature": (SensorKind.temperature, OUTSIDE),
    "t_o": (SensorKind.temperature, OUTSIDE),
    "t_i": (SensorKind.temperature, INSIDE),
    "h": (SensorKind.humidity, OUTSIDE),
    "humidity": (SensorKind.humidity, OUTSIDE),
    "h_o": (SensorKind.humidity, OUTSIDE),
    "h_i": (SensorKind.humidity, INSIDE),
    "p": (SensorKind.pressure, OUTSIDE),
    "pressure": (SensorKind.pressure, OUTSIDE),
    "bv": (SensorKind.battery, INSIDE),
    "battery": (SensorKind.battery, INSIDE),
    "vbat": (SensorKind.battery, INSIDE),
    "voltage": (SensorKind.battery, INSIDE),
    "l": (SensorKind.light, OUTSIDE),
    "light": (SensorKind.light, OUTSIDE),
    "s": (SensorKind.sound, INSIDE),
    "s_tot": (SensorKind.sound, INSIDE),
    "sound": (SensorKind.sound, INSIDE),
    "bc_i": (SensorKind.bee_count, INSIDE),
    "bc_o": (SensorKind.bee_count, INSIDE),
    "bc_tot": (SensorKind.bee_count, INSIDE),
    "w_v": (SensorKind.raw_weight, INSIDE),
    "w_fl": (SensorKind.raw_weight, INSIDE),
    "w_fr": (SensorKind.raw_weight, INSIDE),
    "w_bl": (SensorKind.raw_weight, INSIDE),
    "w_br": (SensorKind.raw_weight, INSIDE),
    "rssi": (SensorKind.signal, OUTSIDE),
    "snr": (SensorKind.signal_noise, OUTSIDE),
}
PATTERNS: list[tuple[re.Pattern[str], Meaning]] = [
    (re.compile(r"^t_\d$"), (SensorKind.temperature, INSIDE)),  # BEEP's probes t_0 … t_9
    (re.compile(r"^t_i_\d{1,2}$"), (SensorKind.temperature, INSIDE)),
    (re.compile(r"^s_fan_\d{1,4}(_\d{1,4})?$"), (SensorKind.sound_band, INSIDE)),
    (re.compile(r"^s_bin_?\d{1,4}(_\d{1,4})?$"), (SensorKind.sound_band, INSIDE)),
]
# Hiveeyes nodes name fields with dots, dashes or underscores: temperature.inside.1, temp-out.
WORDS = {
    "temperature": SensorKind.temperature,
    "temp": SensorKind.temperature,
    "humidity": SensorKind.humidity,
    "weight": SensorKind.weight,
    "pressure": SensorKind.pressure,
    "voltage": SensorKind.battery,
    "battery": SensorKind.battery,
}
INSIDE_WORDS = frozenset({"i", "in", "inside", "brood"})
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,49}$")
# Fields a post carries that are not measurements: the key, the time, BEEP's device metadata.
RESERVED = frozenset(
    {"key", "time", "data", "hardware_id", "beep_base", "firmware_version", "hardware_version"}
)


def meaning(name: str) -> Meaning | None:
    """What a field measures, or None when its name says nothing CityHive knows."""
    if found := EXACT.get(name):
        return found
    for pattern, meant in PATTERNS:
        if pattern.match(name):
            return meant
    words = re.split(r"[._:-]+", name.lower())
    if words[0] in WORDS and len(words) > 1:
        place = INSIDE if INSIDE_WORDS & set(words[1:]) else OUTSIDE
        return WORDS[words[0]], place
    return None


# --- one post, whatever its shape --------------------------------------------------------------


@dataclass
class Post:
    """A device's post as read: who (`key`), when (`time` as sent, or None: now), the values."""

    key: str | None
    time: Any
    values: dict[str, Any] = field(default_factory=dict)


class Unreadable(ValueError):
    """The body is not in the client's documented shape: its message says what is wrong."""


def beep_post(fields: Mapping[str, Any]) -> Post:
    """A BEEP post: its fields (query, form or JSON merged); `data` may hold the legacy string
    `key:…|t:…` of firmware 1 to 3."""
    merged = dict(fields)
    legacy = merged.get("data")
    if isinstance(legacy, str) and "|" in legacy:
        del merged["data"]
        merged |= dict(
            part.split(":", 1) for part in legacy.split("|") if ":" in part and part.split(":")[0]
        )
    elif isinstance(legacy, dict):
        del merged["data"]
        merged |= legacy
    key = merged.get("key")
    values = {name: value for name, value in merged.items() if name not in RESERVED}
    return Post(
        key=str(key).strip().lower() if key not in (None, "") else None,
        time=merged.get("time"),
        values=values,
    )


def ttn_post(data: Any) -> Post:
    """A The Things Network v3 uplink message (a webhook's body)."""
    if not isinstance(data, dict):
        raise Unreadable("The body must be a JSON object: a The Things Network uplink message.")
    ids = data.get("end_device_ids")
    dev_eui = ids.get("dev_eui") if isinstance(ids, dict) else None
    if not isinstance(dev_eui, str) or not dev_eui:
        raise Unreadable("end_device_ids.dev_eui is missing: is this an uplink message?")
    uplink = data.get("uplink_message")
    if not isinstance(uplink, dict):
        raise Unreadable(
            "There is no uplink_message: only uplink messages carry readings "
            "(enable 'Uplink message' alone on the webhook)."
        )
    decoded = uplink.get("decoded_payload")
    values: dict[str, Any] = dict(decoded) if isinstance(decoded, dict) else {}
    metadata = uplink.get("rx_metadata")
    gateways = [g for g in metadata if isinstance(g, dict)] if isinstance(metadata, list) else []
    heard = [g for g in gateways if isinstance(g.get("rssi"), int | float)]
    if heard:
        best = max(heard, key=lambda gateway: gateway["rssi"])
        values.setdefault("rssi", best["rssi"])
        if isinstance(best.get("snr"), int | float):
            values.setdefault("snr", best["snr"])
    values = {name: value for name, value in values.items() if name not in RESERVED}
    when = data.get("received_at") or uplink.get("received_at")
    return Post(key=dev_eui.strip().lower(), time=when, values=values)


CSV_TYPES = ("text/csv", "text/plain")
KOTORI_ZONE = ZoneInfo("Europe/Berlin")  # Kotori's reading of a time without a zone


def csv_posts(text: str, known_fields: list[str] | None) -> tuple[list[str] | None, list[Post]]:
    """Kotori's CSV: a `## a, b` line names the columns (and is kept for later posts), each
    other line is one reading of them. Returns the field names now in force and the posts."""
    names = known_fields
    posts = []
    for row in csv.reader(io.StringIO(text), skipinitialspace=True):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if cells[0].startswith("##"):
            cells[0] = cells[0].removeprefix("##").strip()
            names = [cell for cell in cells if cell]
            continue
        if names is None:
            raise Unreadable(
                "Send the field names first, in a line like '## time, weight, temperature'."
            )
        if len(cells) > len(names):
            raise Unreadable(f"A line has {len(cells)} values for {len(names)} field names.")
        values: dict[str, Any] = dict(zip(names, cells, strict=False))
        posts.append(Post(key=None, time=values.pop("time", None) or None, values=values))
    return names, posts


def kotori_time(value: Any) -> Any:
    """Kotori's `time` as the device time reader takes it: Unix time in seconds (from milli-,
    micro- or nanoseconds) or ISO 8601 with a zone (Europe/Berlin when it has none)."""
    text = str(value).strip()
    if re.fullmatch(r"\d{10,19}(\.\d+)?", text):
        seconds = float(text)
        while seconds > 1e11:  # ms, µs, ns
            seconds /= 1000
        return seconds
    try:
        at = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        return value  # refused with its reason by the time reader
    if at.tzinfo is None:
        at = at.replace(tzinfo=KOTORI_ZONE)
    return at.astimezone(UTC).isoformat()


# --- what the values mean --------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    offset: float
    multiplier: float

    def kg(self, raw: float) -> float:
        return (raw - self.offset) * self.multiplier


MILLIVOLTS_ABOVE = 100  # BEEP: a battery value above 100 is in millivolts


def number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            return None
    return None


def normalised(values: Mapping[str, Any], calibration: Calibration | None) -> dict[str, Any]:
    """The values as CityHive stores them: battery in volts, and the calibrated weight of a
    raw one when the post has no weight of its own."""
    result = dict(values)
    volts = number(result.get("bv"))
    if volts is not None and volts > MILLIVOLTS_ABOVE:
        result["bv"] = volts / 1000
    raw = number(result.get("w_v"))
    has_weight = any(name in result for name in ("weight_kg", "weight", "w"))
    if raw is not None and calibration is not None and not has_weight:
        result["weight_kg"] = round(calibration.kg(raw), 3)
    return result

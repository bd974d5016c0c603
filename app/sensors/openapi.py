"""The sensors' part of the OpenAPI document: readings in, sensors and alerts out, and the alert
webhook. app/pages/openapi.py puts these into the one document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.sensors.schemas import (
    MAX_BATCH,
    AlertList,
    AlertOut,
    DeviceReadingsIn,
    ReadingsBatch,
    ReadingsRefused,
    ReadingsStored,
    SensorList,
)
from app.web.api import PROBLEM_JSON, UNAUTHORIZED, json_content, problem, ref

MODELS: list[type[BaseModel]] = [
    ReadingsBatch,
    ReadingsStored,
    ReadingsRefused,
    DeviceReadingsIn,
    SensorList,
    AlertList,
    AlertOut,
]

TOO_MANY = problem(
    "This key already has a batch in flight (one at a time), or has sent "
    "READINGS_BATCHES_PER_KEY posts in READINGS_WINDOW_SECONDS, or your address has sent too "
    "many wrong keys: nothing was read or stored; wait the seconds that Retry-After says."
)
TOO_MANY["headers"] = {
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
}
REFUSED = problem(
    "Some readings were refused: `errors` names each one and why, `batch` says whether the "
    "valid ones were stored (`valid_stored`) or nothing was (`nothing_stored`). A malformed "
    "body is a plain validation problem.",
    "ReadingsRefused",
)
REFUSED["content"][PROBLEM_JSON]["schema"] = {
    "anyOf": [ref("ReadingsRefused"), ref("ValidationProblem")]
}
STORED = json_content(
    "ReadingsStored",
    "Every reading was accepted: `stored` new ones, `duplicates` already there (each sensor "
    "and instant is kept once, so a batch may be sent again safely).",
)

READINGS_EXAMPLE = {
    "readings": [
        {"sensor_id": 12, "recorded_at": "2026-06-01T10:00:00Z", "value": 41.82},
        {"sensor_id": 12, "recorded_at": "2026-06-01T10:05:00Z", "value": 41.79},
        {"sensor_id": 13, "recorded_at": "2026-06-01T12:05:00+02:00", "value": 34.6},
    ]
}


def paths() -> dict[str, Any]:
    return {
        "/api/v1/readings": {
            "post": {
                "operationId": "postReadings",
                "summary": f"Store a batch of sensor readings (up to {MAX_BATCH:,})",
                "description": (
                    "The key is checked before the body is read; each key has one batch in "
                    "flight at a time and READINGS_BATCHES_PER_KEY per READINGS_WINDOW_SECONDS. "
                    "Readings of your sensors. Each is checked: the sensor is yours, the time "
                    "has a time zone and is neither before 2000 nor more than a day ahead, the "
                    "value is finite and inside the sensor kind's physical range (weight -10 to "
                    "500 kg, temperature -50 to 80 °C, humidity 0 to 100 %, sound 0 to 150 dB, "
                    "battery 0 to 30 V, pressure 300 to 1100 hPa). Valid readings are stored "
                    "in one statement; with `all_or_nothing`, a batch with any refusal stores "
                    "none. Alerts (swarm, temperature, humidity, battery) are computed from the "
                    "new readings."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": ref("ReadingsBatch"),
                            "examples": {"batch": {"value": READINGS_EXAMPLE}},
                        }
                    },
                },
                "responses": {
                    "200": STORED,
                    "401": UNAUTHORIZED,
                    "413": problem(
                        f"More than {MAX_BATCH:,} readings, or a body larger than "
                        "READINGS_MAX_BODY_BYTES (refused from its Content-Length before it is "
                        "read): nothing was stored."
                    ),
                    "422": REFUSED,
                    "429": TOO_MANY,
                },
            }
        },
        "/api/v1/devices/{hive_id}/readings": {
            "parameters": [
                {
                    "name": "hive_id",
                    "in": "path",
                    "required": True,
                    "description": "The hive whose device is posting.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "post": {
                "operationId": "postDeviceReadings",
                "summary": "One flat post from a hive's device",
                "description": (
                    "For simple firmware (and BEEP-style devices): `name=value` fields, as a "
                    "form, a flat JSON object or the query string. Names map to the hive's "
                    "sensors by kind: `weight_kg`, `weight`, `w`; `t`, `temp` (`t_i` inside, "
                    "`t_o` outside); `h` (`h_i`, `h_o`); `s`, `s_tot` (sound); `bv`, `vbat` "
                    "(battery); `p` (pressure); or `sensor_<id>` for one sensor exactly. A "
                    "name matching no kind (`rssi`, say) is ignored and listed in `ignored`. "
                    "`time`: ISO 8601 with a time zone or Unix seconds, default now. The key "
                    "goes in a header or, for devices that cannot send one, in `key`."
                ),
                "security": [{"apiKey": []}, {}],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": ref("DeviceReadingsIn"),
                            "examples": {
                                "device": {
                                    "value": {"t": 12.5, "t_i": 34.8, "weight_kg": 42.1, "bv": 3.92}
                                }
                            },
                        },
                        "application/json": {"schema": ref("DeviceReadingsIn")},
                    },
                },
                "responses": {
                    "200": STORED,
                    "401": UNAUTHORIZED,
                    "404": problem("You have no hive with this id."),
                    "413": problem("The body is larger than MAX_BODY_BYTES."),
                    "422": REFUSED,
                    "429": TOO_MANY,
                },
            },
        },
        "/api/v1/sensors": {
            "get": {
                "operationId": "listSensors",
                "summary": "Your sensors, with their newest reading",
                "parameters": [
                    {
                        "name": "hive",
                        "in": "query",
                        "required": False,
                        "description": "Only this hive's sensors.",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    }
                ],
                "responses": {
                    "200": json_content("SensorList", "Your sensors, by hive, kind and name."),
                    "401": UNAUTHORIZED,
                    "422": problem("The hive is not a number.", "ValidationProblem"),
                },
            }
        },
        "/api/v1/alerts": {
            "get": {
                "operationId": "listAlerts",
                "summary": "Your alerts not yet acknowledged, newest first",
                "responses": {
                    "200": json_content("AlertList", "The open alerts."),
                    "401": UNAUTHORIZED,
                },
            }
        },
    }


def webhooks() -> dict[str, Any]:
    """What CityHive posts to the webhook URL set on the Alerts page."""
    return {
        "alertRaised": {
            "post": {
                "operationId": "alertRaised",
                "summary": "A new alert, posted to your webhook",
                "description": (
                    "Sent once per alert, in the background, with a timeout; an answer other "
                    "than 2xx (and no answer) is retried a few times, except 4xx other than 408 "
                    "and 429. Redirects are not followed, and no connection is made to a private, "
                    "loopback, link-local or otherwise non-public address, however it is "
                    "written or resolved."
                ),
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "event": {"const": "alert.raised"},
                                    "alert": ref("AlertOut"),
                                },
                                "required": ["event", "alert"],
                            }
                        }
                    },
                },
                "responses": {"2XX": {"description": "Received."}},
            }
        }
    }

"""The sensors' part of the OpenAPI document: readings in, sensors and alerts out, and the alert
webhook. app/pages/openapi.py puts these into the one document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.sensors.schemas import (
    MAX_BATCH,
    AlertList,
    AlertOut,
    BeepPostForm,
    BeepPostJson,
    DeviceReadingsForm,
    DeviceReadingsJson,
    ReadingsBatch,
    ReadingsRefused,
    ReadingsStored,
    SensorList,
    TtnUplink,
)
from app.web.api import PROBLEM_JSON, UNAUTHORIZED, UNSUPPORTED, json_content, problem, ref

MODELS: list[type[BaseModel]] = [
    ReadingsBatch,
    ReadingsStored,
    ReadingsRefused,
    DeviceReadingsJson,
    DeviceReadingsForm,
    BeepPostJson,
    BeepPostForm,
    TtnUplink,
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
                    "415": UNSUPPORTED,
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
                            "schema": ref("DeviceReadingsForm"),
                            "examples": {
                                "device": {
                                    "value": {
                                        "t": "12.5",
                                        "t_i": "34.8",
                                        "weight_kg": "42.1",
                                        "bv": "3.92",
                                    }
                                }
                            },
                        },
                        "application/json": {"schema": ref("DeviceReadingsJson")},
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
        **device_paths(),
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


DEVICE_STORED = json_content(
    "ReadingsStored",
    "Every value was stored on the device's sensors (`ignored` lists the fields that name no "
    "measurement).",
)
DEVICE_REFUSED = dict(REFUSED)
DEVICE_REFUSED["description"] = (
    "Some values were refused (`errors`), or the post held no reading at all (every field "
    "ignored, or none): `batch` says what was stored."
)
DEVICE_TOO_MANY = problem(
    "The device has sent READINGS_BATCHES_PER_KEY posts in READINGS_WINDOW_SECONDS, or your "
    "address has sent too many wrong keys: wait the seconds that Retry-After says."
)
DEVICE_TOO_MANY["headers"] = TOO_MANY["headers"]
UNKNOWN_DEVICE = problem("No device has this key (counted against your address).")


def device_post(
    operation_id: str,
    summary: str,
    description: str,
    content: dict[str, Any],
    answers: dict[str, Any],
    *,
    created: bool = False,
    public: bool = False,
) -> dict[str, Any]:
    """A device's post: its body's media types (each with its own schema) and the answers.
    `created`: a stored post is 201 (as BEEP answers); `public`: the device's key is its only
    credential."""
    responses = {
        "201" if created else "200": DEVICE_STORED,
        "413": problem("The body is larger than MAX_BODY_BYTES."),
        "422": DEVICE_REFUSED,
        "429": DEVICE_TOO_MANY,
    } | answers
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "requestBody": {"required": True, "content": content},
        "responses": dict(sorted(responses.items())),
    }
    if public:
        operation["security"] = []
    return {"post": operation}


NAME = {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}$"}


def device_paths() -> dict[str, Any]:
    """Where devices that already exist post unchanged (app/sensors/device_api.py)."""
    beep_body = {
        "application/json": {"schema": ref("BeepPostJson")},
        "application/x-www-form-urlencoded": {"schema": ref("BeepPostForm")},
    }
    beep_description = (
        "As BEEP's own API: the device's key in the body (or the query string), an optional "
        "`time` in Unix seconds, BEEP's field names; or firmware 1 to 3's `data=key:…|t:…` "
        "string. Readings land on the sensors of the device with this key; its raw weight "
        "`w_v` becomes `weight_kg` by its calibration when the post has no weight of its own."
    )
    kotori_json = {
        "type": "object",
        "properties": {
            "time": {
                "type": ["string", "integer"],
                "description": "ISO 8601 (Europe/Berlin without a zone), or Unix seconds, "
                "milli-, micro- or nanoseconds.",
            }
        },
        "additionalProperties": {"type": ["number", "string"]},
    }
    node_parameters = [
        {"name": name, "in": "path", "required": True, "description": text, "schema": NAME}
        for name, text in (
            ("network", "Any name (Kotori's network), e.g. cityhive."),
            ("gateway", "Any name (Kotori's gateway), e.g. hive-3."),
            ("node", "The device's key."),
        )
    ]
    return {
        "/api/sensors": device_post(
            "postBeepSensors",
            "A BEEP device's post",
            beep_description + " No API key: the device's key is its credential.",
            beep_body,
            {"400": problem("No `key` in the post."), "401": UNKNOWN_DEVICE},
            created=True,
            public=True,
        ),
        "/api/sensors_auth": device_post(
            "postBeepSensorsAuthenticated",
            "A BEEP device's post, with your API key",
            beep_description + " The device must be yours.",
            beep_body,
            {"401": UNAUTHORIZED, "404": problem("You have no device with this key.")},
            created=True,
        ),
        "/api/ttn/uplink": device_post(
            "postTtnUplink",
            "The Things Network v3 uplink webhook",
            "Set as the webhook of your application in The Things Network's console, JSON "
            "format, 'Uplink message' enabled, with the additional header "
            "`Authorization: Bearer <API key>` as its shared secret. The device is yours whose "
            "key is the uplink's `end_device_ids.dev_eui`; the readings are its "
            "`decoded_payload`, at `received_at`.",
            {"application/json": {"schema": ref("TtnUplink")}},
            {
                "401": UNAUTHORIZED,
                "404": problem("You have no device with this DevEUI."),
                "415": UNSUPPORTED,
            },
        ),
        "/api/hiveeyes/{network}/{gateway}/{node}/data": {
            "parameters": node_parameters,
            **device_post(
                "postKotoriData",
                "A Hiveeyes / Kotori node's post",
                "As Kotori's HTTP acquisition: JSON, a form, or CSV. A CSV line `## time, "
                "weight, temperature` names the columns of the lines after it, in this post "
                "and later ones (a post of that line alone answers the names). No API key: "
                "the node's key is its credential.",
                {
                    "application/json": {"schema": kotori_json},
                    "application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                    },
                    "text/csv": {"schema": {"type": "string"}},
                },
                {
                    "401": UNKNOWN_DEVICE,
                    "404": problem(
                        "Not a channel address: a name holds other characters than letters, "
                        "digits, dots, dashes and underscores."
                    ),
                    "415": problem("Not JSON, a form or CSV."),
                },
                public=True,
            ),
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

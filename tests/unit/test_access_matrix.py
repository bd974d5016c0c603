"""Who may do what: every route, HTML and API, called by seven callers, against one table.

The callers:
- owner: signed in as the beekeeper who owns the hive and the API keys, sending their live key;
- keeper and viewer: members of the owner's apiary with those roles, each with their own key
  (a row's `member()` says what they get);
- removed member: once a viewer of the apiary, now removed: answered as `other` is;
- other: signed in as another beekeeper, sending that beekeeper's own live key;
- anonymous: no account (an anonymous session, so forms pass CSRF and reach the view);
- revoked key: no account, sending the owner's revoked key.

Anything not the caller's own is 404, as if it did not exist. A private route answers what a
private route answers: a page that needs a log-in sends anonymous visitors to it (303), the API
says 401. Public routes (the swarm report form, the city's map, density layer and statistics,
the PWA's manifest, service worker and offline page) answer everyone, and a secret link with a
wrong secret (a calendar feed, a swarm report's status page) is 404 for everyone. Non-owners go
first; then the owner's data must be exactly as it was, no response to them may carry the
owner's private details (a zip is read inside), and every response carries the security
headers.

Every registered route must have a row: a new route fails `test_every_route_has_a_row` until
its expectations are written down here. A feature that lands adds three things: its rows in
MATRIX, one of each of its records to `owners_things` (so that a row's `fill` can name them in
its path), and its tables to `owners_state` (so that no one else may change them).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from app.accounts import queries as key_queries
from app.accounts.passwords import HASHER
from app.apiaries import clubs as club_queries
from app.apiaries import queries as apiary_queries
from app.apiaries.schemas import InvitationForm
from app.colonies import queries as colony_queries
from app.colonies.schemas import BoxesForm, RequeenForm, StartForm
from app.hives import queries as hive_queries
from app.hives.schemas import HiveForm
from app.inspections import queries as field_log
from app.inspections.schemas import HarvestForm, InspectionForm, ScheduleForm
from app.main import create_app
from app.models import (
    Alert,
    AlertKind,
    ApiaryInvitation,
    ApiaryRole,
    Base,
    ClubMember,
    ClubRole,
    ColonyEvent,
    Device,
    DeviceType,
    FrameType,
    Hive,
    HiveRule,
    PushSubscription,
    Queen,
    RuleComparison,
    Sensor,
    SensorKind,
    SensorPlacement,
    SwarmReport,
    User,
)
from app.settings import Settings
from app.swarms import queries as swarm_queries
from app.swarms.schemas import CollectorForm, SwarmReportForm
from app.treatments import proofs
from app.treatments import queries as treatment_queries
from app.treatments.schemas import DisposalForm, PurchaseForm, TreatmentForm
from app.web.api import new_key
from tests.unit.conftest import (
    FORGET_PLANS,
    PASSWORD,
    csrf_token,
    emptying_sql,
    log_in,
    share,
)
from tests.unit.test_headers import assert_security_headers

PASSWORD_HASH = HASHER.hash(PASSWORD)
OWNER_EMAIL = "owner@example.org"
OTHER_EMAIL = "other@example.org"
# What only the owner may ever see; no response to anyone else may contain it.
SECRET_HIVE = "Rooftop behind the water tank"
SECRET_NOTES = "the spare key is under the third brick"
# The contact a swarm's reporter left: for the collector who claimed it (the owner) alone.
SECRET_CONTACT = "mira.reporter@example.net"
SECRETS = (SECRET_HIVE, SECRET_NOTES, SECRET_CONTACT, OWNER_EMAIL)
# A secret link that names nothing: the calendar feed's and a swarm report's status page's.
WRONG_SECRET = "not-the-secret-" + "x" * 24
TODAY = date.today().isoformat()
NEXT_WEEK = (date.today() + timedelta(days=7)).isoformat()


@dataclass(frozen=True)
class Redirect:
    """A 303 whose Location starts with `to`."""

    to: str

    def __str__(self) -> str:
        return f"303 → {self.to}"


LOGIN = Redirect("/login")  # @login_required, for a visitor who is not signed in
Expect = int | Redirect

HIVE_FORM = {"name": "Intruder", "latitude": "48.1", "longitude": "11.5", "frame_type": "dadant"}
HIVE_JSON = {"name": "Intruder", "latitude": 48.1, "longitude": 11.5, "frame_type": "dadant"}
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
INSPECTION_FORM = {"done_at": f"{YESTERDAY}T10:30", "frames_of_bees": "7", "queen_seen": "true"}
PURCHASE_JSON = {
    "product": "Oxybee",
    "batch": "OX-1",
    "expires_on": (date.today() + timedelta(days=365)).isoformat(),
    "supplier_name": "Imkereibedarf",
    "supplier_address": "Lindenstraße 4, Berlin",
    "purchased_on": YESTERDAY,
    "quantity": 100,
    "unit": "ml",
    "invoice_number": "R-1",
}
PURCHASE_FORM = {name: str(value) for name, value in PURCHASE_JSON.items()}
TREATMENT_JSON = {
    "hive_ids": ["{hive}"],
    "purchase_id": "{purchase}",
    "started_on": TODAY,
    "dose": "5 ml",
    "quantity": 1,
    "method": "trickling",
    "duration_days": 1,
    "withdrawal_days": 0,
    "treated_by": "Ada",
}
TREATMENT_FORM = {
    "hive_ids": "{hive}",
    "purchase_id": "{purchase}",
    "started_on": YESTERDAY,
    "dose": "5 ml",
    "quantity": "1",
    "method": "trickling",
    "duration_days": "1",
    "withdrawal_days": "0",
    "treated_by": "Ada",
}
SWARM_REPORT = {
    "latitude": "52.52",
    "longitude": "13.405",
    "description": "A cluster on the lime tree by the playground",
    "contact": "+49 30 1234567",
}

# Each colony event's form, as the owner fills it in (the other beekeeper sends the same).
COLONY_EVENTS = {
    "split": {"happened_on": TODAY, "new_hive_name": "Intruder's split"},
    "union": {"happened_on": TODAY, "other_colony_id": "{other_colony}"},
    "requeen": {"happened_on": TODAY, "year": "2026", "mother_id": "{queen}"},
    "swarm-lost": {"happened_on": TODAY, "alert_id": "{alert}"},
    "died": {"happened_on": TODAY, "detail": "Intruder"},
    "sold": {"happened_on": TODAY, "detail": "Intruder"},
}

# A browser's push subscription, as static/js/push.js posts it (not the owner's device's).
PUSH_SUBSCRIPTION = {
    "endpoint": "https://push.example.net/send/matrix",
    "p256dh": "B" + "A" * 86,
    "auth": "c2VjcmV0LWF1dGgtMTY",
}


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # as registered (aiohttp's canonical form): /hives/{id}
    owner: Expect
    other: Expect
    anonymous: Expect
    revoked_key: Expect
    # A form post (the caller's CSRF token is added). In form values, {email} is the caller's
    # address and {hive} (any name a row's `fill` can use) the id of the owner's thing; in JSON,
    # a string "{hive}" becomes that id, a number.
    form: Mapping[str, str] | None = None
    json: Mapping[str, Any] | None = None
    # Which of the owner's things each {parameter} of the route names.
    fill: Mapping[str, str] = field(default_factory=lambda: {"id": "hive"})
    path: str | None = None  # the path to call, where the route is not a template of it
    # What the route is about, which gives the answers to the owner's apiary's other members
    # (a keeper and a viewer) unless `keeper` or `viewer` says otherwise:
    # - "apiary": a hive, apiary or record of the shared apiary: a keeper is answered as the
    #   owner; a viewer too when reading (GET), else 404;
    # - "change": the form of a change: a keeper is answered as the owner, a viewer 404;
    # - "owner": what only an apiary's owners may do: 404 to keepers and viewers;
    # - "user": the caller's own things (a profile, keys, stock, lists): as the other user.
    # Unset: "apiary" for a route that is 404 to the other user alone, else "user". A member
    # removed from the apiary is answered as the other user, always.
    scope: str | None = None
    keeper: Expect | None = None
    viewer: Expect | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.route}"

    def member(self, role: str) -> Expect:
        """The answer to the owner's apiary's keeper or viewer."""
        explicit = self.keeper if role == "keeper" else self.viewer
        if explicit is not None:
            return explicit
        scope = self.scope or ("apiary" if self.other == 404 and self.owner != 404 else "user")
        if scope == "user":
            return self.other
        if scope == "owner" or (role == "viewer" and (self.method != "GET" or scope == "change")):
            return 404
        return self.owner


# fmt: off
MATRIX = [
    #   method   route                                  owner  other  anonymous revoked key
    # Operations: for anyone (/metrics is fenced by network, and the tests come from loopback).
    Row("GET",   "/health/live",                        200,   200,   200,      200),
    Row("GET",   "/health/ready",                       200,   200,   200,      200),
    Row("GET",   "/metrics",                            200,   200,   200,      200),
    Row("GET",   "/static",                             200,   200,   200,      200,
        path="/static/css/app.css"),
    Row("GET",   "/",                                   200,   200,   200,      200),
    # Accounts. Signed-in visitors of the log-in and sign-up pages are sent on.
    Row("GET",   "/signup",                   Redirect("/"), Redirect("/"), 200, 200),
    Row("POST",  "/signup",                             422,   422,   422,      422,
        form={"name": "", "email": "not an address", "password": "short"}),
    Row("GET",   "/login",                    Redirect("/"), Redirect("/"), 200, 200),
    Row("POST",  "/login",                              422,   422,   422,      422,
        form={"email": "someone@example.org", "password": "a wrong guess"}),
    Row("POST",  "/logout",                   Redirect("/"), Redirect("/"), Redirect("/"),
        Redirect("/"), form={}),
    Row("POST",  "/logout/everywhere", Redirect("/login"), Redirect("/login"), LOGIN, LOGIN,
        form={}),
    Row("GET",   "/profile",                            200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/profile",          Redirect("/profile"), Redirect("/profile"), LOGIN, LOGIN,
        form={"name": "Renamed", "email": "{email}"}),
    Row("POST",  "/profile/password", Redirect("/profile"), Redirect("/profile"), LOGIN, LOGIN,
        form={"current_password": PASSWORD, "new_password": "another long passphrase"}),
    Row("GET",   "/profile/api-keys", Redirect("/profile"), Redirect("/profile"), LOGIN, LOGIN),
    Row("POST",  "/profile/api-keys",                   201,   201,   LOGIN,    LOGIN,
        form={"key_name": "a new key"}),
    Row("POST",  "/profile/api-keys/{id}/revoke", Redirect("/profile"), 404, LOGIN, LOGIN,
        form={}, fill={"id": "key"}, scope="user"),
    # The reader's language: anyone may choose one (a cookie; the account's, when signed in).
    Row("POST",  "/language",  *[Redirect("/city")] * 4, form={"language": "de", "next": "/city"}),
    # Hives: the list, map and forms are the signed-in user's own; a hive is its owner's alone.
    Row("GET",   "/hives",                              200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/hives",            Redirect("/hives/"), Redirect("/hives/"), LOGIN, LOGIN,
        form=HIVE_FORM),
    Row("GET",   "/hives/new",                          200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/hives.geojson",                      200,   200,   401,      401),
    Row("GET",   "/map",                                200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/hives/{id}",                         200,   404,   LOGIN,    LOGIN),
    Row("GET",   "/hives/{id}/card",                    200,   404,   LOGIN,    LOGIN),
    Row("GET",   "/hives/{id}/edit",                    200,   404,   LOGIN,    LOGIN,
        scope="change"),
    Row("POST",  "/hives/{id}/edit",      Redirect("/hives/"), 404,   LOGIN,    LOGIN,
        form=HIVE_FORM),
    Row("GET",   "/hives/{id}/delete",                  200,   404,   LOGIN,    LOGIN,
        scope="owner"),
    Row("POST",  "/hives/{id}/delete",     Redirect("/hives"), 404,   LOGIN,    LOGIN, form={},
        scope="owner"),
    # The JSON API: a key names its user; without a live key, 401.
    Row("GET",   "/api",                                200,   200,   200,      200),
    Row("GET",   "/api/v1/openapi.json",                200,   200,   200,      200),
    Row("GET",   "/api/v1/hives",                       200,   200,   401,      401),
    Row("POST",  "/api/v1/hives",                       201,   201,   401,      401,
        json=HIVE_JSON),
    Row("GET",   "/api/v1/hives/{id}",                  200,   404,   401,      401),
    Row("PUT",   "/api/v1/hives/{id}",                  200,   404,   401,      401,
        json=HIVE_JSON),
    Row("PATCH", "/api/v1/hives/{id}",                  200,   404,   401,      401,
        json={"notes": "changed"}),
    Row("DELETE", "/api/v1/hives/{id}",                 204,   404,   401,      401,
        scope="owner"),
    # Sensors (issue 5): a hive's sensors and rules are its owner's; alerts are the user's own.
    Row("GET",   "/hives/{id}/sensors",                 200,   404,   LOGIN,    LOGIN),
    Row("POST",  "/hives/{id}/sensors",   Redirect("/hives/"), 404,   LOGIN,    LOGIN,
        form={"name": "Probe", "kind": "temperature", "placement": "inside"}),
    Row("GET",   "/hives/{id}/sensors/{sensor_id}/edit", 200,  404,   LOGIN,    LOGIN,
        fill={"id": "hive", "sensor_id": "sensor"},
        scope="change"),
    Row("POST",  "/hives/{id}/sensors/{sensor_id}/edit", Redirect("/hives/"), 404, LOGIN, LOGIN,
        form={"name": "Renamed", "placement": "outside"},
        fill={"id": "hive", "sensor_id": "sensor"}),
    Row("GET",   "/hives/{id}/sensors/{sensor_id}/delete", 200, 404,  LOGIN,    LOGIN,
        fill={"id": "hive", "sensor_id": "sensor"},
        scope="change"),
    Row("POST",  "/hives/{id}/sensors/{sensor_id}/delete", Redirect("/hives/"), 404, LOGIN,
        LOGIN, form={}, fill={"id": "hive", "sensor_id": "sensor"}),
    Row("GET",   "/hives/{id}/alert-rules",             200,   404,   LOGIN,    LOGIN,
        scope="change"),
    Row("POST",  "/hives/{id}/alert-rules", Redirect("/hives/"), 404, LOGIN,    LOGIN,
        form={"swarm_drop_kg": "2", "swarm_window_minutes": "20", "temperature_min": "",
              "temperature_max": "39", "humidity_min": "", "humidity_max": "",
              "offline_hours": "6", "battery_min_volts": "3.3"}),
    Row("POST",  "/hives/{id}/alert-rules/sleep", Redirect("/hives/"), 404, LOGIN, LOGIN,
        form={"swarm_months": "12", "temperature_hours": "12"}),
    # A beekeeper's own rules (issue 22) are the hive's owner's.
    Row("POST",  "/hives/{id}/alert-rules/own", Redirect("/hives/"), 404, LOGIN, LOGIN,
        form={"sensor_kind": "temperature", "comparison": "above", "threshold": "38"}),
    Row("GET",   "/hives/{id}/alert-rules/own/{rule_id}", 200, 404, LOGIN,   LOGIN,
        fill={"id": "hive", "rule_id": "rule"},
        scope="change"),
    Row("POST",  "/hives/{id}/alert-rules/own/{rule_id}", Redirect("/hives/"), 404, LOGIN,
        LOGIN, form={"sensor_kind": "weight", "comparison": "drops_by", "threshold": "1",
                     "window_minutes": "10"}, fill={"id": "hive", "rule_id": "rule"}),
    Row("POST",  "/hives/{id}/alert-rules/own/{rule_id}/switch", Redirect("/hives/"), 404,
        LOGIN, LOGIN, form={}, fill={"id": "hive", "rule_id": "rule"}),
    Row("POST",  "/hives/{id}/alert-rules/own/{rule_id}/delete", Redirect("/hives/"), 404,
        LOGIN, LOGIN, form={}, fill={"id": "hive", "rule_id": "rule"}),
    Row("GET",   "/hives/{id}/charts",                  200,   404,   LOGIN,    LOGIN),
    Row("GET",   "/alerts",                             200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/alerts/webhook",  Redirect("/alerts"), Redirect("/alerts"), LOGIN, LOGIN,
        form={"url": "https://hooks.example.org/cityhive"}),
    Row("POST",  "/alerts/{alert_id}/acknowledge", Redirect("/alerts"), 404, LOGIN, LOGIN,
        form={}, fill={"alert_id": "alert"}),
    Row("GET",   "/alerts/poll",                        204,   204,   LOGIN,    LOGIN),
    Row("POST",  "/api/v1/readings",                    200,   200,   401,      401,
        json={"readings": []}),
    Row("POST",  "/api/v1/devices/{hive_id}/readings",  200,   404,   401,      401,
        json={"w": 40.5}, fill={"hive_id": "hive"}),
    Row("GET",   "/api/v1/sensors",                     200,   200,   401,      401),
    # Devices (issue 22): a hive's devices are its owner's. A device posts with its own key,
    # whoever sends it: an unknown key is 401 for everyone (and counted against the address);
    # the authenticated variants find only the key owner's devices.
    Row("POST",  "/hives/{id}/devices",   Redirect("/hives/"), 404,   LOGIN,    LOGIN,
        form={"device_name": "Intruder's base", "device_type": "beep", "device_key": ""}),
    Row("GET",   "/hives/{id}/devices/{device_id}",     200,   404,   LOGIN,    LOGIN,
        fill={"id": "hive", "device_id": "device"},
        scope="change"),
    Row("GET",   "/hives/{id}/devices/{device_id}/delete", 200, 404,  LOGIN,    LOGIN,
        fill={"id": "hive", "device_id": "device"},
        scope="change"),
    Row("POST",  "/hives/{id}/devices/{device_id}/delete", Redirect("/hives/"), 404, LOGIN,
        LOGIN, form={}, fill={"id": "hive", "device_id": "device"}),
    Row("GET",   "/hives/{id}/devices/{device_id}/calibrate", 200, 404, LOGIN,  LOGIN,
        fill={"id": "hive", "device_id": "device"},
        scope="change"),
    Row("POST",  "/hives/{id}/devices/{device_id}/calibrate", Redirect("/hives/"), 404, LOGIN,
        LOGIN, form={"empty": "100"}, fill={"id": "hive", "device_id": "device"}),
    # Without step 1's value, step 2 sends its owner back to step 1.
    Row("GET",   "/hives/{id}/devices/{device_id}/calibrate/known", Redirect("/hives/"), 404,
        LOGIN, LOGIN, fill={"id": "hive", "device_id": "device"},
        scope="change"),
    Row("POST",  "/hives/{id}/devices/{device_id}/calibrate/known", Redirect("/hives/"), 404,
        LOGIN, LOGIN, form={"empty": "100", "known_kg": "10", "loaded": "2100"},
        fill={"id": "hive", "device_id": "device"}),
    Row("POST",  "/hives/{id}/weighings", Redirect("/hives/"), 404,   LOGIN,    LOGIN,
        form={"weight_kg": "41.5", "weighed_at": f"{YESTERDAY}T10:30",
              "idempotency_key": "a-weighing-of-the-matrix"}),
    Row("POST",  "/api/sensors",                        401,   401,   401,      401,
        json={"key": "not-a-device-key", "t": 12.5}),
    Row("POST",  "/api/sensors_auth",                   404,   404,   401,      401,
        json={"key": "not-a-device-key", "t": 12.5}),
    Row("POST",  "/api/ttn/uplink",                     404,   404,   401,      401,
        json={"end_device_ids": {"dev_eui": "70B3D57ED0000000"},
              "uplink_message": {"decoded_payload": {"t": 12.5}}}),
    Row("POST",  r"/api/hiveeyes/{network}/{gateway}/{node}/data", 401, 401, 401, 401,
        json={"temperature": 12.5}, fill={}, path="/api/hiveeyes/cityhive/hive-1/unknown/data"),
    Row("GET",   "/api/v1/alerts",                      200,   200,   401,      401),
    # The field log (issue 4): a hive's inspections and a beekeeper's harvests, calendar feed
    # and exports are theirs alone. The feed's secret URL is its only key: a wrong one is 404.
    Row("GET",   "/hives/{id}/inspections/new",         200,   404,   LOGIN,    LOGIN,
        scope="change"),
    Row("POST",  "/hives/{id}/inspections", Redirect("/hives/"), 404, LOGIN,    LOGIN,
        form=INSPECTION_FORM),
    Row("GET",   "/hives/{id}/inspections/schedule",    200,   404,   LOGIN,    LOGIN,
        scope="change"),
    Row("POST",  "/hives/{id}/inspections/schedule", Redirect("/hives/"), 404, LOGIN, LOGIN,
        form={"scheduled_for": NEXT_WEEK, "schedule_note": "Intruder's visit"}),
    Row("GET",   "/inspections/{id}",                   200,   404,   LOGIN,    LOGIN,
        fill={"id": "inspection"}),
    Row("POST",  "/inspections/{id}/done", Redirect("/hives/"), 404,  LOGIN,    LOGIN,
        form={}, fill={"id": "inspection"}),
    Row("GET",   "/inspections/{id}/reschedule",        200,   404,   LOGIN,    LOGIN,
        fill={"id": "inspection"},
        scope="change"),
    Row("POST",  "/inspections/{id}/reschedule", Redirect("/hives/"), 404, LOGIN, LOGIN,
        form={"scheduled_for": NEXT_WEEK}, fill={"id": "inspection"}),
    Row("GET",   "/inspections/{id}/edit",              200,   404,   LOGIN,    LOGIN,
        fill={"id": "inspection"},
        scope="change"),
    Row("POST",  "/inspections/{id}/edit", Redirect("/hives/"), 404, LOGIN,    LOGIN,
        form=INSPECTION_FORM, fill={"id": "inspection"}),
    Row("POST",  "/inspections/{id}/delete", Redirect("/hives/"), 404, LOGIN,   LOGIN,
        form={}, fill={"id": "inspection"}),
    Row("GET",   "/harvests",                           200,   200,   LOGIN,    LOGIN),
    # Another beekeeper naming the owner's hive in their harvest: no such hive.
    Row("POST",  "/harvests",     Redirect("/harvests/"), 404,   LOGIN,    LOGIN,
        form={"harvested_on": TODAY, "hive_ids": "{hive}", "split": "even", "total_kg": "9"}),
    Row("GET",   "/harvests/new",                       200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/harvests/{id}",                      200,   404,   LOGIN,    LOGIN,
        fill={"id": "harvest"}),
    Row("POST",  "/harvests/{id}/delete", Redirect("/harvests"), 404, LOGIN,    LOGIN,
        form={}, fill={"id": "harvest"}),
    Row("GET",   "/calendar",                           200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/calendar",                           200,   200,   LOGIN,    LOGIN, form={}),
    Row("GET",   "/calendar/{secret}.ics",              404,   404,   404,      404,
        path=f"/calendar/{WRONG_SECRET}.ics"),
    Row("GET",   "/exports",                            200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/exports/cityhive-export.zip",        200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/exports/{table}.csv",                200,   200,   LOGIN,    LOGIN,
        path="/exports/hives.csv"),
    Row("GET",   "/api/v1/inspections",                 200,   200,   401,      401),
    Row("POST",  "/api/v1/inspections",                 201,   404,   401,      401,
        json={"hive_id": "{hive}", "done_at": f"{YESTERDAY}T10:30:00+01:00", "frames_of_bees": 7}),
    Row("GET",   "/api/v1/inspections/{id}",            200,   404,   401,      401,
        fill={"id": "inspection"}),
    Row("GET",   "/api/v1/harvests",                    200,   200,   401,      401),
    Row("POST",  "/api/v1/harvests",                    201,   404,   401,      401,
        json={"harvested_on": TODAY, "split": "even", "hive_ids": ["{hive}"], "total_kg": 9}),
    Row("GET",   "/api/v1/harvests/{id}",               200,   404,   401,      401,
        fill={"id": "harvest"}),
    # Medicines and treatments (issue 17): each beekeeper's own stock, treatments and register.
    # Another beekeeper naming the owner's batch or hive finds neither. The owner's treatment
    # was not given as strips, so taking strips out of it is refused (422).
    Row("GET",   "/medicines",                          200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/medicines", Redirect("/medicines/"), Redirect("/medicines/"), LOGIN, LOGIN,
        form=PURCHASE_FORM),
    Row("GET",   "/medicines/new",                      200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/medicines/{id}",                     200,   404,   LOGIN,    LOGIN,
        fill={"id": "purchase"},
        scope="user"),
    Row("POST",  "/medicines/{id}/disposals", Redirect("/medicines/"), 404, LOGIN, LOGIN,
        form={"disposed_on": TODAY, "quantity": "1"}, fill={"id": "purchase"},
        scope="user"),
    # Its proof of purchase (a photo or PDF): a form without a file is refused beside the field.
    Row("POST",  "/medicines/{id}/proof",                422,   404,   LOGIN,    LOGIN,
        form={}, fill={"id": "purchase"}, scope="user"),
    Row("GET",   "/medicines/{id}/proof",                200,   404,   LOGIN,    LOGIN,
        fill={"id": "purchase"}, scope="user"),
    Row("POST",  "/medicines/{id}/proof/delete", Redirect("/medicines/"), 404, LOGIN, LOGIN,
        form={}, fill={"id": "purchase"}, scope="user"),
    Row("GET",   "/treatments",                         200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/treatments",   Redirect("/treatments/"), 404,  LOGIN,    LOGIN,
        form=TREATMENT_FORM,
        scope="user"),
    Row("GET",   "/treatments/new",                     200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/treatments/{id}",                    200,   404,   LOGIN,    LOGIN,
        fill={"id": "treatment"}),
    Row("POST",  "/treatments/{id}/strips-removed",     422,   404,   LOGIN,    LOGIN,
        form={"removed_on": TODAY}, fill={"id": "treatment"}),
    Row("GET",   "/api/v1/purchases",                   200,   200,   401,      401),
    Row("POST",  "/api/v1/purchases",                   201,   201,   401,      401,
        json=PURCHASE_JSON),
    Row("GET",   "/api/v1/purchases/{id}",              200,   404,   401,      401,
        fill={"id": "purchase"},
        scope="user"),
    Row("GET",   "/api/v1/treatments",                  200,   200,   401,      401),
    Row("POST",  "/api/v1/treatments",                  201,   404,   401,      401,
        json=TREATMENT_JSON,
        scope="user"),
    Row("GET",   "/api/v1/treatments/{id}",             200,   404,   401,      401,
        fill={"id": "treatment"}),
    Row("GET",   "/api/v1/medicines",                   200,   200,   401,      401),
    Row("GET",   "/api/v1/purchases/{id}/disposals",    200,   404,   401,      401,
        fill={"id": "purchase"},
        scope="user"),
    Row("POST",  "/api/v1/purchases/{id}/disposals",    201,   404,   401,      401,
        json={"disposed_on": TODAY, "quantity": 1}, fill={"id": "purchase"},
        scope="user"),
    Row("GET",   "/api/v1/purchases/{id}/disposals/{disposal_id}", 200, 404, 401, 401,
        fill={"id": "purchase", "disposal_id": "disposal"},
        scope="user"),
    Row("GET",   "/api/v1/treatment-register",          200,   200,   401,      401),
    # Swarms (issue 7): anyone may report one and gets a secret status link (a wrong one is
    # 404). Signed-in beekeepers see the open reports; a report's contact is for the collector
    # who claimed it (the owner) alone, and only they may release or close it. A report exists
    # only for the collectors whose radius holds it and for its claimer (issue 13): 404 to the
    # other beekeeper, who collects nothing.
    Row("GET",   "/swarms/report",                      200,   200,   200,      200),
    Row("POST",  "/swarms/report", *[Redirect("/swarms/status/")] * 4, form=SWARM_REPORT),
    Row("GET",   "/swarms/status/{token}",              404,   404,   404,      404,
        path=f"/swarms/status/{WRONG_SECRET}"),
    Row("GET",   "/swarms",                             200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/swarms/collector", Redirect("/swarms"), Redirect("/swarms"), LOGIN, LOGIN,
        form={"latitude": "52.5", "longitude": "13.4", "radius_km": "3"}),
    Row("POST",  "/swarms/collector/stop", Redirect("/swarms"), Redirect("/swarms"), LOGIN,
        LOGIN, form={}),
    Row("GET",   "/swarms/near",                        200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/swarms/open.geojson",                200,   200,   401,      401),
    Row("GET",   "/swarms/{id}",                        200,   404,   LOGIN,    LOGIN,
        fill={"id": "swarm"}, scope="user"),
    # The other beekeeper is no collector (403), and the report is not theirs to see (404).
    Row("POST",  "/swarms/{id}/claim",    Redirect("/swarms/"), 403, LOGIN,     LOGIN,
        form={}, fill={"id": "swarm"}),
    Row("POST",  "/swarms/{id}/release",  Redirect("/swarms/"), 404, LOGIN,     LOGIN,
        form={}, fill={"id": "swarm"},
        scope="user"),
    Row("POST",  "/swarms/{id}/close",    Redirect("/swarms/"), 404, LOGIN,     LOGIN,
        form={"outcome": "collected"}, fill={"id": "swarm"},
        scope="user"),
    # Web Push (issue 18): a reporter's browser asks for news through the status link alone;
    # a beekeeper's devices are their own.
    Row("POST",  "/swarms/status/{token}/push",         404,   404,   404,      404,
        path=f"/swarms/status/{WRONG_SECRET}/push", form=PUSH_SUBSCRIPTION),
    Row("GET",   "/push/devices",                       200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/push/devices", Redirect("/push/devices"), Redirect("/push/devices"), LOGIN,
        LOGIN, form=PUSH_SUBSCRIPTION),
    Row("POST",  "/push/devices/{id}",  Redirect("/push/devices"), 404, LOGIN,      LOGIN,
        form={"alerts": "on", "reminder_at": "06:00"}, fill={"id": "push_device"},
        scope="user"),
    Row("POST",  "/push/devices/{id}/remove", Redirect("/push/devices"), 404, LOGIN, LOGIN,
        form={}, fill={"id": "push_device"},
        scope="user"),
    # Colonies (issue 16): a colony, its queens and events are their owner's alone; the other
    # beekeeper naming the owner's colony, queen or hive finds nothing.
    Row("GET",   "/colonies",                           200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/colonies/{id}",                      200,   404,   LOGIN,    LOGIN,
        fill={"id": "colony"}),
    *[row for slug, form in COLONY_EVENTS.items() for row in (
        Row("GET",  f"/colonies/{{id}}/{slug}",         200,   404,   LOGIN,    LOGIN,
            fill={"id": "colony"}, scope="change"),
        Row("POST", f"/colonies/{{id}}/{slug}", Redirect("/colonies/"), 404, LOGIN, LOGIN,
            form=form, fill={"id": "colony"}),
    )],
    Row("GET",   "/hives/{id}/colony/new",              200,   404,   LOGIN,    LOGIN,
        fill={"id": "free_hive"},
        scope="change"),
    Row("POST",  "/hives/{id}/colony/new", Redirect("/colonies/"), 404, LOGIN,  LOGIN,
        form={"happened_on": TODAY, "name": "Intruder's bees"}, fill={"id": "free_hive"}),
    Row("GET",   "/hives/{id}/swarm-captured",          200,   404,   LOGIN,    LOGIN,
        fill={"id": "free_hive"},
        scope="change"),
    Row("POST",  "/hives/{id}/swarm-captured", Redirect("/colonies/"), 404, LOGIN, LOGIN,
        form={"happened_on": TODAY, "swarm_report_id": "{swarm}"}, fill={"id": "free_hive"},
        keeper=422),
    Row("GET",   "/api/v1/colonies",                    200,   200,   401,      401),
    Row("GET",   "/api/v1/queens",                      200,   200,   401,      401),
    Row("GET",   "/api/v1/queens/{id}",                 200,   404,   401,      401,
        fill={"id": "queen"}),
    Row("GET",   "/api/v1/colony-events",               200,   200,   401,      401),
    Row("POST",  "/api/v1/colony-events",               201,   404,   401,      401,
        json={"kind": "swarm_lost", "colony_id": "{colony}", "happened_on": TODAY}),
    Row("GET",   "/api/v1/colony-events/{id}",          200,   404,   401,      401,
        fill={"id": "colony_event"}),
    Row("GET",   "/api/v1/hives/{id}/boxes",            200,   404,   401,      401),
    Row("PUT",   "/api/v1/hives/{id}/boxes",            200,   404,   401,      401,
        json={"brood_boxes": 2, "supers": 4}),
    Row("GET",   "/hives/tags",                         200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/hives/{id}/boxes",                   200,   404,   LOGIN,    LOGIN,
        scope="change"),
    Row("POST",  "/hives/{id}/boxes",   Redirect("/hives/"), 404,    LOGIN,    LOGIN,
        form={"brood_boxes": "2", "supers": "3"}),
    Row("GET",   "/queens/{id}/edit",                   200,   404,   LOGIN,    LOGIN,
        fill={"id": "queen"},
        scope="change"),
    Row("POST",  "/queens/{id}/edit",  Redirect("/colonies/"), 404,  LOGIN,    LOGIN,
        form={"year": "2025", "status": "dead"}, fill={"id": "queen"}),
    # Apiaries (issue 15): members see their apiary, owners run it; to anyone else it does not
    # exist. A link's secret is its only key: a wrong one is 404 to every signed-in user.
    Row("GET",   "/apiaries",                           200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/apiaries", Redirect("/apiaries/"), Redirect("/apiaries/"), LOGIN, LOGIN,
        form={"name": "Intruder's apiary", "latitude": "52.5", "longitude": "13.4"}),
    Row("GET",   "/apiaries/new",                       200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/apiaries/{id}",                      200,   404,   LOGIN,    LOGIN,
        fill={"id": "apiary"}),
    Row("GET",   "/apiaries/{id}/edit",                 200,   404,   LOGIN,    LOGIN,
        fill={"id": "apiary"}, scope="owner"),
    Row("POST",  "/apiaries/{id}/edit", Redirect("/apiaries/"), 404, LOGIN,     LOGIN,
        form={"name": "Renamed", "latitude": "52.5", "longitude": "13.4"},
        fill={"id": "apiary"}, scope="owner"),
    Row("POST",  "/apiaries/{id}/archive", Redirect("/apiaries/"), 404, LOGIN,  LOGIN,
        form={"archived": "true"}, fill={"id": "apiary"}, scope="owner"),
    # The owner's apiary still has hives: deleting it is refused.
    Row("POST",  "/apiaries/{id}/delete",               422,   404,   LOGIN,    LOGIN,
        form={}, fill={"id": "apiary"}, scope="owner"),
    # The last owner may not leave; a keeper or viewer may.
    Row("POST",  "/apiaries/{id}/leave",                422,   404,   LOGIN,    LOGIN,
        form={}, fill={"id": "apiary"}, keeper=Redirect("/apiaries"),
        viewer=Redirect("/apiaries")),
    Row("POST",  "/apiaries/{id}/members/{user}", Redirect("/apiaries/"), 404, LOGIN, LOGIN,
        form={"role": "viewer"}, fill={"id": "apiary", "user": "keeper_user"}, scope="owner"),
    Row("POST",  "/apiaries/{id}/members/{user}/remove", Redirect("/apiaries/"), 404, LOGIN,
        LOGIN, form={}, fill={"id": "apiary", "user": "keeper_user"}, scope="owner"),
    Row("POST",  "/apiaries/{id}/invitations",          200,   404,   LOGIN,    LOGIN,
        form={"role": "viewer", "days": "7"}, fill={"id": "apiary"}, scope="owner"),
    Row("POST",  "/apiaries/{id}/invitations/{invitation}/revoke", Redirect("/apiaries/"), 404,
        LOGIN, LOGIN, form={}, fill={"id": "apiary", "invitation": "invitation"},
        scope="owner"),
    Row("GET",   "/api/v1/apiaries",                    200,   200,   401,      401),
    Row("POST",  "/api/v1/apiaries",                    201,   201,   401,      401,
        json={"name": "Intruder's apiary", "latitude": 52.5, "longitude": 13.4}),
    Row("GET",   "/api/v1/apiaries/{id}",               200,   404,   401,      401,
        fill={"id": "apiary"}),
    Row("GET",   "/api/v1/apiaries/{id}/members",       200,   404,   401,      401,
        fill={"id": "apiary"}),
    Row("PUT",   "/api/v1/apiaries/{id}/members/{user}", 200,  404,   401,      401,
        json={"role": "viewer"}, fill={"id": "apiary", "user": "keeper_user"}, scope="owner"),
    # Removing the keeper: the owner may, and the keeper (leaving); the viewer may not.
    Row("DELETE", "/api/v1/apiaries/{id}/members/{user}", 204, 404,   401,      401,
        fill={"id": "apiary", "user": "keeper_user"}, scope="owner", keeper=204),
    Row("POST",  "/api/v1/apiaries/{id}/invitations",   201,   404,   401,      401,
        json={"role": "viewer", "days": 7}, fill={"id": "apiary"}, scope="owner"),
    Row("GET",   "/invitations/{token}",                404,   404,   LOGIN,    LOGIN,
        path=f"/invitations/{WRONG_SECRET}"),
    Row("POST",  "/invitations/{token}",                404,   404,   LOGIN,    LOGIN,
        form={}, path=f"/invitations/{WRONG_SECRET}"),
    # The owner's open invitation is a link, addressed to no account: no one accepts it here.
    Row("POST",  "/invitations/{id}/accept",            404,   404,   LOGIN,    LOGIN,
        form={}, fill={"id": "invitation"}, scope="user"),
    Row("POST",  "/invitations/{id}/decline", Redirect("/apiaries"), Redirect("/apiaries"),
        LOGIN, LOGIN, form={}, fill={"id": "invitation"}),
    # Clubs (issue 15): a club is its joined members'; its organisers (the owner, of the owner's
    # club) run it. The apiary's keeper and viewer are in no club: as the other user. The owner
    # was added to another club and has yet to join it (or decline).
    Row("GET",   "/clubs",                              200,   200,   LOGIN,    LOGIN),
    Row("POST",  "/clubs",  Redirect("/clubs/"), Redirect("/clubs/"), LOGIN,    LOGIN,
        form={"name": "Intruder's club"}),
    Row("GET",   "/clubs/new",                          200,   200,   LOGIN,    LOGIN),
    Row("GET",   "/clubs/{id}",                         200,   404,   LOGIN,    LOGIN,
        fill={"id": "club"}, scope="user"),
    Row("POST",  "/clubs/{id}/members", Redirect("/clubs/"), 404,     LOGIN,    LOGIN,
        form={"email": OTHER_EMAIL}, fill={"id": "club"}, scope="owner"),
    Row("POST",  "/clubs/{id}/members/{user}/role", Redirect("/clubs/"), 404, LOGIN, LOGIN,
        form={"role": "organiser"}, fill={"id": "club", "user": "club_member_user"},
        scope="owner"),
    Row("POST",  "/clubs/{id}/members/{user}/remove", Redirect("/clubs/"), 404, LOGIN, LOGIN,
        form={}, fill={"id": "club", "user": "club_member_user"}, scope="owner"),
    # The owner is their club's last organiser: they may not leave it.
    Row("POST",  "/clubs/{id}/leave",                   422,   404,   LOGIN,    LOGIN,
        form={}, fill={"id": "club"}, scope="user"),
    Row("POST",  "/clubs/{id}/accept",  Redirect("/clubs/"), 404,     LOGIN,    LOGIN,
        form={}, fill={"id": "pending_club"}, scope="user"),
    Row("POST",  "/clubs/{id}/decline", Redirect("/clubs"), 404,      LOGIN,    LOGIN,
        form={}, fill={"id": "pending_club"}, scope="user"),
    # The owner gives their apiary to their club; the apiary's keeper and viewer may not.
    Row("POST",  "/apiaries/{id}/club", Redirect("/clubs/"), 404,     LOGIN,    LOGIN,
        form={"club_id": "{club}"}, fill={"id": "apiary"}, scope="owner"),
    # The city (issue 7): public aggregates; forage pressure is for placing one's own hives.
    Row("GET",   "/city",                               200,   200,   200,      200),
    Row("GET",   "/city/density.geojson",               200,   200,   200,      200),
    Row("GET",   "/city/stats",                         200,   200,   200,      200),
    Row("GET",   "/city/forage",                        200,   200,   LOGIN,    LOGIN,
        path="/city/forage?latitude=52.52&longitude=13.405"),
    # The PWA (issue 6): the installable shell is the same for everyone.
    Row("GET",   "/manifest.webmanifest",               200,   200,   200,      200),
    Row("GET",   "/sw.js",                              200,   200,   200,      200),
    Row("GET",   "/offline",                            200,   200,   200,      200),
]
# fmt: on


# --- the callers and what the owner has -------------------------------------------------------


@dataclass
class Caller:
    name: str
    email: str
    cookies: Any  # the session cookie, as the client's jar holds it
    csrf: str
    key: str | None  # sent as Authorization: Bearer


@dataclass
class World:
    client: TestClient
    owner: Caller
    # The other user, anonymous, the revoked key, a member removed from the owner's apiary and
    # its viewer: none of them may change the owner's data.
    others: list[Caller]
    keeper: Caller  # a keeper of the owner's apiary, who may
    owned: dict[str, int]  # the owner's things, by the name a row's `fill` uses
    owner_id: int


async def make_user(db, email: str) -> User:
    user = User(name=email.split("@")[0].title(), email=email, password_hash=PASSWORD_HASH)
    db.add(user)
    await db.commit()
    return user


async def make_key(db, user: User) -> tuple[str, int]:
    made = new_key()
    stored = await key_queries.create_key(
        db, user.id, name="sensor", prefix=made.prefix, key_hash=made.hash
    )
    return made.key, stored.id


async def owners_things(db, owner: User) -> dict[str, int]:
    """One of each thing a route can name, all the owner's."""
    hive = HiveForm(
        name=SECRET_HIVE,
        latitude=52.52,
        longitude=13.405,
        frame_type=FrameType.dadant,
        notes=SECRET_NOTES,
    )
    _, key = await make_key(db, owner)
    hive_id = await hive_queries.create_hive(db, owner.id, hive)
    sensor = Sensor(
        hive_id=hive_id, name="Scale", kind=SensorKind.weight, placement=SensorPlacement.inside
    )
    db.add(sensor)
    await db.flush()
    now = datetime.now(UTC)
    alert = Alert(
        hive_id=hive_id,
        sensor_id=sensor.id,
        kind=AlertKind.swarm,
        message="Weight fell 2.0 kg within 30 minutes: a swarm?",
        started_at=now,
        resolved_at=now,
    )
    db.add(alert)
    device = Device(
        hive_id=hive_id, name="Base", type=DeviceType.beep, key="the-owners-own-device-key"
    )
    db.add(device)
    rule = HiveRule(
        hive_id=hive_id,
        sensor_kind=SensorKind.weight,
        comparison=RuleComparison.rises_by,
        threshold=3.0,
        window_minutes=60,
    )
    db.add(rule)
    await db.commit()
    return {
        "hive": hive_id,
        "key": key,
        "sensor": sensor.id,
        "device": device.id,
        "rule": rule.id,
        "alert": alert.id,
        **await field_log_of(db, owner, hive_id),
        **await medicines_of(db, owner, hive_id),
        "swarm": await claimed_swarm(db, owner),
        "push_device": await push_device(db, owner),
        **await colonies_of(db, owner, hive_id),
        **await apiary_of_owner(db, owner, hive_id),
        **await club_of_owner(db, owner),
    }


async def apiary_of_owner(db, owner: User, hive_id: int) -> dict[str, int]:
    """The apiary of the owner's hives, and an open invitation into it (a link)."""
    apiary = (await db.get(Hive, hive_id)).apiary_id
    await apiary_queries.invite(db, apiary, owner.id, InvitationForm(role=ApiaryRole.keeper))
    invitation = await db.scalar(select(ApiaryInvitation.id))
    return {"apiary": apiary, "invitation": invitation}


async def club_of_owner(db, owner: User) -> dict[str, int]:
    """The owner's club, with a member (to change or remove), and a club whose organiser has
    added the owner, who has not yet joined it."""
    club = await club_queries.create_club(db, owner.id, "The owner's club")
    member = await make_user(db, "club.member@example.org")
    organiser = await make_user(db, "organiser@example.org")
    pending = await club_queries.create_club(db, organiser.id, "Another club")
    db.add_all(
        [
            ClubMember(
                club_id=club,
                user_id=member.id,
                role=ClubRole.member,
                invited_by=owner.id,
                joined_at=datetime.now(UTC),
            ),
            ClubMember(
                club_id=pending, user_id=owner.id, role=ClubRole.member, invited_by=organiser.id
            ),
        ]
    )
    await db.commit()
    return {"club": club, "club_member_user": member.id, "pending_club": pending}


async def colonies_of(db, owner: User, hive_id: int) -> dict[str, int]:
    """The colony in the owner's hive with its queen, another colony in a second hive (to
    unite), and an empty hive (for a new colony or a captured swarm)."""
    today = date.today()
    hives = {}
    for name in ("second", "free"):
        form = HiveForm(
            name=f"{SECRET_HIVE} {name}",
            latitude=52.52,
            longitude=13.405,
            frame_type=FrameType.dadant,
        )
        hives[name] = await hive_queries.create_hive(db, owner.id, form)
    made = []
    for hive in (hive_id, hives["second"]):
        stored = await db.get(Hive, hive)
        made.append(
            await colony_queries.start(
                db, owner.id, stored, StartForm(happened_on=today, note=SECRET_NOTES), today
            )
        )
    await colony_queries.requeen(db, made[0], RequeenForm(happened_on=today, year=2025), today)
    await colony_queries.save_boxes(db, hive_id, BoxesForm(brood_boxes=1, supers=2))
    await db.commit()
    queen = (await db.execute(select(Queen.id))).scalar_one()
    event = await db.scalar(select(ColonyEvent.id).where(ColonyEvent.colony_id == made[0].id))
    return {
        "colony_event": event,
        "colony": made[0].id,
        "other_colony": made[1].id,
        "free_hive": hives["free"],
        "queen": queen,
    }


async def push_device(db, owner: User) -> int:
    """The owner's phone, notified of everything."""
    device = PushSubscription(
        user_id=owner.id,
        endpoint="https://push.example.net/send/owners-phone",
        p256dh="B" + "O" * 86,
        auth="b3duZXJzLWF1dGgtc2VjcmV0",
    )
    db.add(device)
    await db.commit()
    return device.id


async def medicines_of(db, owner: User, hive_id: int) -> dict[str, int]:
    """A batch in stock and a treatment from it, long over (so a harvest today is allowed),
    with the owner's secret notes."""
    long_ago = date.today() - timedelta(days=400)
    purchase = await treatment_queries.create_purchase(
        db,
        owner.id,
        PurchaseForm.model_validate(PURCHASE_FORM | {"purchased_on": long_ago.isoformat()}),
    )
    treatment = await treatment_queries.create_treatment(
        db,
        owner.id,
        TreatmentForm.model_validate(
            TREATMENT_FORM
            | {
                "hive_ids": [hive_id],
                "purchase_id": purchase.id,
                "started_on": long_ago.isoformat(),
                "notes": SECRET_NOTES,
            }
        ),
    )
    disposal = await treatment_queries.create_disposal(
        db,
        owner.id,
        purchase.id,
        DisposalForm(disposed_on=long_ago, quantity=Decimal(1), how=SECRET_NOTES),
    )
    await proofs.keep_proof(db, purchase.id, "application/pdf", "receipt.pdf", b"%PDF-1.7\n")
    await db.commit()
    return {"purchase": purchase.id, "treatment": treatment.id, "disposal": disposal.id}


async def field_log_of(db, owner: User, hive_id: int) -> dict[str, int]:
    """A recorded inspection, a scheduled one (the `inspection` rows name), a harvest and a
    calendar feed, all with the owner's secret notes."""
    done_at = datetime.now(UTC) - timedelta(days=2)
    await field_log.record(
        db, hive_id, InspectionForm(done_at=done_at, notes=SECRET_NOTES), by=owner.id
    )
    scheduled = await field_log.schedule(
        db,
        hive_id,
        ScheduleForm(scheduled_for=date.today() + timedelta(days=3), schedule_note=SECRET_NOTES),
        by=owner.id,
    )
    harvest = HarvestForm(
        harvested_on=date.today(), hive_ids=[hive_id], total_kg=12, notes=SECRET_NOTES
    )
    harvest_id = await field_log.create_harvest(db, owner.id, harvest)
    await field_log.set_calendar_secret(db, owner.id, "the-owners-own-calendar-secret")
    await db.commit()
    return {"inspection": scheduled, "harvest": harvest_id}


async def claimed_swarm(db, owner: User) -> int:
    """A swarm report the owner, a collector, has claimed: its contact is theirs to see."""
    await swarm_queries.save_collector(
        db, owner.id, CollectorForm(latitude=52.52, longitude=13.4, radius_km=5)
    )
    report = SwarmReportForm(
        latitude=52.521, longitude=13.41, description="On the fence", contact=SECRET_CONTACT
    )
    await swarm_queries.create_report(
        db, report, address="192.0.2.7", expires_in=timedelta(hours=48)
    )
    swarm_id = (await db.execute(select(SwarmReport.id))).scalar_one()
    assert await swarm_queries.claim(db, swarm_id, owner.id) is None
    return swarm_id


async def session_of(client: TestClient, email: str | None) -> tuple[Any, str]:
    """A fresh session, signed in as `email` (or anonymous): its cookies and CSRF token."""
    client.session.cookie_jar.clear()
    if email is not None:
        await log_in(client, email)
    token = await csrf_token(client, "/profile" if email else "/login")
    return client.session.cookie_jar.filter_cookies(client.make_url("/")), token


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The limits on wrong log-ins and swarm reports, above the seven callers a row has: the
    table is about who may, the limits have tests of their own (test_protection.py)."""
    return settings.model_copy(
        update={"login_max_failures_per_account": 50, "swarm_reports_per_address": 50}
    )


async def build_world(client, db) -> World:
    """Seven callers, their sessions and keys, and one of each of the owner's things."""
    owner = await make_user(db, OWNER_EMAIL)
    other = await make_user(db, OTHER_EMAIL)
    owned = await owners_things(db, owner)
    owner_key, _ = await make_key(db, owner)
    other_key, _ = await make_key(db, other)
    revoked_key, revoked_id = await make_key(db, owner)
    await key_queries.revoke_key(db, owner.id, revoked_id)

    members = {}
    for role in ("keeper", "viewer", "removed"):
        member = await make_user(db, f"{role}@example.org")
        await share(db, owned["hive"], member.id, "viewer" if role == "removed" else role)
        members[role] = Caller(
            role if role != "removed" else "removed member",
            member.email,
            *await session_of(client, member.email),
            (await make_key(db, member))[0],
        )
        owned[f"{role}_user"] = member.id
    await db.execute(
        text("DELETE FROM apiary_members WHERE user_id = :removed"),
        {"removed": owned["removed_user"]},
    )
    await db.commit()
    anonymous_session = await session_of(client, None)
    return World(
        client=client,
        owner=Caller("owner", OWNER_EMAIL, *await session_of(client, OWNER_EMAIL), owner_key),
        others=[
            Caller("other", OTHER_EMAIL, *await session_of(client, OTHER_EMAIL), other_key),
            Caller("anonymous", "anonymous@example.org", *anonymous_session, None),
            Caller("revoked key", "anonymous@example.org", *anonymous_session, revoked_key),
            members["removed"],
            members["viewer"],
        ],
        keeper=members["keeper"],
        owned=owned,
        owner_id=owner.id,
    )


# Building the world took about half a second of every test of this file, 860 times (seven
# sign-ups and log-ins, one of each thing through the queries): a worker builds it once, keeps a
# copy of its rows in a schema of their own, and each later test starts from the same rows put
# back (a few milliseconds). The callers' cookies and tokens stay valid: their sessions' rows
# are among the rows, and every test's app has the same secret key.
SAVED_SCHEMA = "access_matrix_world"


@dataclass
class SavedWorld:
    world: World
    tables: list[tuple[str, str]]  # each non-empty table and its columns (not the generated ones)
    sequences: list[tuple[str, int]]  # each used sequence and its value


saved_worlds: list[SavedWorld] = []  # this worker's, once built


async def save_world(db, world: World) -> SavedWorld:
    await db.execute(text(f"DROP SCHEMA IF EXISTS {SAVED_SCHEMA} CASCADE"))
    await db.execute(text(f"CREATE SCHEMA {SAVED_SCHEMA}"))
    tables = []
    for table in Base.metadata.sorted_tables:  # parents before children
        if table.name == "spatial_ref_sys" or not await db.scalar(
            text(f'SELECT EXISTS (SELECT FROM "{table.name}")')  # noqa: S608 - our own tables
        ):
            continue
        columns = await db.scalar(
            text(
                "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)"
                " FROM information_schema.columns WHERE table_schema = 'public'"
                " AND table_name = :name AND is_generated = 'NEVER'"
            ),
            {"name": table.name},
        )
        name = f'"{table.name}"'
        copy = f"CREATE TABLE {SAVED_SCHEMA}.{name} AS SELECT {columns} FROM {name}"  # noqa: S608
        await db.execute(text(copy))
        tables.append((table.name, columns))
    sequences = (
        await db.execute(
            text(
                "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences"
                " WHERE schemaname = 'public' AND last_value IS NOT NULL"
            )
        )
    ).all()
    await db.commit()
    return SavedWorld(world, tables, [(name, value) for name, value in sequences])


async def restore_world(connection: asyncpg.Connection, saved: SavedWorld) -> None:
    """The tables emptied and the saved rows put back, as they were (no trigger runs again: the
    copies of what the triggers wrote are among them), and the sequences where they were: one
    script, one round trip, on the worker's own connection (a new one spent twice as long)."""
    script = [
        "BEGIN",
        FORGET_PLANS,
        emptying_sql().rstrip().rstrip(";"),
        "SET LOCAL session_replication_role = replica",
    ]
    script += [
        f'INSERT INTO "{name}" ({columns}) OVERRIDING SYSTEM VALUE'  # noqa: S608
        f' SELECT {columns} FROM {SAVED_SCHEMA}."{name}"'
        for name, columns in saved.tables
    ]
    script += [f"SELECT setval('{sequence}', {value})" for sequence, value in saved.sequences]
    await connection.execute(";\n".join([*script, "COMMIT"]))


@pytest.fixture(scope="module", autouse=True)
async def drop_saved_world(worker_connection: asyncpg.Connection) -> AsyncIterator[None]:
    yield
    if saved_worlds:
        saved_worlds.clear()
        await worker_connection.execute(f"DROP SCHEMA IF EXISTS {SAVED_SCHEMA} CASCADE")


@pytest.fixture
async def clean_database(worker_connection: asyncpg.Connection) -> None:
    """Empty tables for the test that builds the world; after it, the world's restore empties
    them itself."""
    if not saved_worlds:
        await worker_connection.execute(emptying_sql())


@pytest.fixture
async def world(client, db, worker_connection: asyncpg.Connection) -> World:
    if not saved_worlds:
        built = await build_world(client, db)
        saved_worlds.append(await save_world(db, built))
        return built
    saved = saved_worlds[0]
    await restore_world(worker_connection, saved)
    return replace(saved.world, client=client)


async def call(world: World, row: Row, caller: Caller, headers: Mapping[str, str] | None = None):
    """The row's request as `caller`, with any further `headers`; redirects are not followed."""
    client = world.client
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies(caller.cookies)
    path = row.path or row.route.format(**{p: world.owned[thing] for p, thing in row.fill.items()})
    sent = dict(headers or {})
    if caller.key:
        sent["Authorization"] = f"Bearer {caller.key}"
    options: dict[str, Any] = {"headers": sent, "allow_redirects": False}
    if row.form is not None:
        filled = {
            name: value.format(email=caller.email, **world.owned)
            for name, value in row.form.items()
        }
        options["data"] = {**filled, "_csrf": caller.csrf}
    if row.json is not None:
        options["json"] = with_ids(row.json, world.owned)
    return await client.request(row.method, path, **options)


def with_ids(value: Any, owned: Mapping[str, int]) -> Any:
    """A row's JSON with each string "{thing}" replaced by the id of the owner's thing."""
    if isinstance(value, Mapping):
        return {name: with_ids(item, owned) for name, item in value.items()}
    if isinstance(value, list):
        return [with_ids(item, owned) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.strip("{}") in owned:
        return owned[value.strip("{}")]
    return value


async def readable(response) -> str:
    """What a response shows, as text: a zip's files are read out of it."""
    body = await response.read()
    if response.content_type == "application/zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            body = b"".join(archive.read(name) for name in archive.namelist())
    return body.decode(errors="replace")


def expectation(row: Row, caller: Caller) -> Expect:
    if caller.name in ("keeper", "viewer"):
        return row.member(caller.name)
    if caller.name == "removed member":
        return row.other
    column = caller.name.replace(" ", "_")
    expected: Expect = getattr(row, column)
    return expected


def assert_answer(response, expected: Expect, who: str) -> None:
    if isinstance(expected, Redirect):
        location = response.headers.get("Location", "")
        assert (response.status, location.startswith(expected.to)) == (303, True), (
            f"{who}: expected {expected}, got {response.status} → {location!r}"
        )
    else:
        assert response.status == expected, f"{who}: expected {expected}, got {response.status}"


async def owners_state(db, owner_id: int) -> list[Any]:
    """All the owner's rows, as values: what no one else may change."""
    queries = [
        "SELECT name, email, password_hash, language FROM users WHERE id = :owner",
        "SELECT token_hash, signed_in_at FROM user_sessions WHERE user_id = :owner ORDER BY 1",
        "SELECT id, name, notes, status::text, ST_AsText(location), apiary_id, frame_type::text"
        " FROM hives WHERE owner_id = :owner ORDER BY id",
        "SELECT a.* FROM apiaries a JOIN apiary_members m ON m.apiary_id = a.id"
        " WHERE m.user_id = :owner ORDER BY a.id",
        # (a viewer's own row may go: a viewer may leave)
        "SELECT m.apiary_id, m.user_id, m.role::text FROM apiary_members m"
        " WHERE m.apiary_id IN (SELECT apiary_id FROM apiary_members WHERE user_id = :owner)"
        " AND m.role <> 'viewer' ORDER BY 1, 2",
        "SELECT i.id, i.used_at, i.revoked_at FROM apiary_invitations i"
        " WHERE i.invited_by = :owner ORDER BY i.id",
        "SELECT c.* FROM clubs c WHERE c.id IN"
        " (SELECT club_id FROM club_members WHERE user_id = :owner) ORDER BY c.id",
        "SELECT m.club_id, m.user_id, m.role::text, m.joined_at FROM club_members m"
        " WHERE m.club_id IN (SELECT club_id FROM club_members WHERE user_id = :owner)"
        " ORDER BY 1, 2",
        "SELECT id, revoked_at FROM api_keys WHERE user_id = :owner ORDER BY id",
        "SELECT s.id, s.name, s.placement::text, s.last_reading_at FROM sensors s"
        " JOIN hives h ON h.id = s.hive_id WHERE h.owner_id = :owner ORDER BY s.id",
        "SELECT z.kind::text, z.months, z.hours FROM alert_sleeps z JOIN hives h"
        " ON h.id = z.hive_id WHERE h.owner_id = :owner ORDER BY 1",
        "SELECT d.id, d.name, d.key, d.weight_offset, d.weight_multiplier FROM devices d"
        " JOIN hives h ON h.id = d.hive_id WHERE h.owner_id = :owner ORDER BY d.id",
        "SELECT r.* FROM alert_rules r JOIN hives h ON h.id = r.hive_id WHERE h.owner_id = :owner",
        "SELECT r.id, r.sensor_kind::text, r.comparison::text, r.threshold, r.window_minutes,"
        " r.months, r.hours, r.enabled FROM hive_rules r JOIN hives h ON h.id = r.hive_id"
        " WHERE h.owner_id = :owner ORDER BY r.id",
        "SELECT a.id, a.acknowledged_at FROM alerts a JOIN hives h ON h.id = a.hive_id"
        " WHERE h.owner_id = :owner ORDER BY a.id",
        "SELECT w.url FROM alert_webhooks w WHERE w.user_id = :owner",
        "SELECT i.* FROM inspections i JOIN hives h ON h.id = i.hive_id"
        " WHERE h.owner_id = :owner ORDER BY i.id",
        "SELECT id, harvested_on, total_kg, notes FROM harvests WHERE owner_id = :owner",
        "SELECT s.hive_id, s.kg FROM harvest_shares s JOIN harvests h ON h.id = s.harvest_id"
        " WHERE h.owner_id = :owner ORDER BY s.hive_id",
        "SELECT secret_hash FROM calendar_feeds WHERE user_id = :owner",
        "SELECT * FROM medicine_purchases WHERE owner_id = :owner ORDER BY id",
        "SELECT f.purchase_id, f.sha256, f.uploaded_at FROM purchase_proofs f"
        " JOIN medicine_purchases p ON p.id = f.purchase_id WHERE p.owner_id = :owner",
        "SELECT d.* FROM medicine_disposals d JOIN medicine_purchases p ON p.id = d.purchase_id"
        " WHERE p.owner_id = :owner ORDER BY d.id",
        "SELECT * FROM treatments WHERE owner_id = :owner ORDER BY id",
        "SELECT t.* FROM treated_hives t JOIN treatments r ON r.id = t.treatment_id"
        " WHERE r.owner_id = :owner ORDER BY t.id",
        "SELECT ST_AsText(location), radius_m FROM swarm_collectors WHERE user_id = :owner",
        "SELECT id, status::text, outcome::text, claimed_at, closed_at FROM swarm_reports"
        " WHERE claimed_by = :owner ORDER BY id",
        "SELECT report_id, kind::text, at FROM swarm_claim_events WHERE collector_id = :owner"
        " ORDER BY id",
        "SELECT id, endpoint, swarms, alerts, reminders, reminder_at FROM push_subscriptions"
        " WHERE user_id = :owner ORDER BY id",
        "SELECT * FROM colonies WHERE owner_id = :owner ORDER BY id",
        "SELECT b.* FROM hive_boxes b JOIN hives h ON h.id = b.hive_id"
        " WHERE h.owner_id = :owner ORDER BY b.hive_id",
        "SELECT * FROM queens WHERE owner_id = :owner ORDER BY id",
        "SELECT e.* FROM colony_events e JOIN colonies c ON c.id = e.colony_id"
        " WHERE c.owner_id = :owner ORDER BY e.id",
    ]
    state = []
    for query in queries:
        state.append((await db.execute(text(query), {"owner": owner_id})).all())
    await db.commit()  # a fresh snapshot next time
    return state


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("row", MATRIX, ids=str)
async def test_each_caller_gets_the_answer_in_the_table(
    row: Row, world: World, db, worker_connection: asyncpg.Connection
):
    before = await owners_state(db, world.owner_id)
    for caller in world.others:
        who = f"{row} as {caller.name}"
        response = await call(world, row, caller)
        assert_answer(response, expectation(row, caller), who)
        assert_security_headers(response.headers)
        if caller.name == "viewer":  # a member: the apiary's hives are theirs to read
            continue
        body = await readable(response)
        for secret in SECRETS:
            assert secret not in body, f"{who}: the answer shows the owner's {secret!r}"
    assert await owners_state(db, world.owner_id) == before, f"{row}: a non-owner changed data"

    response = await call(world, row, world.owner)
    assert_answer(response, row.owner, f"{row} as owner")
    assert_security_headers(response.headers)

    # A keeper of the owner's apiary may do what the owner may with its hives and records: asked
    # of the world as it was (what the owner's request changed would change the keeper's answer).
    await restore_world(worker_connection, saved_worlds[0])
    response = await call(world, row, world.keeper)
    assert_answer(response, row.member("keeper"), f"{row} as keeper")
    assert_security_headers(response.headers)


def routes_of(app) -> set[tuple[str, str]]:
    """Every (method, route) the app serves. HEAD is GET's twin, added by aiohttp for each GET."""
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def test_every_route_has_a_row(settings):
    served = routes_of(create_app(settings))
    tabled = {(row.method, row.route) for row in MATRIX}
    missing = sorted(served - tabled)
    assert not missing, "add a row to MATRIX for:\n" + "\n".join(f"{m} {r}" for m, r in missing)
    gone = sorted(tabled - served)
    assert not gone, "MATRIX has rows for routes the app no longer serves:\n" + "\n".join(
        f"{m} {r}" for m, r in gone
    )
    assert len(tabled) == len(MATRIX), "a route has two rows"


async def test_an_id_beyond_any_stored_one_is_not_found(world: World):
    """Routes take ids as digits; one too large for the database's integer names nothing."""
    huge = "9" * 12
    owner = world.owner
    for method, path in [
        ("GET", f"/hives/{huge}"),
        ("POST", f"/hives/{huge}/edit"),
        ("POST", f"/profile/api-keys/{huge}/revoke"),
        ("GET", f"/api/v1/hives/{huge}"),
        ("DELETE", f"/api/v1/hives/{huge}"),
        ("GET", f"/inspections/{huge}"),
        ("POST", f"/harvests/{huge}/delete"),
        ("GET", f"/api/v1/inspections/{huge}"),
        ("GET", f"/api/v1/harvests/{huge}"),
        ("GET", f"/swarms/{huge}"),
        ("GET", f"/hives/{huge}/sensors"),
        ("GET", f"/colonies/{huge}"),
        ("POST", f"/colonies/{huge}/split"),
        ("GET", f"/queens/{huge}/edit"),
        ("GET", f"/api/v1/queens/{huge}"),
        ("GET", f"/api/v1/colony-events/{huge}"),
    ]:
        row = Row(method, path, 404, 404, 404, 404, form={} if method == "POST" else None, fill={})
        response = await call(world, row, owner)
        assert response.status == 404, f"{method} {path}: {response.status}"


async def test_the_owner_sees_what_no_one_else_may(world: World):
    """The secrets the table looks for are in the owner's own answers: so their absence from
    everyone else's means something."""
    pages = {
        "/swarms/{swarm}": [SECRET_CONTACT],
        "/hives/{hive}": [SECRET_HIVE, SECRET_NOTES],
        "/hives/tags": [SECRET_HIVE],
        "/harvests/{harvest}": [SECRET_NOTES],
        "/exports/cityhive-export.zip": [SECRET_HIVE, SECRET_NOTES],
    }
    for page, secrets in pages.items():
        row = Row("GET", page, 200, 404, 404, 404, fill={}, path=page.format(**world.owned))
        response = await call(world, row, world.owner)
        body = await readable(response)
        assert response.status == 200, page
        for secret in secrets:
            assert secret in body, f"{page}: the owner does not see {secret!r}"

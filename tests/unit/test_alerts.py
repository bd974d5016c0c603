"""Alerts: raised as readings arrive (swarm, temperature, humidity, battery), by the periodic
offline check, once per event; acknowledged by the user; posted to their webhook; told of in a
toast."""

from __future__ import annotations

import asyncio
import contextvars
import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import pytest
from aiohttp import web
from babel.dates import get_month_names
from sqlalchemy import select, text

from app.keys import deliveries_key, settings_key, webhook_client_key
from app.main import create_app
from app.models import Alert, AlertKind, AlertRules, SensorKind, SensorPlacement
from app.sensors.alerts import (
    Limits,
    condition_message,
    episodes,
    shown_message,
    swarm_message,
)
from app.sensors.ingest import OwnedSensor
from app.sensors.maintenance import make_partitions, upkeep
from app.sensors.queries import open_alerts_of
from app.sensors.schemas import DEFAULT_RULES, Sleep
from app.sensors.webhooks import (
    NOT_DELIVERED,
    PRIVATE_REFUSED,
    client_session,
    outcome_text,
    post,
    url_problem,
)
from app.web import i18n
from app.web.formatting import local
from tests.unit.conftest import csrf_token, log_in, make_user
from tests.unit.test_sensors import NOW, api_key, make_hive, make_sensor, reading

# --- set-up ----------------------------------------------------------------------------------


@pytest.fixture
async def hive(db, user) -> int:
    return await make_hive(db, user.id)


@pytest.fixture
async def auth(db, user) -> dict[str, str]:
    headers, _ = await api_key(db, user.id)
    return headers


async def send(client, auth, readings: list) -> dict:
    response = await client.post("/api/v1/readings", json={"readings": readings}, headers=auth)
    assert response.status == 200, await response.text()
    return await response.json()


async def alerts(db, kind: AlertKind | None = None) -> list[Alert]:
    selection = select(Alert).order_by(Alert.id).execution_options(populate_existing=True)
    if kind is not None:
        selection = selection.where(Alert.kind == kind)
    return list(await db.scalars(selection))


def weights(start: float, minutes: range, drops: dict[int, float] | None = None):
    """A hive's weight every 5 minutes, wobbling by a few grams (wind, bees coming and going).
    `drops` maps minutes-ago to kg: from then on the hive is that much lighter, lost over two
    5-minute steps (a swarm leaving takes about ten minutes)."""
    noise = random.Random(5)
    series = []
    for ago in minutes:
        value = start + noise.uniform(-0.05, 0.05)
        for drop_at, drop in (drops or {}).items():
            if ago <= drop_at:
                value -= drop * min(1.0, (drop_at - ago + 5) / 10)
        series.append((ago, round(value, 3)))
    return series


async def finish_deliveries(app: web.Application) -> None:
    """Wait for the background webhook deliveries in flight."""
    while pending := set(app[deliveries_key]):
        await asyncio.wait(pending, timeout=10)


# --- swarms ------------------------------------------------------------------------------------


async def test_a_two_kilo_drop_in_ten_minutes_raises_exactly_one_swarm_alert(
    client, db, auth, hive
):
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    series = weights(45.0, range(180, -1, -5), {90: 2.0})
    batch = [reading(scale, ago, value) for ago, value in series]
    # Two batches, the second overlapping the first: the drop is seen from many readings.
    await send(client, auth, batch[:22])
    await send(client, auth, batch[15:])
    await send(client, auth, batch)  # a replay
    [swarm] = await alerts(db)
    assert swarm.kind == AlertKind.swarm
    assert (swarm.hive_id, swarm.sensor_id) == (hive, scale)
    assert swarm.started_at == NOW - timedelta(minutes=85)
    assert swarm.message.startswith("Weight fell 2.0 kg within 30 minutes (from 45.0 to 43.0")
    assert swarm.message.endswith(": a swarm?")
    assert swarm.acknowledged_at is None
    metrics = await (await client.get("/metrics")).text()
    assert 'cityhive_alerts_raised_total{kind="swarm"} 1.0' in metrics


async def test_slow_losses_and_small_drops_are_not_swarms(client, db, auth, hive):
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    # 3 kg over three hours (honey eaten, water evaporated), and a lid lifted for a minute.
    slow = [reading(scale, ago, 45.0 - (180 - ago) / 60) for ago in range(180, -1, -5)]
    await send(client, auth, slow)
    small = weights(45.0, range(180, -1, -5), {60: 1.2})
    other = await make_sensor(db, hive, SensorKind.weight, name="Scale two")
    await send(client, auth, [reading(other, ago, value) for ago, value in small])
    assert await alerts(db) == []


async def test_two_swarms_hours_apart_are_two_alerts(client, db, auth, hive):
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    series = weights(45.0, range(300, -1, -5), {240: 2.0, 60: 1.8})
    await send(client, auth, [reading(scale, ago, value) for ago, value in series])
    swarms = await alerts(db, AlertKind.swarm)
    assert [alert.started_at for alert in swarms] == [
        NOW - timedelta(minutes=235),
        NOW - timedelta(minutes=55),
    ]


async def test_the_hives_own_swarm_rule_applies(client, db, auth, hive):
    db.add(
        AlertRules(
            hive_id=hive,
            swarm_drop_kg=2.5,
            swarm_window_minutes=30,
            temperature_min=None,
            temperature_max=None,
            humidity_min=None,
            humidity_max=None,
            offline_hours=3,
            battery_min_volts=3.4,
        )
    )
    await db.commit()
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    series = weights(45.0, range(120, -1, -5), {60: 2.0})
    await send(client, auth, [reading(scale, ago, value) for ago, value in series])
    assert await alerts(db) == []


# --- lasting conditions ------------------------------------------------------------------------


async def test_too_hot_inside_is_one_alert_until_it_cools_down(client, db, auth, hive):
    brood = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    air = await make_sensor(db, hive, SensorKind.temperature, SensorPlacement.outside, name="Air")
    temperatures = [34.5, 35.0, 41.0, 42.5, 40.5, 41.0, 39.5, 38.0, 35.0, 34.8]
    await send(client, auth, [reading(brood, 100 - 5 * i, t) for i, t in enumerate(temperatures)])
    await send(client, auth, [reading(air, 100 - 5 * i, 45.0) for i in range(10)])  # weather
    [hot] = await alerts(db)
    assert (hot.kind, hot.sensor_id) == (AlertKind.temperature, brood)
    assert hot.message == "Temperature inside reached 41.0 °C (above 40 °C)."
    assert hot.started_at == NOW - timedelta(minutes=90)
    assert hot.resolved_at == NOW - timedelta(minutes=65)  # 38.0: a degree under the limit

    # Hot again, in two batches: a second alert, open while it lasts.
    await send(client, auth, [reading(brood, 3, 41.5)])
    await send(client, auth, [reading(brood, 2, 43.0), reading(brood, 1, 39.5)])
    first, second = await alerts(db)
    assert first.id == hot.id
    assert (second.started_at, second.resolved_at) == (NOW - timedelta(minutes=3), None)
    # Cooling down clears it.
    await send(client, auth, [reading(brood, 0, 35.0)])
    assert (await alerts(db))[1].resolved_at == NOW


async def test_too_dry_or_low_battery_raise_their_own_alerts(client, db, auth, hive):
    humidity = await make_sensor(db, hive, SensorKind.humidity, name="Humidity")
    battery = await make_sensor(
        db, hive, SensorKind.battery, SensorPlacement.outside, name="Battery"
    )
    await send(
        client,
        auth,
        [reading(humidity, 10, 55.0), reading(humidity, 5, 22.0), reading(battery, 5, 3.31)],
    )
    dry, low = sorted(await alerts(db), key=lambda alert: alert.kind.value)[::-1]
    assert (dry.kind, dry.message) == (
        AlertKind.humidity,
        "Humidity inside fell to 22 % (below 30 %).",
    )
    assert (low.kind, low.message) == (
        AlertKind.battery,
        "Battery at 3.31 V (below 3.4 V): charge or replace it.",
    )
    await send(client, auth, [reading(battery, 4, 3.45)])  # not yet well above the limit
    assert (await alerts(db, AlertKind.battery))[0].resolved_at is None
    await send(client, auth, [reading(battery, 3, 3.9)])  # charged
    assert (await alerts(db, AlertKind.battery))[0].resolved_at == NOW - timedelta(minutes=3)


def test_episodes_need_a_margin_to_clear():
    limits = Limits(low=None, high=40.0, margin=1.0)

    def at(minute: int, value: float) -> tuple[datetime, float]:
        return NOW + timedelta(minutes=minute), value

    hovering = [at(0, 40.5), at(1, 39.8), at(2, 40.2), at(3, 39.5)]
    cleared, found = episodes(hovering, limits, active=False)
    assert cleared is None
    assert found == [episodes_of(NOW, 40.5, None)]
    cleared, found = episodes([at(0, 38.0), at(1, 41.0)], limits, active=True)
    assert cleared == NOW
    assert found == [episodes_of(NOW + timedelta(minutes=1), 41.0, None)]


def episodes_of(start: datetime, value: float, cleared: datetime | None):
    from app.sensors.alerts import Episode

    return Episode(start, value, cleared)


# --- offline -----------------------------------------------------------------------------------


async def test_a_device_gone_quiet_raises_one_offline_alert_until_it_is_back(
    client, db, user, auth, hive
):
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    probe = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    quiet = await make_hive(db, user.id, "Never wired")
    await make_sensor(db, quiet, SensorKind.weight, name="Scale")  # no readings ever
    await send(client, auth, [reading(scale, 60, 45.0), reading(probe, 30, 35.0)])

    later = datetime.now(UTC) + timedelta(hours=2)
    assert await upkeep(client.app, later) == []  # silent for 2.5 hours: not yet
    much_later = datetime.now(UTC) + timedelta(hours=4)
    [raised] = await upkeep(client.app, much_later)
    assert (raised.kind, raised.hive_id, raised.sensor_id) == (AlertKind.offline, hive, None)
    assert raised.message == "No readings for more than 3 hours: is the device offline?"
    assert raised.started_at == NOW - timedelta(minutes=30)  # the last reading
    assert await upkeep(client.app, much_later + timedelta(hours=1)) == []  # once per event

    await send(client, auth, [reading(probe, 0, 35.0)])  # back
    [offline] = await alerts(db, AlertKind.offline)
    assert offline.resolved_at is not None
    assert await upkeep(client.app, datetime.now(UTC) + timedelta(hours=1)) == []


async def test_the_offline_check_runs_by_itself(aiohttp_client, settings, db, user, hive):
    frequent = settings.model_copy(update={"sensor_check_seconds": 0.05})
    client = await aiohttp_client(create_app(frequent))
    headers, _ = await api_key(db, user.id)
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    await send(client, headers, [reading(scale, 5 * 60, 45.0)])  # five hours ago
    for _ in range(100):
        if await alerts(db, AlertKind.offline):
            break
        await asyncio.sleep(0.05)  # the app's own timer raises it: no event to wait on
    [offline] = await alerts(db, AlertKind.offline)
    assert offline.hive_id == hive


async def test_the_upkeep_keeps_partitions_ahead(client, db):
    ahead = datetime.now(UTC) + timedelta(days=500)
    made = await make_partitions(client.app, ahead)
    assert made >= 4
    name = f"readings_p{(ahead + timedelta(days=92)).strftime('%Y_%m')}"
    assert await db.scalar(text("SELECT to_regclass(:name)::text"), {"name": name}) == name
    assert await make_partitions(client.app, ahead) == 0


# --- seeing and acknowledging ------------------------------------------------------------------


@pytest.fixture
async def swarm(client, db, auth, hive) -> Alert:
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    series = weights(45.0, range(60, -1, -5), {30: 2.0})
    await send(client, auth, [reading(scale, ago, value) for ago, value in series])
    [alert] = await alerts(db)
    return alert


async def test_open_alerts_are_listed_newest_first_with_their_hive(
    logged_in, db, auth, user, hive, swarm
):
    probe = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    await send(logged_in, auth, [reading(probe, 1, 45.0)])
    listed = await open_alerts_of(db, user.id)
    assert [(a.kind, a.hive_name) for a in listed] == [
        (AlertKind.temperature, "Rooftop One"),
        (AlertKind.swarm, "Rooftop One"),
    ]
    assert [a.sensor_name for a in listed] == ["Brood", "Scale"]
    other = await make_user(db, name="Bea", email="bea@example.org")
    assert await open_alerts_of(db, other.id) == []

    env = aiohttp_jinja2.get_env(logged_in.app)
    section = env.get_template("partials/sensors/today_alerts.html").render(
        alerts=listed, csrf_token="token", current_path="/"
    )
    assert section.count('<li class="alert-item') == 2
    assert f'action="/alerts/{swarm.id}/acknowledge"' in section
    assert 'name="_csrf" value="token"' in section
    assert 'Acknowledge<span class="visually-hidden"> the swarm alert of Rooftop One' in section
    empty = env.get_template("partials/sensors/today_alerts.html").render(
        alerts=[], csrf_token="token", current_path="/"
    )
    assert "No alerts: your sensors are quiet." in empty

    page = await (await logged_in.get(f"/hives/{hive}")).text()
    assert "Weight fell 2.0 kg" in page
    api = await (await logged_in.get("/api/v1/alerts", headers=auth)).json()
    assert [item["kind"] for item in api["items"]] == ["temperature", "swarm"]
    assert api["items"][1]["path"] == f"/hives/{hive}"


async def test_acknowledging_without_javascript_goes_back_to_the_page(
    logged_in, db, user, hive, swarm
):
    token = await csrf_token(logged_in, "/alerts")
    response = await logged_in.post(
        f"/alerts/{swarm.id}/acknowledge",
        data={"_csrf": token, "next": f"/hives/{hive}"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/hives/{hive}"
    assert (await alerts(db))[0].acknowledged_at is not None
    assert await open_alerts_of(db, user.id) == []
    page = await (await logged_in.get("/alerts")).text()
    assert "Acknowledged lately" in page
    assert '<p class="alert-item__done">Acknowledged</p>' in page
    elsewhere = await logged_in.post(
        f"/alerts/{swarm.id}/acknowledge",
        data={"_csrf": token, "next": "https://elsewhere.example/"},
        allow_redirects=False,
    )
    assert elsewhere.headers["Location"] == "/alerts"


async def test_acknowledging_with_htmx_swaps_the_item_and_says_so(logged_in, db, swarm):
    token = await csrf_token(logged_in, "/alerts")
    response = await logged_in.post(
        f"/alerts/{swarm.id}/acknowledge",
        data={"next": "/"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    body = await response.text()
    assert response.status == 200
    assert body.lstrip().startswith('<li class="alert-item alert-item--swarm alert-item--done">')
    assert "<form" not in body
    assert response.headers["HX-Trigger"] == '{"cityhive:toast":{"message":"Alert acknowledged."}}'


async def test_nobody_else_can_acknowledge_an_alert(logged_in, db, swarm):
    other = await make_user(db, name="Bea", email="bea@example.org")
    await log_in(logged_in, other.email)
    token = await csrf_token(logged_in, "/alerts")
    response = await logged_in.post(f"/alerts/{swarm.id}/acknowledge", data={"_csrf": token})
    assert response.status == 404
    assert (await alerts(db))[0].acknowledged_at is None


async def test_the_shell_polls_and_is_told_of_new_alerts_once(logged_in, db, auth, hive):
    first = await logged_in.get("/alerts/poll", headers={"HX-Request": "true"})
    assert first.status == 204
    assert "HX-Trigger" not in first.headers
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    series = weights(45.0, range(60, -1, -5), {30: 2.0})
    await send(logged_in, auth, [reading(scale, ago, value) for ago, value in series])
    told = await logged_in.get("/alerts/poll", headers={"HX-Request": "true"})
    assert told.status == 204
    assert told.headers["HX-Trigger"] == (
        '{"cityhive:alerts":{"count":1,"message":"A new alert: see Alerts."}}'
    )
    again = await logged_in.get("/alerts/poll", headers={"HX-Request": "true"})
    assert "HX-Trigger" not in again.headers
    assert "Set-Cookie" not in again.headers  # nothing new: no session write

    probe = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    humidity = await make_sensor(db, hive, SensorKind.humidity, name="Humidity")
    await send(logged_in, auth, [reading(probe, 1, 45.0), reading(humidity, 1, 99.0)])
    two = await logged_in.get("/alerts/poll", headers={"HX-Request": "true"})
    assert '"count":2,"message":"2 new alerts: see Alerts."' in two.headers["HX-Trigger"]


async def test_a_new_session_hears_only_of_alerts_from_the_last_minutes(
    logged_in, db, auth, hive, swarm
):
    await db.execute(text("UPDATE alerts SET raised_at = now() - interval '1 hour'"))
    await db.commit()
    response = await logged_in.get("/alerts/poll", headers={"HX-Request": "true"})
    assert "HX-Trigger" not in response.headers


# --- the webhook -------------------------------------------------------------------------------


@pytest.fixture
async def receiver(aiohttp_server):
    """A local webhook receiver: records each post; `answers` says what to answer, in turn."""
    received: list[dict] = []
    answers: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return server, received, answers


@pytest.fixture
async def webhook_client(aiohttp_client, settings, user):
    local = settings.model_copy(update={"webhook_allow_private_addresses": True})
    client = await aiohttp_client(create_app(local))
    await log_in(client, user.email)
    return client


async def set_webhook(client, url: str):
    token = await csrf_token(client, "/alerts")
    return await client.post(
        "/alerts/webhook", data={"url": url, "_csrf": token}, allow_redirects=False
    )


async def test_the_webhook_receives_the_alert(webhook_client, db, auth, hive, receiver):
    server, received, _ = receiver
    url = str(server.make_url("/hook"))
    assert (await set_webhook(webhook_client, url)).status == 303
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    series = weights(45.0, range(60, -1, -5), {30: 2.0})
    await send(webhook_client, auth, [reading(scale, ago, value) for ago, value in series])
    await finish_deliveries(webhook_client.app)
    [swarm] = await alerts(db)
    [body] = received
    assert body["event"] == "alert.raised"
    assert body["alert"] | {"raised_at": None} == {
        "id": swarm.id,
        "kind": "swarm",
        "hive_id": hive,
        "hive_name": "Rooftop One",
        "sensor_id": scale,
        "message": swarm.message,
        "started_at": swarm.started_at.isoformat().replace("+00:00", "Z"),
        "raised_at": None,
        "path": f"/hives/{hive}",
    }
    page = await (await webhook_client.get("/alerts")).text()
    assert f'value="{url}"' in page
    assert "delivered (HTTP 200)" in page


@pytest.mark.usefixtures("webhook_retries_at_once")
async def test_a_failing_webhook_is_tried_again(webhook_client, settings, receiver):
    server, received, answers = receiver
    answers += [503, 500]
    local = settings.model_copy(update={"webhook_allow_private_addresses": True})
    url = str(server.make_url("/hook"))
    client = webhook_client.app[webhook_client_key]
    assert await post(client, local, url, {"n": 1}) == (True, "delivered (HTTP 200)")
    assert len(received) == 3
    answers += [404]
    assert await post(client, local, url, {"n": 2}) == (False, "failed: HTTP 404")
    assert len(received) == 4  # a refusal is not retried


@pytest.mark.usefixtures("webhook_retries_at_once")
async def test_a_webhook_that_does_not_answer_in_time_fails(settings, aiohttp_server):
    gave_up = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await gave_up.wait()  # answers only once the sender has given up
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", slow)
    server = await aiohttp_server(app)
    impatient = settings.model_copy(
        update={
            "webhook_allow_private_addresses": True,
            "webhook_timeout_seconds": 0.2,
            "webhook_retries": 0,
        }
    )
    async with client_session(impatient) as client:
        outcome = await post(client, impatient, str(server.make_url("/hook")), {})
    gave_up.set()
    assert outcome == (False, "failed: could not be delivered")
    closed = impatient.model_copy(update={"webhook_timeout_seconds": 5})
    async with client_session(closed) as client:
        port = server.port
        await server.close()
        outcome = await post(client, closed, f"http://127.0.0.1:{port}/hook", {})
    assert outcome == (False, "failed: could not be delivered")  # the same, not a port scanner


async def test_private_addresses_are_refused_unless_allowed(logged_in, settings):
    response = await set_webhook(logged_in, "http://127.0.0.1:8080/hook")
    assert response.status == 422
    assert "Private and loopback addresses are not allowed for webhooks." in await response.text()
    for url in ("http://localhost/hook", "http://10.1.2.3/", "http://[::1]/", "http://192.168.1.9"):
        assert url_problem(url, allow_private=False) is not None, url
    assert url_problem("https://hooks.example.org/cityhive", allow_private=False) is None
    assert url_problem("http://127.0.0.1/", allow_private=True) is None
    assert url_problem("https:///no-host", allow_private=False) is not None
    async with client_session(settings) as client:
        assert await post(client, settings, "http://10.0.0.8/hook", {}) == (
            False,
            "refused: Private and loopback addresses are not allowed for webhooks.",
        )


async def test_the_webhook_form_checks_the_address_and_can_be_emptied(logged_in, db, user):
    response = await set_webhook(logged_in, "ftp://example.org/")
    assert response.status == 422
    assert "Use an http:// or https:// address, or leave it empty." in await response.text()
    assert (await set_webhook(logged_in, "https://hooks.example.org/x")).status == 303
    page = await (await logged_in.get("/alerts")).text()
    assert 'value="https://hooks.example.org/x"' in page
    assert (await set_webhook(logged_in, "")).status == 303
    count = await db.scalar(text("SELECT count(*) FROM alert_webhooks"))
    assert count == 0


async def test_alert_pages_need_a_log_in(client):
    response = await client.get("/alerts", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/alerts"


# --- in the reader's language ------------------------------------------------------------------

NBSP = "\u00a0"  # French sets a no-break space before : ; ? !
RSQUO = "\u2019"  # and writes l'alerte: compared as l'alerte below


def speak(client, language: str) -> None:
    """The reader's language, as the chooser in the footer leaves it."""
    client.session.cookie_jar.update_cookies({"cityhive_lang": language})


def in_language(language: str, show: Callable[[], str]) -> str:
    """What `show` says in `language`, without leaving the language set for other tests."""

    def run() -> str:
        i18n.use(language)
        return show()

    return contextvars.copy_context().run(run)


def stored_messages() -> list[tuple[AlertKind, str]]:
    """An alert of each kind as alerts.py stores it (and the webhook and the API send it)."""

    def sensor(kind: SensorKind) -> OwnedSensor:
        return OwnedSensor(
            1, 1, "Rooftop One", "Probe", kind, SensorPlacement.inside, DEFAULT_RULES,
            frozenset(), False,
        )  # fmt: skip

    brood, air = sensor(SensorKind.temperature), sensor(SensorKind.humidity)
    battery = sensor(SensorKind.battery)
    return [
        (AlertKind.swarm, swarm_message(45.04, 43.0, DEFAULT_RULES)),
        (AlertKind.temperature, condition_message(AlertKind.temperature, brood, 41.0,
                                                  Limits(0.0, 40.0, 1.0))),
        (AlertKind.temperature, condition_message(AlertKind.temperature, brood, -2.5,
                                                  Limits(0.0, 40.0, 1.0))),
        (AlertKind.humidity, condition_message(AlertKind.humidity, air, 22.0,
                                               Limits(30.0, 90.0, 3.0))),
        (AlertKind.humidity, condition_message(AlertKind.humidity, air, 96.0,
                                               Limits(30.0, 90.5, 3.0))),
        (AlertKind.battery, condition_message(AlertKind.battery, battery, 3.31,
                                              Limits(3.4, None, 0.1))),
        (AlertKind.offline, "No readings for more than an hour: is the device offline?"),
        (AlertKind.offline, "No readings for more than 3 hours: is the device offline?"),
    ]  # fmt: skip


def test_an_alert_is_shown_in_the_readers_language_from_what_was_stored():
    stored = stored_messages()
    # In English the page shows exactly what is stored: the patterns read every message back.
    for kind, message in stored:
        assert in_language("en", lambda k=kind, m=message: shown_message(k, m)) == message
    german = [in_language("de", lambda k=k, m=m: shown_message(k, m)) for k, m in stored]
    assert german == [
        "Das Gewicht fiel innerhalb von 30 Minuten um 2,0 kg (von 45,0 auf 43,0 kg): ein Schwarm?",
        "Temperatur innen hat 41,0 °C erreicht (über 40 °C).",
        "Temperatur innen ist auf -2,5 °C gefallen (unter 0 °C).",
        "Luftfeuchtigkeit innen ist auf 22 % gefallen (unter 30 %).",
        "Luftfeuchtigkeit innen hat 96 % erreicht (über 90,5 %).",
        "Batterie bei 3,31 V (unter 3,4 V): Bitte laden oder austauschen.",
        "Seit mehr als einer Stunde keine Messwerte: Ist das Gerät offline?",
        "Seit mehr als 3 Stunden keine Messwerte: Ist das Gerät offline?",
    ]
    french = [
        in_language("fr", lambda k=k, m=m: shown_message(k, m)).replace(RSQUO, "'")
        for k, m in stored[1:7]
    ]
    assert french == [
        "La température intérieure a atteint 41,0 °C (au-dessus de 40 °C).",
        "La température intérieure est descendue à -2,5 °C (en dessous de 0 °C).",
        "L'humidité intérieure est descendue à 22 % (en dessous de 30 %).",
        "L'humidité intérieure a atteint 96 % (au-dessus de 90,5 %).",
        f"Batterie à 3,31 V (sous 3,4 V){NBSP}: rechargez-la ou remplacez-la.",
        f"Aucune mesure depuis plus d'une heure{NBSP}: l'appareil est-il hors ligne{NBSP}?",
    ]
    # A message from before these patterns (or changed by hand) is shown as it is.
    odd = "Something else happened."
    assert in_language("de", lambda: shown_message(AlertKind.swarm, odd)) == odd


def test_a_webhooks_outcome_is_shown_in_the_readers_language():
    def german(outcome: str) -> str:
        return in_language("de", lambda: outcome_text(outcome))

    assert german("delivered (HTTP 204)") == "zugestellt (HTTP 204)"
    assert german("failed: HTTP 500") == "fehlgeschlagen: HTTP 500"
    assert german(NOT_DELIVERED) == "fehlgeschlagen: konnte nicht zugestellt werden"
    assert german(f"refused: {PRIVATE_REFUSED}") == (
        "abgelehnt: Private und Loopback-Adressen sind für Webhooks nicht erlaubt."
    )
    assert german("something new") == "something new"
    assert in_language("en", lambda: outcome_text("failed: HTTP 500")) == "failed: HTTP 500"


async def test_alerts_are_shown_in_german_and_french_while_the_api_keeps_english(
    logged_in, db, auth, hive, swarm
):
    probe = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    await send(logged_in, auth, [reading(probe, 1, 45.0)])
    drop, minutes, peak, value = re.fullmatch(
        r"Weight fell (.+) kg within (\d+) minutes \(from (.+) to (.+) kg\): a swarm\?",
        swarm.message,
    ).groups()

    speak(logged_in, "de")
    page = await (await logged_in.get("/alerts")).text()
    assert "<h1>Warnungen</h1>" in page
    assert '<h2 id="open-alerts-title">Zu bestätigen</h2>' in page
    assert "<strong>Schwarm</strong>" in page
    assert "<strong>Temperatur</strong>" in page
    german_swarm = (
        f"Das Gewicht fiel innerhalb von {minutes} Minuten um {drop.replace('.', ',')} kg "
        f"(von {peak.replace('.', ',')} auf {value.replace('.', ',')} kg): ein Schwarm?"
    )
    assert german_swarm in page
    assert "Temperatur innen hat 45,0 °C erreicht (über 40 °C)." in page
    assert "Weight fell" not in page
    assert 'Bestätigen<span class="visually-hidden"> \u2013 Schwarm-Warnung von Rooftop One' in page
    zone = logged_in.app[settings_key].zone
    started = local(swarm.started_at, zone)
    month = get_month_names(locale="de_DE")[started.month]
    assert f">{started.day}. {month} {started.year}, {started:%H:%M}</time>" in page
    today = await (await logged_in.get("/")).text()
    assert "Temperatur innen hat 45,0 °C erreicht (über 40 °C)." in today
    assert "Keine Warnungen" not in today
    hive_page = await (await logged_in.get(f"/hives/{hive}")).text()
    assert german_swarm in hive_page

    told = await logged_in.get("/alerts/poll", headers={"HX-Request": "true"})
    assert '"message":"2 neue Warnungen: siehe Warnungen."' in told.headers["HX-Trigger"]
    token = await csrf_token(logged_in, "/alerts")
    acknowledged = await logged_in.post(
        f"/alerts/{swarm.id}/acknowledge",
        data={"next": "/alerts"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    toast = json.loads(acknowledged.headers["HX-Trigger"])["cityhive:toast"]
    assert toast == {"message": "Warnung bestätigt."}
    assert '<p class="alert-item__done">Bestätigt</p>' in await acknowledged.text()

    speak(logged_in, "fr")
    page = (await (await logged_in.get("/alerts")).text()).replace(RSQUO, "'")
    assert "<h1>Alertes</h1>" in page
    assert "La température intérieure a atteint 45,0 °C (au-dessus de 40 °C)." in page
    assert 'Acquitter<span class="visually-hidden"> l\'alerte de température de Rooftop' in page
    assert "Acquittées récemment" in page
    assert f"Le poids a baissé de {drop.replace('.', ',')} kg en {minutes} minutes" in page
    month = get_month_names(locale="fr_FR")[started.month]
    assert f">{started.day} {month} {started.year}" in page

    # What the API (and the webhook) hands on stays as stored, in English.
    api = await (await logged_in.get("/api/v1/alerts", headers=auth)).json()
    assert [item["message"] for item in api["items"]] == [
        "Temperature inside reached 45.0 °C (above 40 °C)."
    ]
    assert (await alerts(db))[0].message == swarm.message


# --- when the rules sleep ------------------------------------------------------------------------


async def sleep_rules(client, hive: int, **ticked: list[str]):
    token = await csrf_token(client, f"/hives/{hive}/alert-rules")
    return await client.post(
        f"/hives/{hive}/alert-rules/sleep",
        data=[
            ("_csrf", token),
            *((name, value) for name, values in ticked.items() for value in values),
        ],
        allow_redirects=False,
    )


async def test_the_rules_sleep_in_the_months_and_hours_ticked(logged_in, db, auth, hive):
    page = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert 'name="swarm_months" value="12"' in page
    response = await sleep_rules(
        logged_in,
        hive,
        swarm_months=["11", "12", "1", "2"],
        temperature_months=["8"],
        temperature_hours=["11", "12", "13", "14"],
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/hives/{hive}/alert-rules"
    page = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert 'name="temperature_hours" value="12" checked' in page
    assert 'name="temperature_hours" value="15">' in page
    rows = (await db.execute(text("SELECT kind::text, months, hours FROM alert_sleeps"))).all()
    assert sorted(rows) == [("swarm", [1, 2, 11, 12], []), ("temperature", [8], [11, 12, 13, 14])]

    brood = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    august_noon = datetime(2026, 8, 14, 10, 30, tzinfo=UTC)  # 12:30 in Berlin: asleep
    august_evening = datetime(2026, 8, 14, 15, 0, tzinfo=UTC)  # 17:00: awake
    await send(logged_in, auth, [reading(brood, 0, 44.0, now=august_noon)])
    assert await alerts(db) == []
    await send(logged_in, auth, [reading(brood, 0, 44.0, now=august_evening)])
    [hot] = await alerts(db)
    assert (hot.kind, hot.started_at) == (AlertKind.temperature, august_evening)


async def test_a_swarm_rule_asleep_in_winter_raises_nothing(logged_in, db, auth, hive):
    berlin = ZoneInfo("Europe/Berlin")
    months = {str(local(NOW - timedelta(hours=hours), berlin).month) for hours in (0, 4)}
    assert (await sleep_rules(logged_in, hive, swarm_months=sorted(months))).status == 303
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    series = weights(45.0, range(180, -1, -5), {90: 2.0})
    await send(logged_in, auth, [reading(scale, ago, value) for ago, value in series])
    assert await alerts(db) == []


async def test_a_sleep_form_with_mistakes_is_shown_again(logged_in, db, hive):
    response = await sleep_rules(logged_in, hive, swarm_months=["13"], battery_hours=["6"])
    assert response.status == 422
    body = await response.text()
    assert 'id="swarm_months-error"' in body
    assert 'name="battery_hours" value="6" checked' in body
    assert (await db.execute(text("SELECT count(*) FROM alert_sleeps"))).scalar() == 0


def test_a_sleep_needs_its_month_and_its_hour():
    zone = ZoneInfo("Europe/Berlin")
    noon_in_august = Sleep(frozenset({8}), frozenset({12}))
    assert noon_in_august.asleep(datetime(2026, 8, 1, 10, 5, tzinfo=UTC), zone)
    assert not noon_in_august.asleep(datetime(2026, 8, 1, 9, 5, tzinfo=UTC), zone)
    assert not noon_in_august.asleep(datetime(2026, 7, 1, 10, 5, tzinfo=UTC), zone)
    assert Sleep(hours=frozenset({12})).asleep(datetime(2026, 1, 1, 11, 0, tzinfo=UTC), zone)
    assert not Sleep().asleep(datetime(2026, 1, 1, 11, 0, tzinfo=UTC), zone)

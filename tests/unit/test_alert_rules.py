"""Alert rules a beekeeper writes for a hive: a measurement, a comparison, a threshold, a window
for drops and rises, the months and hours they sleep. They are checked with the default rules
as readings arrive, and their alerts are shown, pushed and posted like the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from app.main import create_app
from app.models import Alert, AlertKind, HiveRule, RuleComparison, SensorKind, SensorPlacement
from app.sensors.alerts import shown_message
from app.sensors.queries import alerts_to_push
from tests.unit.conftest import csrf_token, log_in, make_user
from tests.unit.test_alerts import (
    alerts,
    finish_deliveries,
    in_language,
    send,
    set_webhook,
    speak,
)
from tests.unit.test_sensors import NOW, api_key, make_hive, make_sensor, reading


@pytest.fixture
async def hive(db, user) -> int:
    return await make_hive(db, user.id)


@pytest.fixture
async def auth(db, user) -> dict[str, str]:
    headers, _ = await api_key(db, user.id)
    return headers


async def make_rule(db, hive_id: int, **given) -> int:
    values = {
        "sensor_kind": SensorKind.temperature,
        "placement": None,
        "comparison": RuleComparison.above,
        "threshold": 36.0,
        "window_minutes": None,
        "months": [],
        "hours": [],
        **given,
    }
    rule = HiveRule(hive_id=hive_id, **values)
    db.add(rule)
    await db.commit()
    return rule.id


def rule_alerts(found: list[Alert]) -> list[tuple[float, float | None, str]]:
    """Each rule alert: minutes before NOW it started and was resolved (None: open), message."""

    def ago(at: datetime | None) -> float | None:
        return None if at is None else (NOW - at).total_seconds() / 60

    return [
        (ago(a.started_at), ago(a.resolved_at), a.message)
        for a in found
        if a.kind == AlertKind.rule
    ]


# --- checked as readings arrive ------------------------------------------------------------------


async def test_an_above_rule_fires_on_the_reading_that_crosses_it_and_not_on_others(
    client, db, auth, hive
):
    brood = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    rule = await make_rule(db, hive, threshold=36.0)
    series = [(60, 34.0), (50, 35.5), (40, 36.0), (30, 36.4), (20, 37.2), (10, 35.0), (5, 36.8)]
    await send(client, auth, [reading(brood, ago, value) for ago, value in series])
    found = await alerts(db)
    assert rule_alerts(found) == [
        (30, 10, "Temperature on Brood reached 36.4 °C (above 36 °C)."),
        (5, None, "Temperature on Brood reached 36.8 °C (above 36 °C)."),
    ]
    assert {a.rule_id for a in found} == {rule}
    assert [a for a in found if a.kind != AlertKind.rule] == []  # the default 40 °C: not reached
    # Readings on the same side of the line, sent again or later, raise nothing new.
    await send(client, auth, [reading(brood, ago, value) for ago, value in series])
    await send(client, auth, [reading(brood, 2, 37.5)])
    assert len(await alerts(db)) == 2


async def test_a_below_rule_watches_only_the_sensors_placed_where_it_says(client, db, auth, hive):
    outside = await make_sensor(db, hive, SensorKind.humidity, SensorPlacement.outside, "Air")
    inside = await make_sensor(db, hive, SensorKind.humidity, SensorPlacement.inside, "Box")
    await make_rule(
        db,
        hive,
        sensor_kind=SensorKind.humidity,
        placement=SensorPlacement.outside,
        comparison=RuleComparison.below,
        threshold=40.0,
    )
    await send(
        client,
        auth,
        [reading(outside, 20, 55.0), reading(outside, 10, 38.0), reading(inside, 10, 35.0)],
    )
    found = await alerts(db)
    assert rule_alerts(found) == [(10, None, "Humidity on Air fell to 38 % (below 40 %).")]
    # The inside sensor's 35 % is the default rule's business (below 30 %: no alert).
    assert [a.sensor_id for a in found] == [outside]


async def test_a_rule_and_a_default_rule_on_one_sensor_each_raise_their_own_alert(
    client, db, auth, hive
):
    brood = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    await make_rule(db, hive, threshold=30.0)
    await send(client, auth, [reading(brood, 10, 25.0), reading(brood, 5, 41.0)])
    kinds = sorted((a.kind.value, a.resolved_at) for a in await alerts(db))
    assert kinds == [("rule", None), ("temperature", None)]


async def test_a_rise_rule_fires_once_per_rise_within_its_window(client, db, auth, hive):
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    await make_rule(
        db,
        hive,
        sensor_kind=SensorKind.weight,
        comparison=RuleComparison.rises_by,
        threshold=3.0,
        window_minutes=60,
    )
    # A slow gain of 4 kg over five hours (a good flow): no 3 kg within any hour.
    slow = [(ago, 40.0 + (300 - ago) * 4 / 300) for ago in range(300, 119, -20)]
    # Then nearly 4 kg within the hour (syrup fed, a box put on), seen by two readings: the
    # first counts; the second is the same rise.
    fast = [(100, 42.6), (90, 44.0), (80, 46.1), (70, 46.2)]
    await send(client, auth, [reading(scale, ago, round(v, 2)) for ago, v in slow + fast])
    assert rule_alerts(await alerts(db)) == [
        (80, 80, "Weight on Scale rose by 3.97 kg within 60 minutes (from 42.13 kg to 46.10 kg)."),
    ]


async def test_a_drop_rule_is_the_swarm_check_with_its_own_numbers(client, db, auth, hive):
    scale = await make_sensor(db, hive, SensorKind.weight, name="Scale")
    await make_rule(
        db,
        hive,
        sensor_kind=SensorKind.weight,
        comparison=RuleComparison.drops_by,
        threshold=0.8,
        window_minutes=15,
    )
    await send(
        client,
        auth,
        [reading(scale, 40, 45.0), reading(scale, 30, 44.7), reading(scale, 20, 44.4)],
    )
    assert rule_alerts(await alerts(db)) == []  # 0.3 kg per 10 minutes: never 0.8 in 15
    await send(client, auth, [reading(scale, 15, 43.6)])
    [(started, resolved, message)] = rule_alerts(await alerts(db))
    assert (started, resolved) == (15, 15)
    assert message == (
        "Weight on Scale fell by 1.10 kg within 15 minutes (from 44.70 kg to 43.60 kg)."
    )
    # The default swarm rule (1.5 kg within 30 minutes) saw 1.4 kg: no swarm.
    assert [a.kind for a in await alerts(db)] == [AlertKind.rule]


async def test_a_rule_sleeps_in_its_months_at_its_hours(client, db, auth, hive):
    brood = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    await make_rule(db, hive, threshold=36.0, months=[8], hours=[11, 12, 13, 14])
    august_noon = datetime(2026, 8, 14, 10, 30, tzinfo=UTC)  # 12:30 in Berlin: asleep
    august_evening = datetime(2026, 8, 14, 15, 0, tzinfo=UTC)  # 17:00: awake
    july_noon = datetime(2026, 7, 14, 10, 30, tzinfo=UTC)  # another month: awake
    await send(client, auth, [reading(brood, 0, 37.0, now=august_noon)])
    assert await alerts(db) == []
    await send(client, auth, [reading(brood, 0, 37.0, now=july_noon)])
    await send(client, auth, [reading(brood, 0, 35.0, now=july_noon + timedelta(hours=1))])
    await send(client, auth, [reading(brood, 0, 37.0, now=august_evening)])
    assert [a.started_at for a in await alerts(db)] == [july_noon, august_evening]


async def test_a_rule_switched_off_watches_nothing_and_a_deleted_one_leaves_its_alerts(
    logged_in, db, auth, hive
):
    brood = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    rule = await make_rule(db, hive, threshold=36.0, enabled=False)
    switch = f"/hives/{hive}/alert-rules/own/{rule}/switch"
    await send(logged_in, auth, [reading(brood, 20, 37.0)])
    assert await alerts(db) == []
    assert (await post_rule(logged_in, switch)).status == 303  # on
    await send(logged_in, auth, [reading(brood, 15, 37.5)])
    [open_one] = await alerts(db)
    assert open_one.resolved_at is None
    assert (await post_rule(logged_in, switch)).status == 303  # off: its alert ends
    await send(logged_in, auth, [reading(brood, 10, 38.0)])
    [ended] = await alerts(db)
    assert ended.resolved_at is not None
    assert (await post_rule(logged_in, switch)).status == 303  # on again: a new episode
    await send(logged_in, auth, [reading(brood, 5, 38.5)])
    assert [a.resolved_at is None for a in await alerts(db)] == [False, True]
    assert (
        await post_rule(logged_in, f"/hives/{hive}/alert-rules/own/{rule}/delete")
    ).status == 303
    kept = await alerts(db)
    assert [(a.kind, a.rule_id, a.resolved_at is None) for a in kept] == [
        (AlertKind.rule, None, False),
        (AlertKind.rule, None, False),
    ]
    page = await (await logged_in.get("/alerts")).text()
    assert "Temperature on Brood reached 38.5 °C (above 36 °C)." in page
    # A new rule on the same sensor starts afresh beside the old alerts.
    await make_rule(db, hive, threshold=36.0)
    await send(logged_in, auth, [reading(brood, 2, 39.0)])
    assert len(await alerts(db)) == 3


async def test_a_rules_alert_is_listed_pushed_and_shown_in_the_readers_language(
    logged_in, db, auth, hive
):
    brood = await make_sensor(db, hive, SensorKind.temperature, name="Brood")
    await make_rule(db, hive, threshold=36.0)
    await send(logged_in, auth, [reading(brood, 5, 36.5)])
    page = await (await logged_in.get("/alerts")).text()
    assert "Temperature on Brood reached 36.5 °C (above 36 °C)." in page
    today = await (await logged_in.get("/")).text()
    assert "Temperature on Brood reached 36.5" in today
    [pushed] = await alerts_to_push(db, timedelta(days=1))
    assert (pushed.kind, pushed.hive_id) == (AlertKind.rule, hive)
    [alert] = await alerts(db)
    german = in_language("de", lambda: shown_message(alert.kind, alert.message))
    stored_drop = "Weight on Scale fell by 1.00 kg within 15 minutes (from 44.00 kg to 43.00 kg)."
    drop = in_language("fr", lambda: shown_message(AlertKind.rule, stored_drop))
    assert german == "Temperatur an Brood erreichte 36,5 °C (über 36 °C)."
    assert drop == "Poids sur Scale a baissé de 1,00 kg en 15 minutes (de 44,00 kg à 43,00 kg)."


async def test_a_rules_alert_is_posted_to_the_webhook(
    aiohttp_client, aiohttp_server, settings, user, db, auth, hive
):
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    server = await aiohttp_server(receiver)
    local = settings.model_copy(update={"webhook_allow_private_addresses": True})
    webhook_client = await aiohttp_client(create_app(local))
    await log_in(webhook_client, user.email)
    assert (await set_webhook(webhook_client, str(server.make_url("/hook")))).status == 303
    battery = await make_sensor(db, hive, SensorKind.battery, name="Cell")
    await make_rule(
        db, hive, sensor_kind=SensorKind.battery, comparison=RuleComparison.below, threshold=3.7
    )
    await send(webhook_client, auth, [reading(battery, 10, 3.9), reading(battery, 5, 3.6)])
    await finish_deliveries(webhook_client.app)
    [body] = received
    assert (body["alert"]["kind"], body["alert"]["sensor_id"]) == ("rule", battery)
    assert body["alert"]["message"] == "Battery on Cell fell to 3.60 V (below 3.7 V)."


# --- the rules page ------------------------------------------------------------------------------


async def post_rule(client, path: str, **fields: str | list[str]):
    token = await csrf_token(client, "/hives")
    data = [("_csrf", token)]
    for name, value in fields.items():
        data += [(name, v) for v in (value if isinstance(value, list) else [value])]
    return await client.post(path, data=data, allow_redirects=False)


async def own_rules(db) -> list[HiveRule]:
    selection = select(HiveRule).order_by(HiveRule.id).execution_options(populate_existing=True)
    return list(await db.scalars(selection))


async def test_a_rule_is_added_listed_changed_switched_off_and_deleted(logged_in, db, hive):
    page = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert "No rules of your own yet." in page
    response = await post_rule(
        logged_in,
        f"/hives/{hive}/alert-rules/own",
        sensor_kind="weight",
        placement="",
        comparison="drops_by",
        threshold="0,8",
        window_minutes="20",
        months=["12", "1"],
        hours=["3"],
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/hives/{hive}/alert-rules"
    [rule] = await own_rules(db)
    assert (rule.sensor_kind, rule.placement, rule.comparison, rule.threshold) == (
        SensorKind.weight,
        None,
        RuleComparison.drops_by,
        0.8,
    )
    assert (rule.window_minutes, rule.months, rule.hours, rule.enabled) == (20, [1, 12], [3], True)
    page = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert "Weight drops by 0.8 kg within 20 minutes" in page
    assert "Sleeps in Jan, Dec, at 03" in page

    edit = await (await logged_in.get(f"/hives/{hive}/alert-rules/own/{rule.id}")).text()
    assert 'name="threshold" type="text" value="0.8"' in edit.replace("\n", "")
    response = await post_rule(
        logged_in,
        f"/hives/{hive}/alert-rules/own/{rule.id}",
        sensor_kind="temperature",
        placement="inside",
        comparison="above",
        threshold="38",
        window_minutes="20",  # no window for a limit: dropped
    )
    assert response.status == 303
    [rule] = await own_rules(db)
    assert (rule.sensor_kind, rule.placement, rule.comparison) == (
        SensorKind.temperature,
        SensorPlacement.inside,
        RuleComparison.above,
    )
    assert (rule.threshold, rule.window_minutes, rule.months, rule.hours) == (38.0, None, [], [])

    switch = f"/hives/{hive}/alert-rules/own/{rule.id}/switch"
    assert (await post_rule(logged_in, switch)).status == 303
    assert [r.enabled for r in await own_rules(db)] == [False]
    page = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert "switched off" in page
    assert "Switch on" in page
    assert (await post_rule(logged_in, switch)).status == 303
    assert [r.enabled for r in await own_rules(db)] == [True]

    delete = f"/hives/{hive}/alert-rules/own/{rule.id}/delete"
    assert (await post_rule(logged_in, delete)).status == 303
    assert await own_rules(db) == []


GOOD = {
    "sensor_kind": "temperature",
    "placement": "",
    "comparison": "above",
    "threshold": "38",
    "window_minutes": "",
}


@pytest.mark.parametrize(
    ("changed", "field", "message"),
    [
        ({"threshold": ""}, "threshold", "This field is required."),
        ({"threshold": "warm"}, "threshold", "Enter a number."),
        ({"threshold": "200"}, "threshold", "This measurement reads from -50 to 80."),
        (
            {"comparison": "drops_by", "threshold": "2"},
            "window_minutes",
            "A drop or a rise needs its time window.",
        ),
        (
            {"comparison": "rises_by", "threshold": "0", "window_minutes": "30"},
            "threshold",
            "A change must be above 0 and at most 130.",
        ),
        (
            {"comparison": "drops_by", "window_minutes": "5000"},
            "window_minutes",
            None,
        ),
        ({"sensor_kind": "mood"}, "sensor_kind", None),
        ({"placement": "roof"}, "placement", None),
        ({"comparison": "sideways"}, "comparison", None),
        ({"months": ["13"]}, "months", None),
        ({"hours": ["24"]}, "hours", None),
    ],
)
async def test_each_mistake_in_a_rule_is_shown_at_its_field(
    logged_in, db, hive, changed, field, message
):
    response = await post_rule(logged_in, f"/hives/{hive}/alert-rules/own", **(GOOD | changed))
    assert response.status == 422
    body = await response.text()
    assert f'id="{field}-error"' in body
    if message is not None:
        assert message in body
    assert await own_rules(db) == []
    # The same mistake when changing a rule: shown on its page, the rule as it was.
    rule = await make_rule(db, hive, threshold=33.0)
    response = await post_rule(
        logged_in, f"/hives/{hive}/alert-rules/own/{rule}", **(GOOD | changed)
    )
    assert response.status == 422
    assert f'id="{field}-error"' in await response.text()
    assert [r.threshold for r in await own_rules(db)] == [33.0]


async def test_another_beekeepers_rules_are_not_found(logged_in, db):
    other = await make_user(db, name="Bea", email="bea@example.org")
    their_hive = await make_hive(db, other.id, name="Bea's")
    rule = await make_rule(db, their_hive, threshold=30.0)
    base = f"/hives/{their_hive}/alert-rules/own"
    assert (await logged_in.get(f"{base}/{rule}")).status == 404
    assert (await post_rule(logged_in, f"{base}/{rule}", **GOOD)).status == 404
    assert (await post_rule(logged_in, f"{base}/{rule}/switch")).status == 404
    assert (await post_rule(logged_in, f"{base}/{rule}/delete")).status == 404
    assert (await post_rule(logged_in, base, **GOOD)).status == 404
    [kept] = await own_rules(db)
    assert (kept.id, kept.threshold, kept.enabled) == (rule, 30.0, True)


async def test_a_rule_of_another_hive_is_not_found_under_ones_own(logged_in, db, user, hive):
    second = await make_hive(db, user.id, name="Balcony")
    rule = await make_rule(db, second, threshold=30.0)
    assert (await logged_in.get(f"/hives/{hive}/alert-rules/own/{rule}")).status == 404
    assert (await logged_in.get(f"/hives/{second}/alert-rules/own/{rule}")).status == 200


async def test_the_list_says_when_each_rule_sleeps(logged_in, db, hive):
    await make_rule(db, hive, threshold=30.0, hours=[11, 12])
    await make_rule(db, hive, threshold=31.0, months=[1, 2])
    await make_rule(db, hive, threshold=32.0)
    page = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert "Sleeps at 11, 12" in page
    assert "Sleeps in Jan, Feb" in page
    assert page.count('<p class="hint">Sleeps ') == 2  # the third never sleeps
    speak(logged_in, "de")
    page = await (await logged_in.get(f"/hives/{hive}/alert-rules")).text()
    assert "Temperatur steigt über 32 °C" in page
    assert "Ruht um 11, 12" in page

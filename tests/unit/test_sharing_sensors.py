"""Sensors, readings and alerts in a shared apiary: every member reads them; an alert is
raised once per hive and told to every member (alert lists, webhooks, push); a keeper's key
posts readings, a viewer's key posts none and a viewer acknowledges nothing; a member taken
out of the apiary sees none of it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.models import Alert, Reading, SensorKind
from app.sensors.queries import alerts_to_push
from tests.unit import test_alerts
from tests.unit.conftest import make_user
from tests.unit.test_alerts import finish_deliveries, set_webhook, weights
from tests.unit.test_sensors import api_key, make_hive, make_sensor, reading
from tests.unit.test_sharing_inspections import member_client, post, remove

receiver = test_alerts.receiver  # the local webhook receiver (a fixture), as test_alerts has it


async def send(client, auth, readings: list):
    return await client.post("/api/v1/readings", json={"readings": readings}, headers=auth)


async def stored_readings(db) -> int:
    return int(await db.scalar(select(func.count()).select_from(Reading)) or 0)


async def swarm_readings(scale: int) -> list[dict]:
    """A scale's last hour, with a swarm leaving half an hour ago."""
    return [reading(scale, ago, kg) for ago, kg in weights(45.0, range(60, -1, -5), {30: 2.0})]


async def test_a_keepers_key_posts_and_a_viewers_posts_nothing(
    logged_in, aiohttp_client, settings, db, user
):
    hive_id = await make_hive(db, user.id, name="Acacia")
    probe = await make_sensor(db, hive_id, SensorKind.temperature, name="Brood")
    _, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    viewer, vic = await member_client(aiohttp_client, settings, db, hive_id, "viewer", "Vic")
    keeper_key, _ = await api_key(db, kim.id)
    viewer_key, _ = await api_key(db, vic.id)

    refused = await send(logged_in, viewer_key, [reading(probe, 5, 34.5)])
    assert (await refused.json())["refused"] == 1
    assert await stored_readings(db) == 0
    device = await logged_in.post(
        f"/api/v1/devices/{hive_id}/readings", data={"t": "34.5"}, headers=viewer_key
    )
    assert device.status == 404
    listed = await (await logged_in.get("/api/v1/sensors", headers=viewer_key)).json()
    assert [item["id"] for item in listed["items"]] == [probe]  # a viewer reads them
    page = await viewer.get(f"/hives/{hive_id}/sensors")
    assert page.status == 200
    text = await page.text()
    assert "Brood" in text
    assert f'action="/hives/{hive_id}/sensors"' not in text  # no form to add one
    added = await post(viewer, f"/hives/{hive_id}/sensors", [("name", "Mine"), ("kind", "weight")])
    assert added.status == 404

    accepted = await send(logged_in, keeper_key, [reading(probe, 5, 34.5)])
    assert accepted.status == 200
    assert await stored_readings(db) == 1
    device = await logged_in.post(
        f"/api/v1/devices/{hive_id}/readings", data={"t": "34.6"}, headers=keeper_key
    )
    assert device.status == 200


async def test_an_alert_is_raised_once_and_told_to_every_member(
    aiohttp_client, settings, db, user, receiver
):
    local = settings.model_copy(update={"webhook_allow_private_addresses": True})
    hive_id = await make_hive(db, user.id, name="Acacia")
    scale = await make_sensor(db, hive_id, SensorKind.weight, name="Scale")
    keeper, kim = await member_client(aiohttp_client, local, db, hive_id, "keeper", "Kim")
    viewer, vic = await member_client(aiohttp_client, local, db, hive_id, "viewer", "Vic")
    stranger = await make_user(db, name="Sam", email="sam@example.org")
    server, received, _ = receiver
    for client, path in ((viewer, "?who=vic"), (keeper, "?who=kim")):
        assert (await set_webhook(client, str(server.make_url("/hook")) + path)).status == 303
    keeper_key, _ = await api_key(db, kim.id)

    assert (await send(keeper, keeper_key, await swarm_readings(scale))).status == 200
    await finish_deliveries(keeper.app)
    [swarm] = list(await db.scalars(select(Alert)))  # once for the hive
    assert len(received) == 2  # once to each member's webhook
    assert {body["alert"]["id"] for body in received} == {swarm.id}
    told = await alerts_to_push(db, timedelta(days=1))
    assert sorted(alert.user_id for alert in told) == sorted([user.id, kim.id, vic.id])
    assert stranger.id not in {alert.user_id for alert in told}

    seen = await (await viewer.get("/alerts")).text()
    assert "Acacia" in seen
    assert f"/alerts/{swarm.id}/acknowledge" not in seen  # a viewer reads, does not acknowledge
    assert (await post(viewer, f"/alerts/{swarm.id}/acknowledge")).status == 404
    assert f"/alerts/{swarm.id}/acknowledge" in await (await keeper.get("/alerts")).text()
    assert (await post(keeper, f"/alerts/{swarm.id}/acknowledge")).status == 303
    await db.refresh(swarm)
    assert swarm.acknowledged_at is not None


async def test_a_member_taken_out_of_the_apiary_sees_no_sensor_or_alert(
    logged_in, aiohttp_client, settings, db, user
):
    hive_id = await make_hive(db, user.id, name="Acacia")
    scale = await make_sensor(db, hive_id, SensorKind.weight, name="Scale")
    owner_key, _ = await api_key(db, user.id)
    assert (await send(logged_in, owner_key, await swarm_readings(scale))).status == 200
    keeper, kim = await member_client(aiohttp_client, settings, db, hive_id, "keeper", "Kim")
    keeper_key, _ = await api_key(db, kim.id)
    assert "Acacia" in await (await keeper.get("/alerts")).text()
    await remove(db, kim)
    assert (await keeper.get(f"/hives/{hive_id}/sensors")).status == 404
    assert "Acacia" not in await (await keeper.get("/alerts")).text()
    listed = await (await keeper.get("/api/v1/sensors", headers=keeper_key)).json()
    assert listed["items"] == []
    before = await stored_readings(db)
    refused = await send(keeper, keeper_key, [reading(scale, 1, 44.0)])
    assert (await refused.json())["refused"] == 1
    assert await stored_readings(db) == before
    told = await alerts_to_push(db, timedelta(days=1))
    assert [alert.user_id for alert in told] == [user.id]

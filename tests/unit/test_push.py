"""Web Push: who is told of what, once, through a push service that checks what it is sent.

The push service is tests/unit/push_service.py: it verifies each request's VAPID JWT against the
app's public key and decrypts the payload with the browser's keys, as a real one and the browser
would. The rounds are run by the tests (push_round), with the background loop set far apart.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text, update

from app.keys import vapid_key
from app.main import create_app
from app.models import (
    Alert,
    AlertKind,
    Hive,
    Inspection,
    PushNotification,
    PushSubscription,
    SwarmCollector,
    SwarmOutcome,
    SwarmReport,
    TreatmentMethod,
    User,
)
from app.pages.notifications import push_round
from app.push.vapid import application_server_key
from app.swarms import queries as swarm_queries
from app.treatments import queries as treatment_queries
from app.treatments.schemas import PurchaseForm, TreatmentForm
from tests.unit.conftest import apiary_of, csrf_token, log_in, make_user
from tests.unit.push_service import PushService, b64url

CONTACT = "+49 30 1234567"
DESCRIPTION = "Call Erika at erika@example.org, on the lime tree"
REPORT_AT = (52.52, 13.40)
NEAR = (52.5245, 13.40)  # 500 m north of the report
RING = (52.547, 13.40)  # 3 km north: outside a 1 km radius, inside it plus 5 km
FAR = (52.40, 13.40)  # 13 km south: out of reach even when escalated


@pytest.fixture
async def push_service(aiohttp_server) -> PushService:
    service = PushService()
    server = await aiohttp_server(service.app())
    service.origin = str(server.make_url("")).rstrip("/")
    return service


@pytest.fixture
def push_settings(settings):
    return settings.model_copy(
        update={
            "push_allow_private_addresses": True,  # the push service listens on 127.0.0.1
            "push_check_seconds": 3600,  # the tests run the rounds themselves
            "push_escalation_minutes": 30,
            "push_escalation_extra_m": 5000,
        }
    )


@pytest.fixture
async def app_client(aiohttp_client, push_settings):
    return await aiohttp_client(create_app(push_settings))


def point(at: tuple[float, float]):
    latitude, longitude = at
    return func.ST_SetSRID(func.ST_MakePoint(longitude, latitude), 4326)


async def collector(db, name: str, at: tuple[float, float], *, radius_m: int = 1000) -> User:
    user = await make_user(db, name=name, email=f"{name.lower()}@example.org")
    db.add(SwarmCollector(user_id=user.id, location=point(at), radius_m=radius_m))
    await db.commit()
    return user


async def subscribe(db, user: User, browser, **switches) -> int:
    device = PushSubscription(
        user_id=user.id,
        endpoint=browser.endpoint,
        p256dh=browser.p256dh,
        auth=browser.form()["auth"],
        **switches,
    )
    db.add(device)
    await db.commit()
    return device.id


async def add_report(db, *, token_hash: str = "a" * 64) -> int:
    report = SwarmReport(
        location=point(REPORT_AT),
        seen_at=func.now() - timedelta(minutes=30),
        height="ladder",
        hanging_on="lime tree",
        size="large",
        description=DESCRIPTION,
        contact=CONTACT,
        status_token_hash=token_hash,
        reporter_address="192.0.2.1",
        expires_at=text("now() + interval '1 day'"),
    )
    db.add(report)
    await db.commit()
    return report.id


def holds_no_contact(payload: dict) -> None:
    shown = str(payload)
    assert CONTACT not in shown
    assert "erika" not in shown.lower()
    assert "lime" not in shown  # nothing of the reporter's own words


async def test_a_report_in_one_collectors_radius_notifies_that_collector_once_across_replicas(
    aiohttp_client, push_settings, push_service, db
):
    near = await collector(db, "Near", NEAR)
    far = await collector(db, "Far", FAR)
    await subscribe(db, near, push_service.browser("near"))
    await subscribe(db, far, push_service.browser("far"))
    report_id = await add_report(db)
    one = await aiohttp_client(create_app(push_settings))
    another = await aiohttp_client(create_app(push_settings))

    for _ in range(3):  # both replicas gather and send at once, three rounds over
        await asyncio.gather(push_round(one.server.app), push_round(another.server.app))

    assert push_service.refused == []
    assert push_service.to("far") == []
    [message] = [m for m in push_service.received if m.browser == "near"]
    assert message.payload == {
        "title": "500 m away · bigger than a football",
        "body": "Swarm reported: A ladder would reach it (2 to 4 m) · seen 30 minutes ago",
        "url": f"/swarms/{report_id}",
        "tag": f"swarm-{report_id}",
        "actions": [{"action": "claim", "title": "Claim"}],
    }
    holds_no_contact(message.payload)
    assert message.urgency == "high"
    assert 0 < message.ttl <= 3 * 3600
    # Signed with the key the pages offer to browsers (both replicas share it).
    assert message.vapid_key == application_server_key(one.server.app[vapid_key])
    assert message.vapid_key == application_server_key(another.server.app[vapid_key])
    assert message.claims["aud"] == push_service.origin


async def test_escalation_reaches_the_wider_ring_after_the_set_time_and_nobody_twice(
    app_client, push_service, db
):
    app = app_client.server.app
    near = await collector(db, "Near", NEAR)
    ring = await collector(db, "Ring", RING)
    far = await collector(db, "Far", FAR)
    for user in (near, ring, far):
        await subscribe(db, user, push_service.browser(user.name.lower()))
    report_id = await add_report(db)

    await push_round(app)
    assert [m.browser for m in push_service.received] == ["near"]
    assert await swarm_queries.report_for(db, report_id, ring.id) is None

    await push_round(app)  # 29 minutes on, still unclaimed: nobody new
    await db.execute(
        update(SwarmReport)
        .where(SwarmReport.id == report_id)
        .values(created_at=func.now() - timedelta(minutes=29))
    )
    await db.commit()
    await push_round(app)
    assert [m.browser for m in push_service.received] == ["near"]

    await db.execute(
        update(SwarmReport)
        .where(SwarmReport.id == report_id)
        .values(created_at=func.now() - timedelta(minutes=31))
    )
    await db.commit()
    await push_round(app)
    await push_round(app)
    assert [m.browser for m in push_service.received] == ["near", "ring"]
    ring_message = push_service.to("ring")[0]
    assert ring_message["title"].startswith("3.0 km away")
    holds_no_contact(ring_message)
    # The wider ring may open and claim what it was told of; farther still, nobody.
    assert await swarm_queries.report_for(db, report_id, ring.id) is not None
    assert await swarm_queries.report_for(db, report_id, far.id) is None
    assert await swarm_queries.claim(db, report_id, ring.id) is None


async def test_a_claimed_report_is_not_pushed_and_a_switched_off_device_hears_nothing(
    app_client, push_service, db
):
    near = await collector(db, "Near", NEAR)
    other = await collector(db, "Other", NEAR)
    await subscribe(db, near, push_service.browser("near"))
    await subscribe(db, other, push_service.browser("other"), swarms=False)
    report_id = await add_report(db)
    assert await swarm_queries.claim(db, report_id, near.id) is None

    await push_round(app_client.server.app)

    assert push_service.received == []


@pytest.mark.parametrize("gone", [404, 410])
async def test_a_subscription_the_push_service_no_longer_knows_is_removed(
    app_client, push_service, db, gone
):
    near = await collector(db, "Near", NEAR)
    device_id = await subscribe(db, near, push_service.browser("near"))
    push_service.answers["near"] = [gone]
    await add_report(db)

    await push_round(app_client.server.app)

    assert push_service.received == []
    assert await db.get(PushSubscription, device_id, populate_existing=True) is None
    metrics = await (await app_client.get("/metrics")).text()
    assert 'cityhive_push_notifications_total{outcome="removed"} 1.0' in metrics


async def test_a_failed_delivery_is_tried_again_later_then_sent(app_client, push_service, db):
    app = app_client.server.app
    near = await collector(db, "Near", NEAR)
    await subscribe(db, near, push_service.browser("near"))
    push_service.answers["near"] = [503]
    await add_report(db)

    await push_round(app)
    queued = await db.scalar(select(PushNotification))
    assert queued is not None
    assert (queued.attempts, queued.sent_at, queued.last_error) == (1, None, "HTTP 503")
    wait = (queued.due_at - datetime.now(UTC)).total_seconds()
    assert 25 < wait <= 30  # PUSH_RETRY_BASE_SECONDS, then twice as long each time

    await push_round(app)  # not due yet
    assert push_service.received == []
    await db.execute(update(PushNotification).values(due_at=func.now()))
    await db.commit()
    await push_round(app)

    assert len(push_service.to("near")) == 1
    metrics = await (await app_client.get("/metrics")).text()
    assert 'cityhive_push_notifications_total{outcome="retried"} 1.0' in metrics
    assert 'cityhive_push_notifications_total{outcome="sent"} 1.0' in metrics


async def test_a_delivery_that_keeps_failing_is_given_up(
    aiohttp_client, push_settings, push_service, db
):
    client = await aiohttp_client(create_app(push_settings.model_copy(update={"push_retries": 1})))
    app = client.server.app
    near = await collector(db, "Near", NEAR)
    await subscribe(db, near, push_service.browser("near"))
    push_service.answers["near"] = [500, 500, 500]
    await add_report(db)

    for _ in range(3):
        await push_round(app)
        await db.execute(update(PushNotification).values(due_at=func.now()))
        await db.commit()

    queued = await db.scalar(select(PushNotification).execution_options(populate_existing=True))
    assert queued is not None
    assert queued.given_up_at is not None
    assert queued.attempts == 2
    metrics = await (await client.get("/metrics")).text()
    assert 'cityhive_push_notifications_total{outcome="failed"} 1.0' in metrics


async def test_a_message_is_written_in_the_recipients_language(app_client, push_service, db):
    near = await collector(db, "Near", NEAR)
    near.language = "de"
    await db.commit()
    await subscribe(db, near, push_service.browser("near"))
    await add_report(db)

    await push_round(app_client.server.app)

    [payload] = push_service.to("near")
    assert payload["title"] == "500 m entfernt · größer als ein Fußball"
    assert payload["actions"] == [{"action": "claim", "title": "Übernehmen"}]


async def test_a_sensor_alert_is_pushed_to_the_hives_owner_linking_to_the_hive(
    app_client, push_service, db
):
    owner = await make_user(db)
    other = await make_user(db, name="Other", email="other@example.org")
    hive = Hive(
        owner_id=owner.id,
        apiary_id=await apiary_of(db, owner.id),
        name="Linden 2",
        location=point(NEAR),
        frame_type="dadant",
    )
    db.add(hive)
    await db.commit()
    db.add(
        Alert(hive_id=hive.id, kind=AlertKind.swarm, message="weight drop", started_at=func.now())
    )
    await db.commit()
    await subscribe(db, owner, push_service.browser("owner"))
    await subscribe(db, other, push_service.browser("other"))

    await push_round(app_client.server.app)
    await push_round(app_client.server.app)

    assert push_service.to("other") == []
    [message] = [m for m in push_service.received if m.browser == "owner"]
    assert message.payload["title"] == "Swarm alert: Linden 2"
    assert message.payload["url"] == f"/hives/{hive.id}"
    assert message.urgency == "high"


async def test_the_daily_reminder_lists_what_today_lists_at_the_chosen_time(
    app_client, push_settings, push_service, db
):
    app = app_client.server.app
    owner = await make_user(db)
    zone = push_settings.zone
    day = datetime.now(zone).date()
    hives = []
    for name in ("Apple", "Birch", "Cherry"):
        hive = Hive(
            owner_id=owner.id,
            apiary_id=await apiary_of(db, owner.id),
            name=name,
            location=point(NEAR),
            frame_type="dadant",
        )
        db.add(hive)
        hives.append(hive)
    await db.commit()
    db.add(Inspection(hive_id=hives[0].id, scheduled_for=day - timedelta(days=2)))  # overdue
    db.add(Inspection(hive_id=hives[1].id, scheduled_for=day))  # due today
    db.add(Inspection(hive_id=hives[2].id, scheduled_for=day + timedelta(days=3)))  # this week
    await db.commit()
    device_id = await subscribe(db, owner, push_service.browser("owner"), reminder_at=time(7, 30))
    await db.execute(
        update(PushSubscription)
        .where(PushSubscription.id == device_id)
        .values(created_at=func.now() - timedelta(days=1))
    )
    await db.commit()

    before = datetime.combine(day, time(7, 29), zone)
    await push_round(app, before)
    assert push_service.received == []
    after = datetime.combine(day, time(7, 31), zone)
    await push_round(app, after)
    await push_round(app, after + timedelta(hours=1))

    [message] = push_service.received
    assert message.payload["title"] == "2 inspections to do today"
    assert message.payload["body"] == "Apple, Birch"
    assert message.payload["url"] == "/"
    assert message.urgency == "low"


async def strips_in(db, owner: User, hive: Hive, ended_on) -> None:
    """Strips put into `hive` for a treatment that ended on `ended_on`, not taken out yet."""
    purchase = await treatment_queries.create_purchase(
        db,
        owner.id,
        PurchaseForm(
            product="Apivar", batch="AV-1", expires_on=ended_on + timedelta(days=365),
            supplier_name="Bee Shop", supplier_address="1 High Street, York",
            purchased_on=ended_on - timedelta(days=60), quantity=Decimal(10), unit="strips",
            invoice_number="INV-1",
        ),
    )  # fmt: skip
    await treatment_queries.create_treatment(
        db,
        owner.id,
        TreatmentForm(
            hive_ids=[hive.id], purchase_id=purchase.id,
            started_on=ended_on - timedelta(days=41), dose="2 strips", quantity=Decimal(2),
            method=TreatmentMethod.strips, duration_days=42, withdrawal_days=0,
            treated_by="Ada",
        ),
    )  # fmt: skip
    await db.commit()


async def test_the_daily_reminder_lists_the_strips_due_out_as_today_does(
    app_client, push_settings, push_service, db
):
    app = app_client.server.app
    zone = push_settings.zone
    day = datetime.now(zone).date()
    owners = []
    for name in ("Apple", "Birch"):
        owner = await make_user(db, email=f"{name.lower()}@example.org")
        hive = Hive(
            owner_id=owner.id,
            apiary_id=await apiary_of(db, owner.id),
            name=name,
            location=point(NEAR),
            frame_type="dadant",
        )
        db.add(hive)
        await db.commit()
        owners.append((owner, hive))
    (both, apple), (strips_only, birch) = owners
    db.add(Inspection(hive_id=apple.id, scheduled_for=day))  # due today
    await db.commit()
    await strips_in(db, both, apple, day - timedelta(days=1))
    await strips_in(db, strips_only, birch, day)  # due out today
    later = Hive(
        owner_id=strips_only.id,
        apiary_id=await apiary_of(db, strips_only.id),
        name="Cherry",
        location=point(NEAR),
        frame_type="dadant",
    )
    db.add(later)
    await db.commit()
    await strips_in(db, strips_only, later, day + timedelta(days=1))  # not due yet
    for owner, browser in ((both, "both"), (strips_only, "strips")):
        device_id = await subscribe(db, owner, push_service.browser(browser), reminder_at=time(7))
        await db.execute(
            update(PushSubscription)
            .where(PushSubscription.id == device_id)
            .values(created_at=func.now() - timedelta(days=1))
        )
    await db.commit()

    await push_round(app, datetime.combine(day, time(7, 5), zone))

    [told] = push_service.to("both")
    assert told["title"] == "1 inspection to do today"
    assert told["body"] == "Apple · Strips due out: Apple"
    [strips] = push_service.to("strips")
    assert strips["title"] == "1 treatment's strips to take out today"
    assert strips["body"] == "Strips due out: Birch"


async def test_the_reporter_hears_when_the_report_is_claimed_and_collected(
    app_client, push_service, db
):
    app = app_client.server.app
    response = await app_client.post(
        "/swarms/report",
        data={
            "latitude": str(REPORT_AT[0]),
            "longitude": str(REPORT_AT[1]),
            "seen": "now",
            "height": "ground",
            "size": "small",
            "hanging_on": "",
            "description": DESCRIPTION,
            "contact": CONTACT,
            "_csrf": await csrf_token(app_client, "/swarms/report"),
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    status_link = response.headers["Location"]
    page = await (await app_client.get(status_link)).text()
    assert f'data-push-subscribe="{status_link}/push"' in page
    watched = await app_client.post(
        f"{status_link}/push",
        data={**push_service.browser("reporter").form(), "_csrf": await csrf_token(app_client)},
        allow_redirects=False,
    )
    assert watched.status == 303
    assert watched.headers["Location"] == status_link
    stored = await db.scalar(select(PushSubscription))
    assert stored is not None
    assert status_link not in str(stored.report_link)
    near = await collector(db, "Near", NEAR)
    report_id = await db.scalar(select(SwarmReport.id))
    assert report_id is not None

    await push_round(app)
    assert push_service.to("reporter") == []
    assert await swarm_queries.claim(db, report_id, near.id) is None
    await push_round(app)
    assert await swarm_queries.close(db, report_id, near.id, SwarmOutcome.collected)
    await push_round(app)

    told = push_service.to("reporter")
    assert [m["title"] for m in told] == [
        "A beekeeper is coming for the swarm",
        "The swarm was collected",
    ]
    assert {m["url"] for m in told} == {status_link}
    for message in told:
        holds_no_contact(message)


async def test_a_status_link_that_names_no_report_takes_no_subscription(app_client, push_service):
    response = await app_client.post(
        "/swarms/status/nothing-here/push",
        data={**push_service.browser("x").form(), "_csrf": await csrf_token(app_client)},
    )
    assert response.status == 404


async def test_devices_are_subscribed_switched_and_removed_on_the_profile(
    app_client, push_service, db, user
):
    await log_in(app_client, user.email)
    profile = await (await app_client.get("/profile")).text()
    assert 'hx-get="/push/devices"' in profile
    page = await (await app_client.get("/push/devices")).text()
    assert "Notify me on this phone" in page
    assert application_server_key(app_client.server.app[vapid_key]) in page
    token = await csrf_token(app_client, "/push/devices")
    phone = push_service.browser("phone")

    added = await app_client.post(
        "/push/devices",
        data={**phone.form(), "_csrf": token},
        headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Firefox/133.0"},
        allow_redirects=False,
    )
    assert added.status == 303
    listed = await (await app_client.get("/push/devices")).text()
    assert "Firefox on Android" in listed
    device = await db.scalar(select(PushSubscription))
    assert device is not None
    assert (device.swarms, device.alerts, device.reminders) == (
        True,
        True,
        True,
    )

    switched = await app_client.post(
        f"/push/devices/{device.id}",
        data={"alerts": "on", "reminder_at": "06:15", "_csrf": token},
        allow_redirects=False,
    )
    assert switched.status == 303
    await db.refresh(device)
    assert (device.swarms, device.alerts, device.reminders) == (False, True, False)
    assert device.reminder_at == time(6, 15)

    wrong = await app_client.post(
        f"/push/devices/{device.id}", data={"reminder_at": "25:99", "_csrf": token}
    )
    assert wrong.status == 422
    assert 'aria-invalid="true"' in await wrong.text()
    bad = await app_client.post("/push/devices", data={"endpoint": "nope", "_csrf": token})
    assert bad.status == 422

    removed = await app_client.post(
        f"/push/devices/{device.id}/remove", data={"_csrf": token}, allow_redirects=False
    )
    assert removed.status == 303
    assert await db.scalar(select(func.count(PushSubscription.id))) == 0


async def test_another_users_device_cannot_be_switched_or_removed(
    app_client, push_service, db, user
):
    other = await make_user(db, name="Other", email="other@example.org")
    device_id = await subscribe(db, other, push_service.browser("theirs"))
    await log_in(app_client, user.email)
    token = await csrf_token(app_client, "/push/devices")

    switched = await app_client.post(
        f"/push/devices/{device_id}", data={"reminder_at": "06:00", "_csrf": token}
    )
    removed = await app_client.post(f"/push/devices/{device_id}/remove", data={"_csrf": token})

    assert (switched.status, removed.status) == (404, 404)
    assert await db.get(PushSubscription, device_id) is not None


def test_the_vapid_key_follows_the_secret_key_unless_one_is_given(tmp_path):
    from app.push.vapid import vapid_key as load
    from app.settings import Settings

    secret = SecretStr("a-secret-key-of-the-deployment-" + "x" * 16)
    one = Settings(data_dir=tmp_path / "one", secret_key=secret)
    another = Settings(data_dir=tmp_path / "another", secret_key=secret)
    first = application_server_key(load(one))
    assert application_server_key(load(another)) == first  # replicas sign alike
    rotated = Settings(data_dir=tmp_path, secret_key=SecretStr("another-secret-" + "y" * 32))
    assert application_server_key(load(rotated)) != first
    assert not (tmp_path / "one").exists()  # nothing kept on disk

    pem = load(rotated).private_pem().decode()
    given = Settings(data_dir=tmp_path, secret_key=secret, vapid_private_key=pem)
    assert application_server_key(load(given)) == application_server_key(load(rotated))


async def test_the_app_gathers_and_sends_by_itself_in_the_background(
    aiohttp_client, push_settings, push_service, db
):
    near = await collector(db, "Near", NEAR)
    await subscribe(db, near, push_service.browser("near"))
    await add_report(db)

    await aiohttp_client(create_app(push_settings.model_copy(update={"push_check_seconds": 0.05})))
    await asyncio.wait_for(push_service.arrived.wait(), timeout=10)

    assert len(push_service.to("near")) == 1


async def test_an_endpoint_on_a_private_address_is_never_reached(
    aiohttp_client, push_settings, push_service, db
):
    guarded = push_settings.model_copy(update={"push_allow_private_addresses": False})
    client = await aiohttp_client(create_app(guarded))
    near = await collector(db, "Near", NEAR)
    await subscribe(db, near, push_service.browser("near"))  # on 127.0.0.1
    await add_report(db)

    await push_round(client.server.app)

    assert push_service.received == []
    queued = await db.scalar(select(PushNotification))
    assert queued is not None
    assert (queued.sent_at, queued.last_error) == (None, "no answer")


def test_a_vapid_key_may_be_given_as_base64url(tmp_path):
    from app.push.vapid import vapid_key as load
    from app.settings import Settings

    made = load(Settings(data_dir=tmp_path, secret_key=SecretStr("s" * 40)))
    raw = made.private_key.private_numbers().private_value.to_bytes(32, "big")
    given = Settings(data_dir=tmp_path / "elsewhere", vapid_private_key=b64url(raw))
    assert application_server_key(load(given)) == application_server_key(made)


async def test_nothing_is_reminded_on_a_day_with_nothing_due(
    app_client, push_settings, push_service, db
):
    owner = await make_user(db)
    device_id = await subscribe(db, owner, push_service.browser("owner"), reminder_at=time(7, 0))
    await db.execute(
        update(PushSubscription)
        .where(PushSubscription.id == device_id)
        .values(created_at=func.now() - timedelta(days=1))
    )
    await db.commit()
    day = datetime.now(push_settings.zone).date()

    await push_round(app_client.server.app, datetime.combine(day, time(7, 5), push_settings.zone))

    assert push_service.received == []


async def test_a_reporters_subscription_must_be_a_real_one(app_client, db):
    await add_report(db, token_hash=swarm_queries.token_hash("the-status-secret"))
    response = await app_client.post(
        "/swarms/status/the-status-secret/push",
        data={"endpoint": "not a url", "_csrf": await csrf_token(app_client)},
    )
    assert response.status == 422
    assert await db.scalar(select(func.count(PushSubscription.id))) == 0


async def test_notifications_sent_long_ago_are_forgotten(app_client, push_service, db):
    from app.push.queries import forget_old

    near = await collector(db, "Near", NEAR)
    await subscribe(db, near, push_service.browser("near"))
    await add_report(db)
    await push_round(app_client.server.app)
    await db.execute(update(PushNotification).values(created_at=func.now() - timedelta(days=40)))
    await db.commit()

    assert await forget_old(db, timedelta(days=32)) == 1
    assert await db.scalar(select(func.count(PushNotification.id))) == 0


async def test_a_notification_whose_time_to_live_ran_out_is_not_sent(app_client, push_service, db):
    app = app_client.server.app
    near = await collector(db, "Near", NEAR)
    await subscribe(db, near, push_service.browser("near"))
    push_service.answers["near"] = [503]
    await add_report(db)
    await push_round(app)  # tried once, to be tried again later
    await db.execute(
        update(PushNotification).values(
            created_at=func.now() - timedelta(hours=4), due_at=func.now()
        )
    )
    await db.commit()

    await push_round(app)

    assert push_service.received == []
    queued = await db.scalar(select(PushNotification).execution_options(populate_existing=True))
    assert queued is not None
    assert (queued.attempts, queued.last_error) == (2, "expired")
    assert queued.given_up_at is not None


async def test_a_new_collector_is_offered_notifications(app_client, user):
    await log_in(app_client, user.email)
    saved = await app_client.post(
        "/swarms/collector",
        data={
            "latitude": "52.52",
            "longitude": "13.40",
            "radius_km": "3",
            "_csrf": await csrf_token(app_client, "/swarms"),
        },
    )
    page = await saved.text()
    assert "Your collecting settings are saved." in page
    assert 'data-push-subscribe="/push/devices"' in page


async def test_replicas_claiming_at_the_same_moment_never_take_the_same_notification(
    push_service, settings, db
):
    from app.push.queries import claim_due, enqueue
    from app.push.schemas import Message, Outgoing, Urgency
    from tests.unit.conftest import engine_session

    owner = await make_user(db)
    device_id = await subscribe(db, owner, push_service.browser("phone"))
    message = Message(title="t", body="b", url="/", tag="t")
    await enqueue(
        db, [Outgoing(device_id, f"test:{n}", message, Urgency.low, 60) for n in range(30)]
    )
    all_connected = asyncio.Barrier(3)

    async def replica():
        async with engine_session(settings.async_database_url) as session:
            await session.execute(text("SELECT 1"))  # connected before the start
            await all_connected.wait()
            return [due.id for due in await claim_due(session, batch=10, lease_seconds=60)]

    taken = await asyncio.gather(replica(), replica(), replica())

    ids = [notification for batch in taken for notification in batch]
    assert sorted(ids) == sorted(set(ids))
    assert len(ids) == 30


async def test_a_push_service_that_asks_to_wait_is_given_that_time(app_client, push_service, db):
    near = await collector(db, "Near", NEAR)
    await subscribe(db, near, push_service.browser("near"))
    push_service.answers["near"] = [(429, {"Retry-After": "600"})]
    await add_report(db)

    await push_round(app_client.server.app)

    queued = await db.scalar(select(PushNotification))
    assert queued is not None
    assert queued.last_error == "HTTP 429"
    wait = (queued.due_at - datetime.now(UTC)).total_seconds()
    assert 590 < wait <= 600  # longer than the backoff's 30 s

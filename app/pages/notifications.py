"""What Web Push tells whom: gathered here, where the features meet, and queued in app/push/.

Each round (every PUSH_CHECK_SECONDS, in every app process) looks at what happened and queues
one notification per device and subject; the unique pair in push_notifications makes a second
process, or the next round, queue nothing new. Then the round sends what is due. Nothing is sent
in the request that caused it.

- a swarm report within a collector's reach (the swarm room's radius predicate); a report nobody
  claimed in PUSH_ESCALATION_MINUTES reaches PUSH_ESCALATION_EXTRA_M farther, and the collectors
  it then reaches are told (subject "swarm:<id>": nobody twice);
- a sensor alert, to the hive's owner, opening the hive;
- once a day at the device's chosen time in the city's time zone: what Today lists as due
  (inspections, and treatment strips due out);
- a reporter who asked on the status page: when their report is claimed and collected.

Every message is written in its reader's language and carries no contact and no place beyond
what its reader may see (a collector: how far away; an owner: which of their hives).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import structlog
from aiohttp import web
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession

from app.inspections.queries import today
from app.keys import db_key, push_client_key, settings_key, vapid_key
from app.models import AlertKind, SwarmClaimEventKind
from app.push import queries as push
from app.push.delivery import send_due
from app.push.schemas import Kind, Message, Outgoing, SubscriptionForm, Urgency
from app.sensors.queries import alerts_to_push
from app.sensors.schemas import ALERT_LABELS
from app.settings import Settings
from app.swarms import queries as swarms
from app.swarms.schemas import HEIGHT_LABELS, SIZE_PHRASES
from app.treatments.queries import strips_due
from app.web import i18n
from app.web.auth import device_of
from app.web.database import db_session
from app.web.formatting import ago, distance
from app.web.forms import read_form
from app.web.htmx import redirect
from app.web.i18n import N_, _, ngettext, translate

log = structlog.get_logger(__name__)

# Alerts and reporters' news older than this are not pushed any more.
LOOKBACK = timedelta(days=1)
# Sent notifications are kept this long (longer than any report stays open), so nothing is
# queued twice; then they are deleted.
KEPT = timedelta(days=32)
SEND_ROUNDS = 50  # batches one round sends at most before gathering again
# How long a push service keeps a message for a phone that is off, and how hard it tries.
SWARM = (Urgency.high, 3 * 3600)  # a swarm hangs a few hours
ALERT = (Urgency.normal, 12 * 3600)
SWARM_ALERT = (Urgency.high, 3 * 3600)
REMINDER = (Urgency.low, 6 * 3600)
REPORTER = (Urgency.normal, 24 * 3600)
REMINDER_LATE = timedelta(hours=6)  # a reminder not sent by then (server down) is skipped


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Write in `language` for a while (the round's task has no request to take it from)."""
    before = i18n.language()
    i18n.use(language)
    try:
        yield
    finally:
        i18n.use(before)


# --- each kind of news --------------------------------------------------------------------------


def swarm_message(notice: swarms.CollectorNotice, now: datetime) -> Message:
    return Message(
        title=_(
            "%(distance)s away · %(size)s",
            distance=distance(notice.distance_m),
            size=translate(SIZE_PHRASES[notice.size]),
        ),
        body=_(
            "Swarm reported: %(height)s · seen %(ago)s",
            height=translate(HEIGHT_LABELS[notice.height]),
            ago=ago(notice.seen_at, now),
        ),
        url=f"/swarms/{notice.report_id}",
        tag=f"swarm-{notice.report_id}",
        actions=(("claim", _("Claim")),),
    )


async def swarm_news(db: AsyncSession, now: datetime) -> list[Outgoing]:
    """Every collector whose reach holds an open report, on each of their devices, once."""
    notices = await swarms.collectors_to_tell(db)
    devices = await push.devices_for(db, Kind.swarms, {n.user_id for n in notices})
    by_user: dict[int, list[push.Recipient]] = {}
    for device in devices:
        by_user.setdefault(device.user_id, []).append(device)
    pairs = [
        (device, notice, f"swarm:{notice.report_id}")
        for notice in notices
        for device in by_user.get(notice.user_id, [])
    ]
    queued = await push.already_queued(db, [(d.subscription_id, s) for d, _n, s in pairs])
    outgoing = []
    for device, notice, subject in pairs:
        if (device.subscription_id, subject) in queued:
            continue
        with speaking(device.language):
            message = swarm_message(notice, now)
        outgoing.append(Outgoing(device.subscription_id, subject, message, *SWARM))
    return outgoing


async def alert_news(db: AsyncSession) -> list[Outgoing]:
    """Alerts of the last day, to the devices of each member who may read their hive."""
    raised = await alerts_to_push(db, LOOKBACK)
    devices = await push.devices_for(db, Kind.alerts, {alert.user_id for alert in raised})
    pairs = [
        (device, alert, f"alert:{alert.id}")
        for alert in raised
        for device in devices
        if device.user_id == alert.user_id
    ]
    queued = await push.already_queued(db, [(d.subscription_id, s) for d, _a, s in pairs])
    outgoing = []
    for device, alert, subject in pairs:
        if (device.subscription_id, subject) in queued:
            continue
        with speaking(device.language):
            message = Message(
                title=_(
                    "%(alert)s alert: %(hive)s",
                    alert=translate(ALERT_LABELS[alert.kind]),
                    hive=alert.hive_name,
                ),
                body=_("Open the hive to see what happened."),
                url=f"/hives/{alert.hive_id}",
                tag=f"alert-{alert.id}",
            )
        urgency = SWARM_ALERT if alert.kind == AlertKind.swarm else ALERT
        outgoing.append(Outgoing(device.subscription_id, subject, message, *urgency))
    return outgoing


@dataclass(frozen=True)
class DueToday:
    """What a beekeeper's reminder lists: the hives whose inspections Today lists as overdue
    or due, and the treatments whose strips are due out."""

    inspections: list[str]
    strips: list[str]


async def due_today(db: AsyncSession, settings: Settings, user_id: int, day: date) -> DueToday:
    agenda = await today(db, user_id, day, settings.varroa_alert_per_100)
    strips = await strips_due(db, user_id, day)
    inspections = [inspection.hive_name for inspection in [*agenda.overdue, *agenda.due_today]]
    return DueToday(inspections, [item.hive_names for item in strips])


def reminder_message(due: DueToday) -> Message:
    lines = []
    if due.inspections:
        title = ngettext(
            "%(num)s inspection to do today",
            "%(num)s inspections to do today",
            len(due.inspections),
        )
        lines.append(", ".join(due.inspections))
    else:
        title = ngettext(
            "%(num)s treatment's strips to take out today",
            "%(num)s treatments' strips to take out today",
            len(due.strips),
        )
    if due.strips:
        lines.append(_("Strips due out: %(hives)s", hives="; ".join(due.strips)))
    return Message(title=title, body=" · ".join(lines), url="/", tag="today")


async def reminders(db: AsyncSession, settings: Settings, now: datetime) -> list[Outgoing]:
    """Once a day, at each device's time in the city's zone: the inspections Today lists as
    overdue or due today and the treatment strips due out, as Today lists them (nothing when
    none are)."""
    local = now.astimezone(settings.zone)
    outgoing = []
    found: dict[int, DueToday] = {}
    subject = f"today:{local.date().isoformat()}"
    devices = await push.devices_for(db, Kind.reminders, None)
    queued = await push.already_queued(db, [(d.subscription_id, subject) for d in devices])
    for device in devices:
        moment = datetime.combine(local.date(), device.reminder_at, settings.zone)
        if (
            (device.subscription_id, subject) in queued
            or not moment <= local < moment + REMINDER_LATE
            or device.subscribed_at > moment
        ):
            continue
        if device.user_id not in found:
            found[device.user_id] = await due_today(db, settings, device.user_id, local.date())
        due = found[device.user_id]
        if not due.inspections and not due.strips:
            continue
        with speaking(device.language):
            message = reminder_message(due)
        outgoing.append(Outgoing(device.subscription_id, subject, message, *REMINDER))
    return outgoing


def link_box(settings: Settings) -> Fernet:
    """Keeps a reporter's status link unreadable in the database (the report keeps only its
    hash): encrypted with a key from SECRET_KEY, opened only to send them news."""
    assert settings.secret_key is not None
    secret = settings.secret_key.get_secret_value().encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"cityhive-push:" + secret).digest()))


async def reporter_news(db: AsyncSession, settings: Settings) -> list[Outgoing]:
    """A claim or a collection, to the browsers of the report's reporter who asked for news."""
    news = await swarms.reporter_news_since(db, LOOKBACK)
    watchers = await push.watchers_of(db, {item.report_id for item in news})
    pairs = [
        (watcher, item, f"report-event:{item.event_id}")
        for item in news
        for watcher in watchers
        if watcher.report_id == item.report_id and watcher.subscribed_at <= item.at
    ]
    queued = await push.already_queued(db, [(w.subscription_id, s) for w, _i, s in pairs])
    outgoing = []
    box = link_box(settings)
    for watcher, item, subject in pairs:
        if (watcher.subscription_id, subject) in queued:
            continue
        try:
            link = box.decrypt(watcher.report_link.encode()).decode()
        except InvalidToken:  # SECRET_KEY changed: the link cannot be read back
            link = "/swarms/report"
        with speaking(watcher.language):
            if item.kind == SwarmClaimEventKind.claimed:
                title = _("A beekeeper is coming for the swarm")
                body = _("Your swarm report was claimed.")
            else:
                title = _("The swarm was collected")
                body = _("Thank you for reporting it.")
        message = Message(title=title, body=body, url=link, tag=f"report-{item.report_id}")
        outgoing.append(Outgoing(watcher.subscription_id, subject, message, *REPORTER))
    return outgoing


# --- the rounds ---------------------------------------------------------------------------------


async def gather(app: web.Application, now: datetime | None = None) -> int:
    """Escalate what waited too long, then queue every notification not queued yet; how many
    were (tests call this with their own clock)."""
    settings = app[settings_key]
    now = now or datetime.now(UTC)
    async with app[db_key]() as db:
        await swarms.escalate_unclaimed(
            db,
            after=timedelta(minutes=settings.push_escalation_minutes),
            extra_m=settings.push_escalation_extra_m,
        )
        outgoing = [
            *await swarm_news(db, now),
            *await alert_news(db),
            *await reminders(db, settings, now),
            *await reporter_news(db, settings),
        ]
        return await push.enqueue(db, outgoing)


async def push_round(app: web.Application, now: datetime | None = None) -> int:
    """Gather, then send what is due; how many notifications were tried."""
    await gather(app, now)
    tried = 0
    for _round in range(SEND_ROUNDS):
        sent = await send_due(app, app[push_client_key], app[vapid_key])
        tried += sent
        if not sent:
            break
    return tried


async def _every(app: web.Application, seconds: float) -> None:
    rounds = 0
    while True:
        await asyncio.sleep(seconds)
        try:
            await push_round(app)
            rounds += 1
            if rounds % 1000 == 1:
                async with app[db_key]() as db:
                    await push.forget_old(db, KEPT)
        except Exception:  # a database hiccup: log it, try again next round
            log.exception("push_round_failed")


async def push_rounds_ctx(app: web.Application) -> AsyncIterator[None]:
    """The push rounds, every PUSH_CHECK_SECONDS while the app runs."""
    rounds = asyncio.create_task(_every(app, app[settings_key].push_check_seconds))
    yield
    rounds.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await rounds


# --- the reporter asks to be told ---------------------------------------------------------------

SUBSCRIPTION_UNREADABLE = N_("This browser's subscription could not be read. Please try again.")


async def watch_report(request: web.Request) -> web.Response:
    """The status page's "Notify me on this phone": this browser hears when the report is
    claimed and when it is collected. The status link is the only key, as for the page."""
    token = request.match_info["token"]
    form = await read_form(request, SubscriptionForm)
    async with db_session(request) as db:
        found = await swarms.report_by_token(db, token)
        if found is None:
            raise web.HTTPNotFound()
        if form.data is None:
            raise web.HTTPUnprocessableEntity(reason=SUBSCRIPTION_UNREADABLE)
        link = f"/swarms/status/{token}"
        await push.add_report_watcher(
            db,
            found.report.id,
            link_box(request.app[settings_key]).encrypt(link.encode()).decode(),
            form.data,
            device=device_of(request.headers.get("User-Agent", "")),
            language=i18n.language(),
        )
    return redirect(request, link)

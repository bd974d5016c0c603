"""Push subscriptions and the notifications queued for them.

A notification is a row per subscription and subject, unique: gathering the same news twice,
in one process or in several, queues it once. Sending claims due rows with FOR UPDATE SKIP
LOCKED and moves their due time past a lease in the same statement, so each row is in the hands
of one sender at a time, and a sender that dies leaves its rows to be tried again after the
lease.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import and_, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import PushNotification, PushSubscription, User
from app.push.schemas import Kind, Outgoing, SubscriptionForm, SwitchesForm

# --- subscriptions ------------------------------------------------------------------------------


async def add_device(
    db: AsyncSession, user_id: int, form: SubscriptionForm, *, device: str, language: str
) -> int:
    """The browser as one of the user's devices, all switches on. A browser that was another
    user's device (one phone, two accounts in turn) becomes this user's alone."""
    values = {"p256dh": form.p256dh, "auth": form.auth, "device": device[:100]}
    added = await db.scalar(
        insert(PushSubscription)
        .values(user_id=user_id, endpoint=form.endpoint, language=language, **values)
        .on_conflict_do_update(
            index_elements=[PushSubscription.endpoint],
            index_where=PushSubscription.user_id.is_not(None),
            set_={"user_id": user_id, **values},
        )
        .returning(PushSubscription.id)
    )
    await db.commit()
    return cast(int, added)


async def add_report_watcher(
    db: AsyncSession,
    report_id: int,
    report_link: str,
    form: SubscriptionForm,
    *,
    device: str,
    language: str,
) -> int:
    """A reporter's browser, to be told when their report is claimed and collected."""
    values = {"p256dh": form.p256dh, "auth": form.auth, "language": language}
    added = await db.scalar(
        insert(PushSubscription)
        .values(
            swarm_report_id=report_id,
            report_link=report_link,
            endpoint=form.endpoint,
            device=device[:100],
            swarms=False,
            alerts=False,
            reminders=False,
            **values,
        )
        .on_conflict_do_update(
            index_elements=[PushSubscription.endpoint, PushSubscription.swarm_report_id],
            index_where=PushSubscription.swarm_report_id.is_not(None),
            set_=values,
        )
        .returning(PushSubscription.id)
    )
    await db.commit()
    return cast(int, added)


async def devices_of(db: AsyncSession, user_id: int) -> list[PushSubscription]:
    """The user's devices, first subscribed first."""
    found = await db.scalars(
        select(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.created_at, PushSubscription.id)
    )
    return list(found)


async def set_switches(db: AsyncSession, user_id: int, device_id: int, form: SwitchesForm) -> bool:
    """False, and nothing changed, when the device is not the user's."""
    changed = await db.scalar(
        update(PushSubscription)
        .where(PushSubscription.id == device_id, PushSubscription.user_id == user_id)
        .values(**form.model_dump())
        .returning(PushSubscription.id)
    )
    await db.commit()
    return changed is not None


async def remove_device(db: AsyncSession, user_id: int, device_id: int) -> bool:
    removed = await db.scalar(
        delete(PushSubscription)
        .where(PushSubscription.id == device_id, PushSubscription.user_id == user_id)
        .returning(PushSubscription.id)
    )
    await db.commit()
    return removed is not None


# --- who is told --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """A device with the kind switched on: in its user's language (or the one it subscribed
    in), and when it wants the day's reminder."""

    subscription_id: int
    user_id: int
    language: str
    reminder_at: time
    subscribed_at: datetime


async def devices_for(
    db: AsyncSession, kind: Kind, user_ids: Iterable[int] | None
) -> list[Recipient]:
    """The devices of these users (None: of everyone) that have `kind` switched on."""
    selection = (
        select(
            PushSubscription.id,
            PushSubscription.user_id,
            func.coalesce(User.language, PushSubscription.language),
            PushSubscription.reminder_at,
            PushSubscription.created_at,
        )
        .join(User, User.id == PushSubscription.user_id)
        .where(getattr(PushSubscription, kind.value))
        .order_by(PushSubscription.id)
    )
    if user_ids is not None:
        selection = selection.where(PushSubscription.user_id.in_(sorted(set(user_ids))))
    rows = await db.execute(selection)
    return [Recipient(row[0], cast(int, row[1]), row[2], row[3], row[4]) for row in rows]


@dataclass(frozen=True)
class Watcher:
    """A reporter's browser waiting for news of one report."""

    subscription_id: int
    report_id: int
    language: str
    report_link: str
    subscribed_at: datetime


async def watchers_of(db: AsyncSession, report_ids: Iterable[int]) -> list[Watcher]:
    wanted = sorted(set(report_ids))
    if not wanted:
        return []
    rows = await db.execute(
        select(
            PushSubscription.id,
            PushSubscription.swarm_report_id,
            PushSubscription.language,
            PushSubscription.report_link,
            PushSubscription.created_at,
        )
        .where(PushSubscription.swarm_report_id.in_(wanted))
        .order_by(PushSubscription.id)
    )
    return [Watcher(row[0], cast(int, row[1]), row[2], str(row[3]), row[4]) for row in rows]


async def already_queued(
    db: AsyncSession, pairs: Sequence[tuple[int, str]]
) -> set[tuple[int, str]]:
    """Which of these (subscription, subject) pairs have their notification queued already."""
    if not pairs:
        return set()
    rows = await db.execute(
        select(PushNotification.subscription_id, PushNotification.subject).where(
            tuple_(PushNotification.subscription_id, PushNotification.subject).in_(pairs)
        )
    )
    return {(row[0], row[1]) for row in rows}


async def enqueue(db: AsyncSession, outgoing: Sequence[Outgoing]) -> int:
    """Queue the notifications that are not queued yet; how many were."""
    if not outgoing:
        return 0
    queued = await db.scalars(
        insert(PushNotification)
        .values(
            [
                {
                    "subscription_id": item.subscription_id,
                    "subject": item.subject,
                    "payload": item.message.as_json(),
                    "urgency": item.urgency.value,
                    "ttl_seconds": item.ttl_seconds,
                }
                for item in outgoing
            ]
        )
        .on_conflict_do_nothing(index_elements=["subscription_id", "subject"])
        .returning(PushNotification.id)
    )
    count = len(list(queued))
    await db.commit()
    return count


# --- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A notification claimed for sending, with where it goes."""

    id: int
    subscription_id: int
    payload: dict[str, Any]
    urgency: str
    ttl_seconds: int
    attempts: int
    endpoint: str
    p256dh: str
    auth: str


CLAIM_DUE = text(
    """
    WITH due AS (
        SELECT id FROM push_notifications
        WHERE sent_at IS NULL AND given_up_at IS NULL AND due_at <= now()
        ORDER BY due_at, id
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    UPDATE push_notifications AS n
    SET due_at = now() + make_interval(secs => :lease), attempts = n.attempts + 1
    FROM due, push_subscriptions AS s
    WHERE n.id = due.id AND s.id = n.subscription_id
    RETURNING n.id, n.subscription_id, n.payload, n.urgency,
              -- what is left of its time to live (a retry is not given it afresh)
              greatest(0, n.ttl_seconds - extract(epoch FROM now() - n.created_at))::int,
              n.attempts, s.endpoint, s.p256dh, s.auth
    """
)


async def claim_due(db: AsyncSession, *, batch: int, lease_seconds: float) -> list[Due]:
    """Take up to `batch` due notifications for this sender (see the module's note)."""
    rows = await db.execute(CLAIM_DUE, {"batch": batch, "lease": lease_seconds})
    claimed = [Due(*row) for row in rows]
    await db.commit()
    return sorted(claimed, key=lambda due: due.id)


async def mark_sent(db: AsyncSession, notification_id: int) -> None:
    await db.execute(
        update(PushNotification)
        .where(PushNotification.id == notification_id)
        .values(sent_at=func.now(), last_error="")
    )
    await db.commit()


async def retry_later(db: AsyncSession, notification_id: int, wait: timedelta, error: str) -> None:
    await db.execute(
        update(PushNotification)
        .where(PushNotification.id == notification_id)
        .values(due_at=func.now() + wait, last_error=error[:200])
    )
    await db.commit()


async def give_up(db: AsyncSession, notification_id: int, error: str) -> None:
    await db.execute(
        update(PushNotification)
        .where(PushNotification.id == notification_id)
        .values(given_up_at=func.now(), last_error=error[:200])
    )
    await db.commit()


async def remove_subscription(db: AsyncSession, subscription_id: int) -> None:
    """The push service no longer knows it (404, 410): gone, with its notifications."""
    await db.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))
    await db.commit()


async def forget_old(db: AsyncSession, older_than: timedelta) -> int:
    """Notifications sent or given up on long ago: only their uniqueness kept them."""
    forgotten = await db.scalars(
        delete(PushNotification)
        .where(
            PushNotification.created_at < func.now() - older_than,
            and_(
                (PushNotification.sent_at.is_not(None))
                | (PushNotification.given_up_at.is_not(None))
            ),
        )
        .returning(PushNotification.id)
    )
    count = len(list(forgotten))
    await db.commit()
    return count

"""Swarm reports' SQL: report, look up by status link, find near a collector, claim, close.

What a collector may see and do is decided by one predicate, `in_collector_radius()`: the list,
the map, the report page and the claim all use it, so a report id from anywhere else (they are
sequential) opens nothing and claims nothing.

A claim is one UPDATE that only an open, unexpired report within the collector's radius matches,
so of any number of collectors claiming at once exactly one changes the row and everyone else
changes nothing. Every claim, release and close writes its event in the same transaction.

A reporter's contact is never loaded with a report: reading it raises. `held_contact()` is the
one way to it, for the collector holding the claim.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer

from app.geo import point, within_metres
from app.models import (
    SwarmClaimEvent,
    SwarmClaimEventKind,
    SwarmCollector,
    SwarmHeight,
    SwarmOutcome,
    SwarmReport,
    SwarmSize,
    SwarmStatus,
)
from app.swarms.schemas import (
    HEIGHT_LABELS,
    HEIGHT_PHRASES,
    OUTCOME_LABELS,
    OUTCOME_PHRASES,
    SEEN_AGO,
    SIZE_LABELS,
    SIZE_PHRASES,
    CollectorForm,
    SwarmReportForm,
)
from app.web import i18n
from app.web.i18n import N_, translate

TOKEN_BYTES = 24  # 32 URL-safe characters


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def in_collector_radius() -> str:
    """SQL true when the report `r` lies within the radius of the collector `c`: the one test of
    which reports are a collector's to see and to claim.

    `within_metres` puts a box around the collector's base that the GiST index on
    swarm_reports.location serves, then measures on the spheroid. A report nobody claimed in
    time reaches farther: `reach_extra_m` metres beyond every radius (see escalate_unclaimed);
    the box is wide enough for the farthest reach, MAX_EXTRA_REACH_M.
    """
    return within_metres(
        "r.location",
        "c.location",
        "(c.radius_m + r.reach_extra_m)",
        box_metres=f"(c.radius_m + {MAX_EXTRA_REACH_M})",
    )


# The farthest beyond their radius that collectors may see an escalated report
# (PUSH_ESCALATION_EXTRA_M is at most this).
MAX_EXTRA_REACH_M = 10_000


# Open, and still waiting: what a collector's lists offer and what a claim may take.
OPEN_AND_WAITING = "r.status = 'open' AND r.expires_at > now()"
# Who may open a report's page: its claimer (while claimed, or after closing it), and every
# collector whose radius holds it. For anyone else the report does not exist.
VISIBLE_TO_USER = f"""(
    r.claimed_by = :user_id
    OR EXISTS (SELECT 1 FROM swarm_collectors AS c
               WHERE c.user_id = :user_id AND {in_collector_radius()})
)"""  # noqa: S608 - built from constants; values are bound parameters


# --- reporting ---------------------------------------------------------------------------------


async def create_report(
    db: AsyncSession, form: SwarmReportForm, *, address: str, expires_in: timedelta
) -> str:
    """Store the report; returns the secret for its status link (only its hash is kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await db.execute(
        insert(SwarmReport).values(
            location=point(form.latitude, form.longitude),
            seen_at=func.now() - SEEN_AGO[form.seen],
            height=form.height,
            hanging_on=form.hanging_on,
            size=form.size,
            description=form.description,
            contact=form.contact,
            status_token_hash=token_hash(token),
            reporter_address=address,
            expires_at=func.now() + expires_in,
        )
    )
    await db.commit()
    return token


class Stage(enum.StrEnum):
    """Where a report is, as its reporter and collectors see it."""

    reported = "reported"  # open: waiting for a collector
    claimed = "claimed"
    collected = "collected"
    closed = "closed"  # gone, not honeybees, or expired without a claim


STAGE_LABELS = {
    Stage.reported: N_("Reported"),
    Stage.claimed: N_("Claimed"),
    Stage.collected: N_("Collected"),
    Stage.closed: N_("Closed"),
}
# An unclaimed report that expired: what happened, as a label and inside a sentence.
EXPIRED_LABEL = N_("Nobody could come in time")
EXPIRED_PHRASE = N_("nobody could come in time")


@dataclass(frozen=True)
class ReportView:
    """A report with its coordinates and where it stands."""

    report: SwarmReport
    latitude: float
    longitude: float
    expired: bool

    @property
    def stage(self) -> Stage:
        report = self.report
        if report.status == SwarmStatus.claimed:
            return Stage.claimed
        if report.status == SwarmStatus.closed:
            return Stage.collected if report.outcome == SwarmOutcome.collected else Stage.closed
        return Stage.closed if self.expired else Stage.reported

    @property
    def stage_label(self) -> str:
        return translate(STAGE_LABELS[self.stage])

    @property
    def outcome_label(self) -> str:
        if self.report.outcome is not None:
            return translate(OUTCOME_LABELS[self.report.outcome])
        return translate(EXPIRED_LABEL) if self.expired else ""

    @property
    def outcome_phrase(self) -> str:
        """The outcome inside a sentence ("This report is closed: not honeybees.")."""
        if self.report.outcome is not None:
            return translate(OUTCOME_PHRASES[self.report.outcome])
        return translate(EXPIRED_PHRASE) if self.expired else ""

    @property
    def claimable(self) -> bool:
        return self.stage == Stage.reported

    @property
    def size_label(self) -> str:
        return translate(SIZE_LABELS[self.report.size])

    @property
    def height_label(self) -> str:
        return translate(HEIGHT_LABELS[self.report.height])


# Reports are read as `r`, the name the SQL fragments above use.
_REPORT = aliased(SwarmReport, name="r")


def _with_coordinates() -> Any:
    """A report with its coordinates and whether it expired; without its contact, which raises
    when read (see held_contact)."""
    return select(
        _REPORT,
        func.ST_Y(_REPORT.location),
        func.ST_X(_REPORT.location),
        _REPORT.expires_at <= func.now(),
    ).options(defer(_REPORT.contact, raiseload=True))


def _view(row: Any) -> ReportView:
    return ReportView(row[0], row[1], row[2], bool(row[3]))


async def report_by_token(db: AsyncSession, token: str) -> ReportView | None:
    row = (
        await db.execute(_with_coordinates().where(_REPORT.status_token_hash == token_hash(token)))
    ).first()
    return None if row is None else _view(row)


async def report_for(db: AsyncSession, report_id: int, user_id: int) -> ReportView | None:
    """The report as this user may see it: None when it does not exist *for them* (outside
    their radius and not claimed by them), exactly as when it does not exist at all."""
    row = (
        await db.execute(
            _with_coordinates().where(
                _REPORT.id == report_id, text(VISIBLE_TO_USER).bindparams(user_id=user_id)
            )
        )
    ).first()
    return None if row is None else _view(row)


async def held_contact(db: AsyncSession, report_id: int, user_id: int) -> str | None:
    """The reporter's contact, for the collector holding the claim and while they hold it;
    None for everyone else, and for them too once they have released or closed it."""
    contact: str | None = await db.scalar(
        select(SwarmReport.contact).where(
            SwarmReport.id == report_id,
            SwarmReport.claimed_by == user_id,
            SwarmReport.status == SwarmStatus.claimed,
        )
    )
    return contact


async def claimed_by(db: AsyncSession, user_id: int) -> list[ReportView]:
    """The reports this collector has claimed and not yet closed, oldest claim first."""
    rows = await db.execute(
        _with_coordinates()
        .where(_REPORT.claimed_by == user_id, _REPORT.status == SwarmStatus.claimed)
        .order_by(_REPORT.claimed_at, _REPORT.id)
    )
    return [_view(row) for row in rows]


# --- collectors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectorView:
    latitude: float
    longitude: float
    radius_m: int

    @property
    def radius_km(self) -> float:
        return self.radius_m / 1000


async def collector_of(db: AsyncSession, user_id: int) -> CollectorView | None:
    row = (
        await db.execute(
            select(
                func.ST_Y(SwarmCollector.location),
                func.ST_X(SwarmCollector.location),
                SwarmCollector.radius_m,
            ).where(SwarmCollector.user_id == user_id)
        )
    ).first()
    return None if row is None else CollectorView(row[0], row[1], row[2])


async def save_collector(db: AsyncSession, user_id: int, form: CollectorForm) -> None:
    values = {
        "location": point(form.latitude, form.longitude),
        "radius_m": round(form.radius_km * 1000),
    }
    await db.execute(
        pg_insert(SwarmCollector)
        .values(user_id=user_id, **values)
        .on_conflict_do_update(
            index_elements=[SwarmCollector.user_id], set_={**values, "updated_at": func.now()}
        )
    )
    await db.commit()


async def stop_collecting(db: AsyncSession, user_id: int) -> None:
    await db.execute(delete(SwarmCollector).where(SwarmCollector.user_id == user_id))
    await db.commit()


@dataclass(frozen=True)
class NearbyReport:
    """An open report within a collector's radius, for the list on Today and /swarms."""

    id: int
    distance_m: float
    seen_at: datetime
    size: SwarmSize
    height: SwarmHeight
    hanging_on: str
    description: str

    @property
    def size_label(self) -> str:
        return translate(SIZE_LABELS[self.size])

    @property
    def height_label(self) -> str:
        return translate(HEIGHT_LABELS[self.height])

    @property
    def size_phrase(self) -> str:
        """The size inside a sentence ("850 m away · about a football")."""
        return translate(SIZE_PHRASES[self.size])

    @property
    def height_phrase(self) -> str:
        return translate(HEIGHT_PHRASES[self.height])


# The collector's row gives the centre and the radius.
_NEAR = f"""
    SELECT r.id,
           ST_Distance(r.location::geography, c.location::geography) AS distance_m,
           r.seen_at, r.size, r.height, r.hanging_on, r.description,
           ST_Y(r.location) AS latitude, ST_X(r.location) AS longitude
    FROM swarm_collectors AS c
    JOIN swarm_reports AS r ON {in_collector_radius()}
    WHERE c.user_id = :user_id AND {OPEN_AND_WAITING}
    ORDER BY distance_m, r.id
"""  # noqa: S608 - built from constants; values are bound parameters
OPEN_REPORTS_NEAR = text(_NEAR + " LIMIT :limit")
ALL_OPEN_REPORTS_NEAR = text(_NEAR)


async def open_reports_near(
    db: AsyncSession, user_id: int, *, limit: int | None = 20
) -> list[NearbyReport]:
    """Open, unexpired reports within the user's collector radius, nearest first (empty when
    the user does not collect swarms); at most `limit`, or all of them with None."""
    if limit is None:
        rows = await db.execute(ALL_OPEN_REPORTS_NEAR, {"user_id": user_id})
    else:
        rows = await db.execute(OPEN_REPORTS_NEAR, {"user_id": user_id, "limit": limit})
    return [
        NearbyReport(
            id=row.id,
            distance_m=row.distance_m,
            seen_at=row.seen_at,
            size=SwarmSize(row.size),
            height=SwarmHeight(row.height),
            hanging_on=row.hanging_on,
            description=row.description,
        )
        for row in rows
    ]


# The collector's map layer: the same reports, as GeoJSON built by PostGIS. Only what a
# collector needs to choose one; the contact stays on the report page of whoever claims it.
OPEN_REPORTS_GEOJSON = text(
    f"""
    WITH near AS ({_NEAR} LIMIT :limit)
    SELECT json_build_object(
        'type', 'FeatureCollection',
        'features', COALESCE(json_agg(json_build_object(
            'type', 'Feature',
            'id', id,
            'geometry', json_build_object(
                'type', 'Point',
                'coordinates', json_build_array(round(longitude::numeric, 6),
                                                round(latitude::numeric, 6))
            ),
            'properties', json_build_object(
                'distance_m', round(distance_m::numeric),
                'size', size,
                'seen_at', seen_at,
                'url', '/swarms/' || id
            )
        ) ORDER BY distance_m, id), '[]'::json)
    )::text
    FROM near
    """  # noqa: S608 - built from constants; values are bound parameters
)


async def open_reports_geojson(db: AsyncSession, user_id: int, *, limit: int = 200) -> str:
    return str(await db.scalar(OPEN_REPORTS_GEOJSON, {"user_id": user_id, "limit": limit}))


# --- claiming and closing ----------------------------------------------------------------------


class ClaimRefused(enum.StrEnum):
    """Why a claim changed nothing."""

    missing = "missing"  # no such report, or not within this collector's radius
    claimed = "claimed"  # by another collector
    yours = "yours"  # already claimed by this collector
    closed = "closed"
    expired = "expired"


# The claim: the report must be one the collector's list offers (same predicates), and the
# event is written by the same statement, so there is no claim without its record.
CLAIM = text(
    f"""
    WITH won AS (
        UPDATE swarm_reports AS r
        SET status = 'claimed', claimed_by = c.user_id, claimed_at = now()
        FROM swarm_collectors AS c
        WHERE c.user_id = :user_id AND r.id = :report_id
          AND {OPEN_AND_WAITING} AND {in_collector_radius()}
        RETURNING r.id
    )
    INSERT INTO swarm_claim_events (report_id, collector_id, kind)
    SELECT id, :user_id, 'claimed' FROM won
    RETURNING report_id
    """  # noqa: S608 - built from constants; values are bound parameters
)


async def claim(db: AsyncSession, report_id: int, user_id: int) -> ClaimRefused | None:
    """Claim the report for the user: None if this claim won, else why it did not."""
    won = await db.scalar(CLAIM, {"report_id": report_id, "user_id": user_id})
    await db.commit()
    if won is not None:
        return None
    found = await report_for(db, report_id, user_id)
    if found is None:
        return ClaimRefused.missing
    if found.report.status == SwarmStatus.claimed:
        return ClaimRefused.yours if found.report.claimed_by == user_id else ClaimRefused.claimed
    if found.report.status == SwarmStatus.closed:
        return ClaimRefused.closed
    # Open: it expired, or was claimed and given back while this claim was being made.
    return ClaimRefused.expired if found.expired else ClaimRefused.claimed


async def _end_claim(
    db: AsyncSession,
    report_id: int,
    user_id: int,
    kind: SwarmClaimEventKind,
    values: dict[str, Any],
) -> bool:
    """End the user's claim on the report (release or close) and record it, in one transaction:
    False, and nothing changed, if they do not hold it."""
    ended = await _end_claim_in(db, report_id, user_id, kind, values)
    await db.commit()
    return ended


async def _end_claim_in(
    db: AsyncSession,
    report_id: int,
    user_id: int,
    kind: SwarmClaimEventKind,
    values: dict[str, Any],
) -> bool:
    """_end_claim, in the caller's transaction (which commits it with its own writes)."""
    ended = await db.scalar(
        update(SwarmReport)
        .where(
            SwarmReport.id == report_id,
            SwarmReport.claimed_by == user_id,
            SwarmReport.status == SwarmStatus.claimed,
        )
        .values(**values)
        .returning(SwarmReport.id)
    )
    if ended is not None:
        await db.execute(
            insert(SwarmClaimEvent).values(report_id=report_id, collector_id=user_id, kind=kind)
        )
    return ended is not None


async def release(db: AsyncSession, report_id: int, user_id: int) -> bool:
    """Give a claimed report back to the other collectors (it keeps its expiry time)."""
    values = {"status": SwarmStatus.open, "claimed_by": None, "claimed_at": None}
    return await _end_claim(db, report_id, user_id, SwarmClaimEventKind.released, values)


async def close(db: AsyncSession, report_id: int, user_id: int, outcome: SwarmOutcome) -> bool:
    """Close a report the user has claimed, with what happened."""
    values = {"status": SwarmStatus.closed, "outcome": outcome, "closed_at": func.now()}
    return await _end_claim(db, report_id, user_id, SwarmClaimEventKind.closed, values)


async def close_collected_in(db: AsyncSession, report_id: int, user_id: int) -> bool:
    """Close a report the user has claimed as collected, in the caller's transaction: the swarm
    was caught into one of their hives (app/pages/swarm_capture.py). False, and nothing
    changed, if they do not hold its claim."""
    values = {
        "status": SwarmStatus.closed,
        "outcome": SwarmOutcome.collected,
        "closed_at": func.now(),
    }
    return await _end_claim_in(db, report_id, user_id, SwarmClaimEventKind.closed, values)


# --- the record the reporter sees --------------------------------------------------------------


CLAIMED_EVENT = N_("Claimed by a beekeeper")
RELEASED_EVENT = N_("Released: the beekeeper could not come after all")


@dataclass(frozen=True)
class ClaimEventView:
    """One line of a report's history as its reporter reads it: what happened and when, in the
    city's time zone. Never who: the reporter learns of "a beekeeper", as everywhere else."""

    kind: SwarmClaimEventKind
    at: datetime  # in the city's time zone
    outcome: SwarmOutcome | None
    today: datetime  # now, in the same zone

    @property
    def what(self) -> str:
        if self.kind == SwarmClaimEventKind.claimed:
            return translate(CLAIMED_EVENT)
        if self.kind == SwarmClaimEventKind.released:
            return translate(RELEASED_EVENT)
        if self.outcome is not None:
            return translate(OUTCOME_LABELS[self.outcome])
        return translate(STAGE_LABELS[Stage.closed])

    @property
    def when(self) -> str:
        """'10:02' today; '5 December, 10:02' on another day (5. Dezember, 5 décembre), in the
        reader's language."""
        locale = i18n.format_locale()
        clock = format_time(self.at, "HH:mm", locale=locale)
        if self.at.date() == self.today.date():
            return clock
        day = format_skeleton("MMMMd", self.at, locale=locale)
        return i18n._("%(date)s, %(time)s", date=day, time=clock)


async def claim_history(db: AsyncSession, report_id: int, zone: ZoneInfo) -> list[ClaimEventView]:
    """Every claim, release and close of the report, oldest first."""
    rows = await db.execute(
        select(SwarmClaimEvent.kind, SwarmClaimEvent.at, SwarmReport.outcome)
        .join(SwarmReport, SwarmReport.id == SwarmClaimEvent.report_id)
        .where(SwarmClaimEvent.report_id == report_id)
        .order_by(SwarmClaimEvent.at, SwarmClaimEvent.id)
    )
    now = datetime.now(zone)
    return [
        ClaimEventView(
            kind=kind,
            at=at.astimezone(zone),
            outcome=outcome if kind == SwarmClaimEventKind.closed else None,
            today=now,
        )
        for kind, at, outcome in rows
    ]


# --- what collectors and reporters are told (gathered for Web Push by app/pages/) ---------------


async def escalate_unclaimed(db: AsyncSession, *, after: timedelta, extra_m: int) -> list[int]:
    """Open reports nobody claimed within `after` of being reported now reach `extra_m` metres
    beyond every collector's radius; the ids of those escalated by this call (once each)."""
    escalated = await db.scalars(
        update(SwarmReport)
        .where(
            SwarmReport.status == SwarmStatus.open,
            SwarmReport.expires_at > func.now(),
            SwarmReport.created_at <= func.now() - after,
            SwarmReport.reach_extra_m < extra_m,
        )
        .values(reach_extra_m=extra_m)
        .returning(SwarmReport.id)
    )
    ids = sorted(escalated)
    await db.commit()
    return ids


@dataclass(frozen=True)
class CollectorNotice:
    """An open report within a collector's reach: what a notification may tell them (never the
    reporter's words or contact)."""

    report_id: int
    user_id: int
    distance_m: float
    seen_at: datetime
    size: SwarmSize
    height: SwarmHeight


COLLECTORS_TO_TELL = text(
    f"""
    SELECT r.id AS report_id, c.user_id,
           ST_Distance(r.location::geography, c.location::geography) AS distance_m,
           r.seen_at, r.size, r.height
    FROM swarm_reports AS r
    JOIN swarm_collectors AS c ON {in_collector_radius()}
    WHERE {OPEN_AND_WAITING}
    ORDER BY r.id, distance_m, c.user_id
    """  # noqa: S608 - built from constants; values are bound parameters
)


async def collectors_to_tell(db: AsyncSession) -> list[CollectorNotice]:
    """Every open, unexpired report with every collector whose reach holds it."""
    rows = await db.execute(COLLECTORS_TO_TELL)
    return [
        CollectorNotice(
            report_id=row.report_id,
            user_id=row.user_id,
            distance_m=row.distance_m,
            seen_at=row.seen_at,
            size=SwarmSize(row.size),
            height=SwarmHeight(row.height),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ReporterNews:
    """A claim, or a close with the swarm collected: what a reporter hears about."""

    event_id: int
    report_id: int
    kind: SwarmClaimEventKind
    at: datetime


async def reporter_news_since(db: AsyncSession, since: timedelta) -> list[ReporterNews]:
    """Claims and collections of the last `since`, oldest first."""
    rows = await db.execute(
        select(
            SwarmClaimEvent.id, SwarmClaimEvent.report_id, SwarmClaimEvent.kind, SwarmClaimEvent.at
        )
        .join(SwarmReport, SwarmReport.id == SwarmClaimEvent.report_id)
        .where(
            SwarmClaimEvent.at > func.now() - since,
            (SwarmClaimEvent.kind == SwarmClaimEventKind.claimed)
            | (
                (SwarmClaimEvent.kind == SwarmClaimEventKind.closed)
                & (SwarmReport.outcome == SwarmOutcome.collected)
            ),
        )
        .order_by(SwarmClaimEvent.id)
    )
    return [ReporterNews(*row) for row in rows]

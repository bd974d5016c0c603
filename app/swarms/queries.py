"""Swarm reports' SQL: report, look up by status link, find near a collector, claim, close.

A claim is one UPDATE that only an open, unexpired report matches, so of any number of
collectors claiming at once exactly one changes the row and everyone else changes nothing.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.city.grid import within_metres
from app.models import (
    SwarmCollector,
    SwarmHeight,
    SwarmOutcome,
    SwarmReport,
    SwarmSize,
    SwarmStatus,
)
from app.swarms.schemas import (
    HEIGHT_LABELS,
    OUTCOME_LABELS,
    SEEN_AGO,
    SIZE_LABELS,
    CollectorForm,
    SwarmReportForm,
)

TOKEN_BYTES = 24  # 32 URL-safe characters


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _point(latitude: float, longitude: float) -> Any:
    return func.ST_SetSRID(func.ST_MakePoint(longitude, latitude), 4326)


def ago(moment: datetime, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago': times that read the same to everyone,
    whatever their time zone."""
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 3600:
        return f"{round(seconds / 60)} min ago"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


# --- reporting ---------------------------------------------------------------------------------


async def create_report(
    db: AsyncSession, form: SwarmReportForm, *, address: str, expires_in: timedelta
) -> str:
    """Store the report; returns the secret for its status link (only its hash is kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await db.execute(
        insert(SwarmReport).values(
            location=_point(form.latitude, form.longitude),
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


async def retry_after(db: AsyncSession, *, address: str, window: timedelta, limit: int) -> int:
    """Seconds until this address may report again, 0 if now: the wait ends when the report
    that brought it to the limit leaves the window."""
    releasing = await db.scalar(
        select(SwarmReport.created_at)
        .where(
            SwarmReport.reporter_address == address,
            SwarmReport.created_at > func.now() - window,
        )
        .order_by(SwarmReport.created_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if releasing is None:
        return 0
    return max(1, int((releasing + window - datetime.now(UTC)).total_seconds()) + 1)


class Stage(enum.StrEnum):
    """Where a report is, as its reporter and collectors see it."""

    reported = "reported"  # open: waiting for a collector
    claimed = "claimed"
    collected = "collected"
    closed = "closed"  # gone, not honeybees, or expired without a claim


STAGE_LABELS = {
    Stage.reported: "Reported",
    Stage.claimed: "Claimed",
    Stage.collected: "Collected",
    Stage.closed: "Closed",
}


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
        return STAGE_LABELS[self.stage]

    @property
    def outcome_label(self) -> str:
        if self.report.outcome is not None:
            return OUTCOME_LABELS[self.report.outcome]
        return "Nobody could come in time" if self.expired else ""

    @property
    def claimable(self) -> bool:
        return self.stage == Stage.reported

    @property
    def size_label(self) -> str:
        return SIZE_LABELS[self.report.size]

    @property
    def height_label(self) -> str:
        return HEIGHT_LABELS[self.report.height]

    @property
    def seen_ago(self) -> str:
        return ago(self.report.seen_at)

    @property
    def reported_ago(self) -> str:
        return ago(self.report.created_at)


def _with_coordinates() -> Any:
    return select(
        SwarmReport,
        func.ST_Y(SwarmReport.location),
        func.ST_X(SwarmReport.location),
        SwarmReport.expires_at <= func.now(),
    )


def _view(row: Any) -> ReportView:
    return ReportView(row[0], row[1], row[2], bool(row[3]))


async def report_by_token(db: AsyncSession, token: str) -> ReportView | None:
    row = (
        await db.execute(
            _with_coordinates().where(SwarmReport.status_token_hash == token_hash(token))
        )
    ).first()
    return None if row is None else _view(row)


async def report_by_id(db: AsyncSession, report_id: int) -> ReportView | None:
    row = (await db.execute(_with_coordinates().where(SwarmReport.id == report_id))).first()
    return None if row is None else _view(row)


async def claimed_by(db: AsyncSession, user_id: int) -> list[ReportView]:
    """The reports this collector has claimed and not yet closed, oldest claim first."""
    rows = await db.execute(
        _with_coordinates()
        .where(SwarmReport.claimed_by == user_id, SwarmReport.status == SwarmStatus.claimed)
        .order_by(SwarmReport.claimed_at, SwarmReport.id)
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
        "location": _point(form.latitude, form.longitude),
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
    def distance_text(self) -> str:
        metres = round(self.distance_m, -1)
        if metres < 1000:
            return f"{metres:.0f} m"
        return f"{self.distance_m / 1000:.1f} km"

    @property
    def size_label(self) -> str:
        return SIZE_LABELS[self.size]

    @property
    def height_label(self) -> str:
        return HEIGHT_LABELS[self.height]

    @property
    def seen_ago(self) -> str:
        return ago(self.seen_at)


# The collector's row gives the centre and the radius; `within_metres` puts a box around it that
# the GiST index on swarm_reports.location serves, then measures on the spheroid.
_NEAR = f"""
    SELECT r.id,
           ST_Distance(r.location::geography, c.location::geography) AS distance_m,
           r.seen_at, r.size, r.height, r.hanging_on, r.description,
           ST_Y(r.location) AS latitude, ST_X(r.location) AS longitude
    FROM swarm_collectors AS c
    JOIN swarm_reports AS r
      ON {within_metres("r.location", "c.location", "c.radius_m")}
    WHERE c.user_id = :user_id AND r.status = 'open' AND r.expires_at > now()
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

    missing = "missing"
    claimed = "claimed"  # by another collector
    yours = "yours"  # already claimed by this collector
    closed = "closed"
    expired = "expired"


async def claim(db: AsyncSession, report_id: int, user_id: int) -> ClaimRefused | None:
    """Claim the report for the user: None if this claim won, else why it did not."""
    won = await db.scalar(
        update(SwarmReport)
        .where(
            SwarmReport.id == report_id,
            SwarmReport.status == SwarmStatus.open,
            SwarmReport.expires_at > func.now(),
        )
        .values(status=SwarmStatus.claimed, claimed_by=user_id, claimed_at=func.now())
        .returning(SwarmReport.id)
    )
    await db.commit()
    if won is not None:
        return None
    found = await report_by_id(db, report_id)
    if found is None:
        return ClaimRefused.missing
    if found.report.status == SwarmStatus.claimed:
        return ClaimRefused.yours if found.report.claimed_by == user_id else ClaimRefused.claimed
    if found.report.status == SwarmStatus.closed:
        return ClaimRefused.closed
    return ClaimRefused.expired


async def release(db: AsyncSession, report_id: int, user_id: int) -> bool:
    """Give a claimed report back to the other collectors (it keeps its expiry time)."""
    result = await db.execute(
        update(SwarmReport)
        .where(
            SwarmReport.id == report_id,
            SwarmReport.claimed_by == user_id,
            SwarmReport.status == SwarmStatus.claimed,
        )
        .values(status=SwarmStatus.open, claimed_by=None, claimed_at=None)
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def close(db: AsyncSession, report_id: int, user_id: int, outcome: SwarmOutcome) -> bool:
    """Close a report the user has claimed, with what happened."""
    result = await db.execute(
        update(SwarmReport)
        .where(
            SwarmReport.id == report_id,
            SwarmReport.claimed_by == user_id,
            SwarmReport.status == SwarmStatus.claimed,
        )
        .values(status=SwarmStatus.closed, outcome=outcome, closed_at=func.now())
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]

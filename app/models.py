"""The whole data model, top to bottom. Each later feature adds its tables here and a migration."""

from __future__ import annotations

import enum
from datetime import date, datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ENUM, INET
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    """A beekeeper with an account. Emails are stored lower-cased, so they are unique as typed."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower_case"),)


class LoginAttempt(Base):
    """A failed log-in, counted per account and per client address to throttle guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(INET)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )


class FrameType(enum.StrEnum):
    langstroth = "langstroth"
    dadant = "dadant"
    national = "national"
    warre = "warre"
    top_bar = "top_bar"
    other = "other"


class ColonyOrigin(enum.StrEnum):
    swarm = "swarm"
    package = "package"
    nucleus = "nucleus"
    # Enum keeps str.split working on members; mypy sees the name as overriding it.
    split = "split"  # type: ignore[assignment]


class HiveStatus(enum.StrEnum):
    active = "active"
    dead_out = "dead_out"
    sold = "sold"
    merged = "merged"


def _pg_enum(enum_class: type[enum.StrEnum], name: str) -> ENUM:
    return ENUM(enum_class, name=name, values_callable=lambda members: [m.value for m in members])


class Hive(Base):
    """A colony's home: a point on the map (SRID 4326, private to its owner)."""

    __tablename__ = "hives"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    location: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    site: Mapped[str | None] = mapped_column(String(100))
    frame_type: Mapped[FrameType] = mapped_column(_pg_enum(FrameType, "frame_type"))
    origin: Mapped[ColonyOrigin | None] = mapped_column(_pg_enum(ColonyOrigin, "colony_origin"))
    status: Mapped[HiveStatus] = mapped_column(
        _pg_enum(HiveStatus, "hive_status"), server_default=HiveStatus.active.value
    )
    installed_on: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_hives_location", "location", postgresql_using="gist"),)


class ApiKey(Base):
    """A key for the JSON API. Only its SHA-256 is kept; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(8))
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_api_keys_hash", "hash", unique=True),)


# --- Field log: inspections, harvests, idempotency (issue 4) -------------------------------


# --- Sensors: sensors, readings, alerts (issue 5) ------------------------------------------


# --- City layer: swarm reports and collectors (issue 7) ------------------------------------


# --- Session security (issue 8) ------------------------------------------------------------

"""The whole data model, top to bottom. Each later feature adds its tables here and a migration."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    func,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, ENUM, INET, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    """A beekeeper with an account. Emails are stored lower-cased, so they are unique as typed."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The language chosen for the account ("de"); None: the browser's (app/web/i18n.py).
    language: Mapped[str | None] = mapped_column(String(8))
    # Moves on (a trigger on apiary_members) whenever the user's memberships change: the pages
    # their phone saved under another version are forgotten (app/pwa/owner.py).
    access_version: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower_case"),)


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is kept, so a
    reader of this table cannot sign in as anyone. Deleting the row ends the session wherever a
    copy of its cookie is (app/web/auth.py). The times are the app's clock, so expiry tests can
    move it."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    signed_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    device: Mapped[str] = mapped_column(String(100), server_default="")  # "Firefox on Linux"


class ThrottleAttempt(Base):
    """One attempt against a rate limit (app/web/throttle.py): a bucket, the key it counts, when."""

    __tablename__ = "throttle_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_throttle_attempts_bucket_key_at", "bucket", "key", "at"),)


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


class ApiaryRole(enum.StrEnum):
    """What a member may do in an apiary: each role can do all that the next one can."""

    owner = "owner"  # everything: members, invitations, renaming, archiving, deleting
    keeper = "keeper"  # records inspections, harvests, treatments and sensors; edits hives
    viewer = "viewer"  # reads everything in the apiary, changes nothing


# The roles that may change the apiary's hives and records, and those that may read them.
CHANGING_ROLES = (ApiaryRole.owner, ApiaryRole.keeper)
READING_ROLES = (ApiaryRole.owner, ApiaryRole.keeper, ApiaryRole.viewer)


class ClubRole(enum.StrEnum):
    """What a member may do in a club (a beekeepers' association)."""

    organiser = "organiser"  # runs the club: its members and apiaries; owns the club's apiaries
    member = "member"  # sees the club's page: its apiaries, members and what is due


class Club(Base):
    """A beekeepers' association: it has members and can own apiaries (its teaching apiaries).

    Its organisers who have joined are owners of each of its apiaries (the view apiary_roles);
    a club always keeps one such organiser (app/apiaries/clubs.py changes members under a lock
    on the club, as apiaries do), so an apiary it owns never lacks an owner.
    """

    __tablename__ = "clubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ClubMember(Base):
    """A user in a club with a role; `joined_at` is None while the person has not accepted."""

    __tablename__ = "club_members"

    club_id: Mapped[int] = mapped_column(
        ForeignKey("clubs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[ClubRole] = mapped_column(_pg_enum(ClubRole, "club_role"))
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Apiary(Base):
    """A place where hives stand, kept by its members (the free-text site of earlier rounds).

    Its location is the default of a new hive's; its registration number is the one a
    veterinary office or a national registry gives the apiary. An archived apiary keeps its
    hives and their records, read-only in lists of the past.
    """

    __tablename__ = "apiaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    location: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    address: Mapped[str] = mapped_column(String(300), server_default="")
    registration_number: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str] = mapped_column(Text, server_default="")
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The club that owns it (a teaching apiary), whose organisers are its owners too.
    club_id: Mapped[int | None] = mapped_column(
        ForeignKey("clubs.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiaryMember(Base):
    """A user's role in an apiary. Every apiary has at least one owner (app/apiaries/members.py
    changes members under a lock on the apiary, so two owners demoting each other cannot leave
    it without one)."""

    __tablename__ = "apiary_members"

    apiary_id: Mapped[int] = mapped_column(
        ForeignKey("apiaries.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[ApiaryRole] = mapped_column(_pg_enum(ApiaryRole, "apiary_role"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiaryInvitation(Base):
    """An invitation into an apiary with a role: a link whose secret only its SHA-256 is kept
    of (shown once), or addressed to an existing account. Single use, expiring, revocable."""

    __tablename__ = "apiary_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    apiary_id: Mapped[int] = mapped_column(
        ForeignKey("apiaries.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[ApiaryRole] = mapped_column(_pg_enum(ApiaryRole, "apiary_role"))
    # A link's secret (SHA-256 hex); None for an invitation addressed to `invitee_id`.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invitee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("(token_hash IS NULL) <> (invitee_id IS NULL)", name="link_or_invitee"),
    )


# Views the migrations make: read, never written. They live outside Base.metadata, which holds
# the tables (the tests empty each of those; the schema comparison knows tables only).
VIEWS = MetaData()

# Everyone's roles in every apiary, the one source of app/web/auth.py's access rule: the
# apiary's members with their roles, and the joined organisers of the club that owns it, as
# owners. A user may appear twice (a member and an organiser): the higher role counts, which
# is the least in the enum's order (owner < keeper < viewer).
apiary_roles = Table(
    "apiary_roles",
    VIEWS,
    Column("apiary_id", Integer),
    Column("user_id", Integer),
    Column("role", _pg_enum(ApiaryRole, "apiary_role")),
    info={"is_view": True},
)


class Hive(Base):
    """A colony's home: a point on the map (SRID 4326), in an apiary, private to its members.

    `owner_id` is the account that added the hive (shown as such); who may read or change it is
    its apiary's members (app/web/auth.py: hives_of). `site` is its apiary's name, read only.
    """

    __tablename__ = "hives"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    apiary_id: Mapped[int] = mapped_column(
        ForeignKey("apiaries.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    location: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    site: Mapped[str] = column_property(
        select(Apiary.name).where(Apiary.id == apiary_id).correlate_except(Apiary).scalar_subquery()
    )
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


@dataclass(frozen=True)
class KeyOwner:
    """A live API key, by id, and the user who holds it: what a request's key proves."""

    key_id: int
    user_id: int


class QueenCells(enum.StrEnum):
    none = "none"
    swarm = "swarm"
    supersedure = "supersedure"
    emergency = "emergency"


class Temperament(enum.StrEnum):
    calm = "calm"
    nervous = "nervous"
    aggressive = "aggressive"


class VarroaMethod(enum.StrEnum):
    sugar_roll = "sugar_roll"
    alcohol_wash = "alcohol_wash"
    natural_drop = "natural_drop"


class Inspection(Base):
    """A look inside a hive: scheduled (a date), then recorded with the checklist.

    One row carries both: recording a scheduled inspection fills it in; an ad hoc record is born
    done. `done_at` is null while it is only scheduled.
    """

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    hive_id: Mapped[int] = mapped_column(ForeignKey("hives.id", ondelete="CASCADE"))
    # Who scheduled or recorded it (a member of the hive's apiary then; it stays theirs after).
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scheduled_for: Mapped[date | None]
    schedule_note: Mapped[str] = mapped_column(String(500), server_default="")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    frames_of_bees: Mapped[int | None] = mapped_column(SmallInteger)
    queen_seen: Mapped[bool | None]
    eggs_seen: Mapped[bool | None]
    larvae_seen: Mapped[bool | None]
    capped_brood_seen: Mapped[bool | None]
    queen_cells: Mapped[QueenCells | None] = mapped_column(_pg_enum(QueenCells, "queen_cells"))
    queen_cell_count: Mapped[int | None] = mapped_column(SmallInteger)
    brood_pattern: Mapped[int | None] = mapped_column(SmallInteger)
    temperament: Mapped[Temperament | None] = mapped_column(_pg_enum(Temperament, "temperament"))
    honey_frames: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    pollen_frames: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    varroa_count: Mapped[int | None]
    varroa_method: Mapped[VarroaMethod | None] = mapped_column(
        _pg_enum(VarroaMethod, "varroa_method")
    )
    # Bees in the sample for a roll or a wash; days on the board for a natural drop.
    varroa_sample: Mapped[int | None]
    treatment_product: Mapped[str] = mapped_column(String(100), server_default="")
    treatment_dose: Mapped[str] = mapped_column(String(100), server_default="")
    feeding_kind: Mapped[str] = mapped_column(String(100), server_default="")
    feeding_amount: Mapped[str] = mapped_column(String(100), server_default="")
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    actions: Mapped[list[str]] = mapped_column(ARRAY(String(30)), server_default="{}")
    weather_temp_c: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    weather_conditions: Mapped[str] = mapped_column(String(50), server_default="")
    notes: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("scheduled_for IS NOT NULL OR done_at IS NOT NULL", name="when_known"),
        CheckConstraint("brood_pattern BETWEEN 1 AND 5", name="brood_pattern_1_to_5"),
        CheckConstraint("varroa_count IS NULL OR varroa_method IS NOT NULL", name="varroa_method"),
        # The hive page's timeline and Today's "latest per hive" read this index.
        Index("ix_inspections_hive_done", "hive_id", "done_at"),
        # Today's due list: only the open schedule.
        Index(
            "ix_inspections_due",
            "hive_id",
            "scheduled_for",
            postgresql_where=text("done_at IS NULL"),
        ),
    )


class Harvest(Base):
    """Honey taken on one day, from one or several hives (its shares say how much from each)."""

    __tablename__ = "harvests"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    harvested_on: Mapped[date]
    total_kg: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    frames: Mapped[int | None]
    moisture_pct: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    honey_kind: Mapped[str] = mapped_column(String(100), server_default="")
    quality: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    notes: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("total_kg >= 0", name="total_kg_not_negative"),
        Index("ix_harvests_owner_harvested_on", "owner_id", "harvested_on"),
    )


class HarvestShare(Base):
    """The part of a harvest that came from one hive."""

    __tablename__ = "harvest_shares"

    harvest_id: Mapped[int] = mapped_column(
        ForeignKey("harvests.id", ondelete="CASCADE"), primary_key=True
    )
    hive_id: Mapped[int] = mapped_column(
        ForeignKey("hives.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    kg: Mapped[Decimal] = mapped_column(Numeric(8, 2))

    __table_args__ = (CheckConstraint("kg >= 0", name="share_kg_not_negative"),)


class IdempotentRequest(Base):
    """A create request's key and its first answer: a repeat gets the same answer, nothing new.

    The row is inserted in the same transaction as the record it guards, so a key is either
    spent together with its record or not at all.
    """

    __tablename__ = "idempotent_requests"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # What the key was sent to ("POST /api/v1/harvests"): the same key sent to another
    # endpoint is another request, never answered with this one's result.
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[int] = mapped_column(SmallInteger)
    location: Mapped[str] = mapped_column(String(500), server_default="")
    body: Mapped[str] = mapped_column(Text, server_default="")
    # SHA-256 of the request (method, route, canonical body): the same key with another body is
    # refused, not answered with this record. Null for keys kept before fingerprints existed.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CalendarFeed(Base):
    """A user's private iCalendar URL. Only the secret's SHA-256 is kept."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --- Sensors: sensors, readings, alerts (issue 5) ------------------------------------------


class SensorKind(enum.StrEnum):
    weight = "weight"  # kg
    temperature = "temperature"  # °C
    humidity = "humidity"  # %
    sound = "sound"  # dB
    battery = "battery"  # V
    pressure = "pressure"  # hPa
    # What devices measure beside (migration 0013): BEEP's light, sound bands, bee counters,
    # raw load cell values, and the radio link.
    light = "light"  # lx
    sound_band = "sound_band"  # a frequency band's level, in the device's own scale
    bee_count = "bee_count"  # bees counted since the last post
    raw_weight = "raw_weight"  # a load cell's value before calibration
    signal = "signal"  # dBm (RSSI)
    signal_noise = "signal_noise"  # dB (SNR)


class DeviceType(enum.StrEnum):
    """The clients a device may be: each posts in its own documented shape."""

    beep = "beep"
    honeypi = "honeypi"
    ttn = "ttn"
    kotori = "kotori"
    generic = "generic"


class Device(Base):
    """A measuring device on a hive: it posts with its own `key` (a secret CityHive made, or the
    hardware id, DevEUI, that BEEP and The Things Network name it by; lower case), and its
    readings land on its sensors (`Sensor.device_id`, each named by the field it posts).

    A scale that posts raw values (`w_v`) has them turned into kg as `(raw - weight_offset) *
    weight_multiplier`, as calibrated when the reading arrives: a recalibration changes later
    readings, never the ones stored.
    """

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    hive_id: Mapped[int] = mapped_column(ForeignKey("hives.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[DeviceType] = mapped_column(_pg_enum(DeviceType, "device_type"))
    key: Mapped[str] = mapped_column(String(100), unique=True)
    weight_offset: Mapped[float | None]
    weight_multiplier: Mapped[float | None]
    calibrated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    csv_fields: Mapped[str | None] = mapped_column(String(1000))  # Kotori's `## a, b` line
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_post_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SensorPlacement(enum.StrEnum):
    inside = "inside"
    outside = "outside"


class Sensor(Base):
    """A probe on a hive; its id is what a device posts readings to.

    The newest reading is kept on the row as well, so the hive page's latest values and the
    offline check read one row per sensor instead of searching a billion readings.
    """

    __tablename__ = "sensors"

    id: Mapped[int] = mapped_column(primary_key=True)
    hive_id: Mapped[int] = mapped_column(ForeignKey("hives.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[SensorKind] = mapped_column(_pg_enum(SensorKind, "sensor_kind"))
    placement: Mapped[SensorPlacement] = mapped_column(
        _pg_enum(SensorPlacement, "sensor_placement")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_reading_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_value: Mapped[float | None]
    # A device's sensor: the device, and the field of its posts that this sensor takes.
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    field: Mapped[str | None] = mapped_column(String(50))

    __table_args__ = (
        Index("ix_sensors_hive_id_name", "hive_id", "name", unique=True),
        Index("ix_sensors_device_id_field", "device_id", "field", unique=True),
    )


class Reading(Base):
    """One value of one sensor at one instant: the table built for a billion rows.

    Partitioned by month on recorded_at (the partitions are made by the migration and by
    `create_reading_partitions()`, not by the model); the primary key (sensor_id, recorded_at)
    is the index every chart reads and what makes a repeated reading a duplicate.
    See docs/scaling.md.
    """

    __tablename__ = "readings"

    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("sensors.id", ondelete="CASCADE"), primary_key=True
    )
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    value: Mapped[float]

    __table_args__ = ({"postgresql_partition_by": "RANGE (recorded_at)"},)


class _ReadingRollup:
    """One sensor's readings in one bucket: lowest, highest, sum and count (the mean is
    total / readings, and adds up over buckets where a mean would not).

    Kept by statement triggers on `readings` (migration 0017), in the statement that writes the
    readings, whichever way it does (the API's COPY or INSERT, a weighing, a backfill by hand);
    only the rows a statement really inserted count, so a replayed reading is never counted
    twice. The raw readings are the truth: `python -m app sensors rebuild-rollups` computes
    the rollups again from them. Not partitioned: a sensor has 8,760 hours a year.
    """

    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("sensors.id", ondelete="CASCADE"), primary_key=True
    )
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    low: Mapped[float]
    high: Mapped[float]
    total: Mapped[float]
    readings: Mapped[int]


class ReadingHour(_ReadingRollup, Base):
    """A sensor's readings of one hour (the bucket starts on the hour). The 30-day chart."""

    __tablename__ = "readings_hourly"


class ReadingDay(_ReadingRollup, Base):
    """A sensor's readings of one day, from midnight UTC to midnight UTC. The 1-year chart.

    Why UTC days and not the city's (`TIME_ZONE`): the database keeps these rows in the
    statement that stores the readings and knows no setting of the app, and a UTC day is always
    24 hours, so a day is exactly its 24 hours and a changed `TIME_ZONE` leaves every row right.
    The charts' buckets have always started at fixed UTC instants (`date_bin` from 2000-01-01
    UTC), so the year's chart means what it meant. Shown in Berlin, a day's point runs from 1
    (2 in summer) to 1 (2) at night and carries its local date: a shift nobody sees in a year.
    """

    __tablename__ = "readings_daily"


class AlertKind(enum.StrEnum):
    swarm = "swarm"
    temperature = "temperature"
    humidity = "humidity"
    battery = "battery"
    offline = "offline"
    rule = "rule"  # raised by a rule the beekeeper wrote (Alert.rule_id)


class Alert(Base):
    """Something a beekeeper must hear about: raised once per event, then acknowledged.

    A condition that lasts (too hot, low battery, offline) is one alert while `resolved_at` is
    null: the partial unique index refuses a second. A swarm is an instant, resolved when
    raised; the window check in app/sensors/alerts.py keeps it to one alert per drop. Offline
    alerts concern the hive's device as a whole, so their sensor_id is null.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    hive_id: Mapped[int] = mapped_column(ForeignKey("hives.id", ondelete="CASCADE"))
    sensor_id: Mapped[int | None] = mapped_column(
        ForeignKey("sensors.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AlertKind] = mapped_column(_pg_enum(AlertKind, "alert_kind"))
    message: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The beekeeper's rule that raised it (kind `rule`); null once that rule is deleted.
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("hive_rules.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_alerts_hive_id_raised_at", "hive_id", "raised_at"),
        Index(
            "ix_alerts_one_active",
            "hive_id",
            "kind",
            "sensor_id",
            unique=True,
            postgresql_where=text("resolved_at IS NULL AND rule_id IS NULL"),
            postgresql_nulls_not_distinct=True,
        ),
        Index(
            "ix_alerts_one_active_rule",
            "rule_id",
            "sensor_id",
            unique=True,
            postgresql_where=text("resolved_at IS NULL AND rule_id IS NOT NULL"),
        ),
    )


class AlertRules(Base):
    """A hive's alert thresholds. No row: the defaults (app/sensors/schemas.py DEFAULT_RULES).
    A null range end means no limit on that side."""

    __tablename__ = "alert_rules"

    hive_id: Mapped[int] = mapped_column(
        ForeignKey("hives.id", ondelete="CASCADE"), primary_key=True
    )
    swarm_drop_kg: Mapped[float]
    swarm_window_minutes: Mapped[int]
    temperature_min: Mapped[float | None]
    temperature_max: Mapped[float | None]
    humidity_min: Mapped[float | None]
    humidity_max: Mapped[float | None]
    offline_hours: Mapped[int]
    battery_min_volts: Mapped[float]


class AlertSleep(Base):
    """When a hive's alert rule of one kind sleeps: in these months (1-12; none: every month)
    and at these hours of the city's day (0-23; none: all day). No row, or neither: never.
    "No swarm alerts in winter" is months 11-2; "no temperature alerts at noon in August" is
    month 8 at hours 11-14."""

    __tablename__ = "alert_sleeps"

    hive_id: Mapped[int] = mapped_column(
        ForeignKey("hives.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[AlertKind] = mapped_column(_pg_enum(AlertKind, "alert_kind"), primary_key=True)
    months: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    hours: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")


class RuleComparison(enum.StrEnum):
    above = "above"  # a reading above the threshold: lasts until back below
    below = "below"
    drops_by = "drops_by"  # a fall of at least the threshold within the window: an instant
    rises_by = "rises_by"


class HiveRule(Base):
    """An alert rule a beekeeper wrote for a hive: the hive's sensors of `sensor_kind` (placed
    at `placement`; null: any), compared with `threshold` in the kind's unit; a drop or rise
    counts within `window_minutes`. It sleeps in `months` at `hours`, as AlertSleep does.
    The built-in rules (AlertRules, AlertSleep) are the hive's default rules beside these."""

    __tablename__ = "hive_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    hive_id: Mapped[int] = mapped_column(ForeignKey("hives.id", ondelete="CASCADE"), index=True)
    sensor_kind: Mapped[SensorKind] = mapped_column(_pg_enum(SensorKind, "sensor_kind"))
    placement: Mapped[SensorPlacement | None] = mapped_column(
        _pg_enum(SensorPlacement, "sensor_placement")
    )
    comparison: Mapped[RuleComparison] = mapped_column(_pg_enum(RuleComparison, "rule_comparison"))
    threshold: Mapped[float]
    window_minutes: Mapped[int | None]
    months: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    hours: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    enabled: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "(comparison IN ('drops_by', 'rises_by')) = (window_minutes IS NOT NULL)",
            name="ck_hive_rules_window",
        ),
    )


class AlertWebhook(Base):
    """Where a user's alerts are posted as JSON, and how the last delivery went."""

    __tablename__ = "alert_webhooks"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_outcome: Mapped[str] = mapped_column(String(200), server_default="")


# --- City layer: swarm reports and collectors (issue 7) ------------------------------------


class SwarmStatus(enum.StrEnum):
    open = "open"  # waiting for a collector, until expires_at (then it counts as expired)
    claimed = "claimed"  # a collector is on the way
    closed = "closed"  # with an outcome


class SwarmOutcome(enum.StrEnum):
    collected = "collected"
    gone = "gone"
    not_honeybees = "not_honeybees"


class SwarmHeight(enum.StrEnum):
    ground = "ground"  # within reach from the ground
    ladder = "ladder"  # a ladder would reach it
    high = "high"  # higher than a ladder
    unknown = "unknown"


class SwarmSize(enum.StrEnum):
    small = "small"  # smaller than a football
    medium = "medium"  # about a football
    large = "large"  # bigger than a football
    unknown = "unknown"


class SwarmReport(Base):
    """A swarm someone saw, reported without an account.

    The reporter keeps a status link whose secret only its SHA-256 here can match. Their contact
    is for the collector who claims the report, and for nobody else.
    """

    __tablename__ = "swarm_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    location: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    height: Mapped[SwarmHeight] = mapped_column(_pg_enum(SwarmHeight, "swarm_height"))
    hanging_on: Mapped[str] = mapped_column(String(100), server_default="")
    size: Mapped[SwarmSize] = mapped_column(_pg_enum(SwarmSize, "swarm_size"))
    description: Mapped[str] = mapped_column(String(500))
    contact: Mapped[str] = mapped_column(String(254))
    status_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reporter_address: Mapped[str] = mapped_column(INET)
    status: Mapped[SwarmStatus] = mapped_column(
        _pg_enum(SwarmStatus, "swarm_status"), server_default=SwarmStatus.open.value
    )
    outcome: Mapped[SwarmOutcome | None] = mapped_column(_pg_enum(SwarmOutcome, "swarm_outcome"))
    claimed_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Metres beyond their radius that collectors see the report from: 0, until nobody claimed it
    # in PUSH_ESCALATION_MINUTES and it was escalated to collectors farther away (issue 18).
    reach_extra_m: Mapped[int] = mapped_column(server_default="0")

    __table_args__ = (
        CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="closed_with_outcome"),
        # Collectors' radius queries: `location && box` against this index, then the exact metres.
        Index("ix_swarm_reports_location", "location", postgresql_using="gist"),
    )


class SwarmCollector(Base):
    """A beekeeper who collects swarms: open reports within `radius_m` of `location` are theirs
    to claim."""

    __tablename__ = "swarm_collectors"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    location: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    radius_m: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        CheckConstraint("radius_m BETWEEN 500 AND 50000", name="radius_500_m_to_50_km"),
    )


class SwarmClaimEventKind(enum.StrEnum):
    claimed = "claimed"
    released = "released"
    closed = "closed"  # with the report's outcome


class SwarmClaimEvent(Base):
    """One claim, release or close of a swarm report, written in the same transaction as the
    change itself and never altered: whoever saw a reporter's contact left this trace, and the
    reporter's status page shows when their report was taken on and given back (issue 13)."""

    __tablename__ = "swarm_claim_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("swarm_reports.id", ondelete="CASCADE"))
    collector_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[SwarmClaimEventKind] = mapped_column(
        _pg_enum(SwarmClaimEventKind, "swarm_claim_event_kind")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_swarm_claim_events_report_id_at", "report_id", "at"),)


# --- Session security (issue 8) ------------------------------------------------------------
# Sessions are rows of UserSession (above); the cookie only names one (app/web/auth.py).


# --- Web Push (issue 18) -------------------------------------------------------------------


class PushSubscription(Base):
    """One browser's push subscription: where its push service takes messages for it and the
    keys they are encrypted with (RFC 8291). A beekeeper's device (user_id), with a switch per
    kind of notification; or a reporter's browser told about one swarm report (swarm_report_id),
    which needs no account. `report_link` is the reporter's status link, encrypted with a key
    from SECRET_KEY (the report keeps only the link's hash)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    swarm_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("swarm_reports.id", ondelete="CASCADE"), index=True
    )
    report_link: Mapped[str | None] = mapped_column(String(500))
    endpoint: Mapped[str] = mapped_column(String(2000))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(100), server_default="")
    language: Mapped[str] = mapped_column(String(8), server_default="en")
    swarms: Mapped[bool] = mapped_column(server_default=text("true"))
    alerts: Mapped[bool] = mapped_column(server_default=text("true"))
    reminders: Mapped[bool] = mapped_column(server_default=text("true"))
    reminder_at: Mapped[time] = mapped_column(Time, server_default=text("'07:00'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (swarm_report_id IS NULL)", name="one_owner"),
        # A browser is one user's device at a time; a reporter's, once per report.
        Index(
            "ux_push_subscriptions_device",
            "endpoint",
            unique=True,
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        Index(
            "ux_push_subscriptions_report",
            "endpoint",
            "swarm_report_id",
            unique=True,
            postgresql_where=text("swarm_report_id IS NOT NULL"),
        ),
    )


class PushNotification(Base):
    """One notification for one subscription about one subject ("swarm:12", "alert:7",
    "today:2026-12-07"): the unique pair is what makes each one sent once, however many app
    processes gather and send. Sent in the background: claimed with FOR UPDATE SKIP LOCKED,
    retried with backoff until sent_at or given_up_at is set."""

    __tablename__ = "push_notifications"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    urgency: Mapped[str] = mapped_column(String(10))  # RFC 8030: very-low, low, normal, high
    ttl_seconds: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(server_default="0")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    given_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(String(200), server_default="")

    __table_args__ = (
        Index("ux_push_notifications_once", "subscription_id", "subject", unique=True),
        Index(
            "ix_push_notifications_due",
            "due_at",
            postgresql_where=text("sent_at IS NULL AND given_up_at IS NULL"),
        ),
    )


# --- Veterinary medicines: purchases, treatments, disposals (issue 17) ----------------------
# What EU Regulation 2019/6 Art. 108 and the UK VMR ask a keeper of food-producing animals to
# record, kept five years: docs/records.md maps each legal field to its column. A treatment
# outlives its hives (TreatedHive keeps the hive's name when the hive is deleted).


class TreatmentMethod(enum.StrEnum):
    trickling = "trickling"
    sublimation = "sublimation"
    evaporator = "evaporator"
    strips = "strips"
    spraying = "spraying"


class MedicinePurchase(Base):
    """A veterinary medicine bought (or received) for the bees: one batch of one product.
    Stock on hand is `quantity` less what treatments used and what was disposed of."""

    __tablename__ = "medicine_purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product: Mapped[str] = mapped_column(String(100))
    active_substance: Mapped[str] = mapped_column(String(100), server_default="")
    batch: Mapped[str] = mapped_column(String(50))
    expires_on: Mapped[date]
    supplier_name: Mapped[str] = mapped_column(String(200))
    supplier_address: Mapped[str] = mapped_column(String(500))
    purchased_on: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit: Mapped[str] = mapped_column(String(20))
    invoice_number: Mapped[str] = mapped_column(String(100))
    vet: Mapped[str] = mapped_column(String(200), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("quantity > 0", name="purchase_quantity_positive"),)


class PurchaseProof(Base):
    """A photo or PDF of a purchase's invoice or receipt (its proof, which the register cites).
    The content is checked to be what its media type says before it is kept."""

    __tablename__ = "purchase_proofs"

    purchase_id: Mapped[int] = mapped_column(
        ForeignKey("medicine_purchases.id", ondelete="CASCADE"), primary_key=True
    )
    media_type: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int]  # bytes
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class MedicineDisposal(Base):
    """Part of a purchase thrown away (expired, spoilt): how much, when, how."""

    __tablename__ = "medicine_disposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(
        ForeignKey("medicine_purchases.id", ondelete="CASCADE"), index=True
    )
    disposed_on: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    how: Mapped[str] = mapped_column(String(200), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("quantity > 0", name="disposal_quantity_positive"),)


class Treatment(Base):
    """One administration of a medicine from stock to one hive or a group treated at once.

    The treatment runs from `started_on` for `duration_days` (its last day is `ends_on`);
    strips stay in until `strips_removed_on`. Honey may be taken again from
    `harvest_allowed_on`: the day after the treatment's end (or the strips' removal, if later
    recorded) plus the withdrawal period. The database computes both, so every reader agrees.
    """

    __tablename__ = "treatments"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purchase_id: Mapped[int] = mapped_column(
        ForeignKey("medicine_purchases.id", ondelete="RESTRICT"), index=True
    )
    started_on: Mapped[date]
    dose: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    method: Mapped[TreatmentMethod] = mapped_column(_pg_enum(TreatmentMethod, "treatment_method"))
    duration_days: Mapped[int] = mapped_column(SmallInteger)
    withdrawal_days: Mapped[int] = mapped_column(SmallInteger)
    treated_by: Mapped[str] = mapped_column(String(100))
    strips_removed_on: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, server_default="")
    ends_on: Mapped[date] = mapped_column(
        Computed("started_on + duration_days - 1", persisted=True)
    )
    harvest_allowed_on: Mapped[date] = mapped_column(
        Computed(
            "GREATEST(started_on + duration_days - 1, COALESCE(strips_removed_on, started_on))"
            " + withdrawal_days + 1",
            persisted=True,
        )
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("quantity > 0", name="treatment_quantity_positive"),
        CheckConstraint("duration_days BETWEEN 1 AND 366", name="duration_1_to_366_days"),
        CheckConstraint("withdrawal_days >= 0", name="withdrawal_days_not_negative"),
        CheckConstraint(
            "strips_removed_on IS NULL OR strips_removed_on >= started_on",
            name="strips_removed_after_start",
        ),
        Index("ix_treatments_owner_started_on", "owner_id", "started_on"),
    )


class TreatedHive(Base):
    """A hive a treatment was given to. The hive's name is kept, and the row stays when the
    hive is deleted (hive_id becomes null): the register is kept for five years."""

    __tablename__ = "treated_hives"

    id: Mapped[int] = mapped_column(primary_key=True)
    treatment_id: Mapped[int] = mapped_column(
        ForeignKey("treatments.id", ondelete="CASCADE"), index=True
    )
    hive_id: Mapped[int | None] = mapped_column(
        ForeignKey("hives.id", ondelete="SET NULL"), index=True
    )
    hive_name: Mapped[str] = mapped_column(String(100))


# --- Colonies: queens, colony events, the family tree (issue 16) ---------------------------


class ColonyStatus(enum.StrEnum):
    alive = "alive"
    united = "united"  # joined into another colony (a union)
    dead = "dead"
    sold = "sold"  # sold or given away


class QueenOrigin(enum.StrEnum):
    own_rearing = "own_rearing"
    bought = "bought"
    swarm = "swarm"
    supersedure = "supersedure"
    emergency = "emergency"


class QueenStatus(enum.StrEnum):
    laying = "laying"
    missing = "missing"
    superseded = "superseded"
    dead = "dead"
    replaced = "replaced"


class ColonyEventKind(enum.StrEnum):
    started = "started"  # a colony came to the hive (bought, a nucleus, or known before)
    split = "split"  # type: ignore[assignment]
    union = "union"
    requeen = "requeen"
    swarm_lost = "swarm_lost"
    swarm_captured = "swarm_captured"
    died = "died"
    sold = "sold"


class Colony(Base):
    """The bees that live in a hive: they split, swarm, get requeened, join another colony and
    end (dead, sold, united). `hive_id` is the hive they live (or last lived) in; a hive holds
    at most one living colony."""

    __tablename__ = "colonies"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    hive_id: Mapped[int | None] = mapped_column(ForeignKey("hives.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[ColonyStatus] = mapped_column(
        _pg_enum(ColonyStatus, "colony_status"), server_default=ColonyStatus.alive.value
    )
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("(status = 'alive') = (ended_on IS NULL)", name="ended_when_not_alive"),
        Index(
            "ux_colonies_one_alive_per_hive",
            "hive_id",
            unique=True,
            postgresql_where=text("status = 'alive'"),
        ),
    )


class Queen(Base):
    """A queen: her year and marking colour, where she came from, her mother when known, and
    the colony she heads (or headed)."""

    __tablename__ = "queens"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    colony_id: Mapped[int | None] = mapped_column(
        ForeignKey("colonies.id", ondelete="SET NULL"), index=True
    )
    year: Mapped[int] = mapped_column(SmallInteger)
    colour: Mapped[str] = mapped_column(String(10))  # the international marking colour
    marked: Mapped[bool] = mapped_column(server_default=text("false"))
    clipped: Mapped[bool] = mapped_column(server_default=text("false"))
    race: Mapped[str] = mapped_column(String(100), server_default="")
    origin: Mapped[QueenOrigin | None] = mapped_column(_pg_enum(QueenOrigin, "queen_origin"))
    breeder: Mapped[str] = mapped_column(String(100), server_default="")
    mother_id: Mapped[int | None] = mapped_column(ForeignKey("queens.id", ondelete="SET NULL"))
    introduced_on: Mapped[date | None]
    status: Mapped[QueenStatus] = mapped_column(
        _pg_enum(QueenStatus, "queen_status"), server_default=QueenStatus.laying.value
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("mother_id <> id", name="not_her_own_mother"),)


class ColonyEvent(Base):
    """Something that happened to a colony, on a day, with a note. `other_colony_id` is the
    colony on the other side: the daughter of a split, the colony joined in a union, the colony
    a captured swarm came from. The lineage (app/colonies/tree.py) is read from these rows."""

    __tablename__ = "colony_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    colony_id: Mapped[int] = mapped_column(ForeignKey("colonies.id", ondelete="CASCADE"))
    kind: Mapped[ColonyEventKind] = mapped_column(_pg_enum(ColonyEventKind, "colony_event_kind"))
    happened_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, server_default="")
    hive_id: Mapped[int | None] = mapped_column(ForeignKey("hives.id", ondelete="SET NULL"))
    other_colony_id: Mapped[int | None] = mapped_column(
        ForeignKey("colonies.id", ondelete="SET NULL"), index=True
    )
    other_hive_id: Mapped[int | None] = mapped_column(ForeignKey("hives.id", ondelete="SET NULL"))
    frames_of_brood: Mapped[int | None] = mapped_column(SmallInteger)
    frames_of_bees: Mapped[int | None] = mapped_column(SmallInteger)
    queen_id: Mapped[int | None] = mapped_column(ForeignKey("queens.id", ondelete="SET NULL"))
    old_queen_fate: Mapped[QueenStatus | None] = mapped_column(
        _pg_enum(QueenStatus, "queen_status")
    )
    # The cause of death, or to whom the colony was sold or given.
    detail: Mapped[str] = mapped_column(String(200), server_default="")
    swarm_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("swarm_reports.id", ondelete="SET NULL")
    )
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    # Who recorded it (a member of the colony's apiary then; it stays theirs after).
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_colony_events_colony_id_happened_on", "colony_id", "happened_on"),
        Index("ix_colony_events_hive_id", "hive_id"),
        Index("ix_colony_events_other_hive_id", "other_hive_id"),
    )


class HiveBoxes(Base):
    """What a hive is built of: brood boxes, honey supers, a queen excluder, a feeder, and the
    frames each box holds. No row: not described yet. An inspection's "super added" and "super
    removed" change `supers` (app/inspections/queries.py)."""

    __tablename__ = "hive_boxes"

    hive_id: Mapped[int] = mapped_column(
        ForeignKey("hives.id", ondelete="CASCADE"), primary_key=True
    )
    brood_boxes: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    supers: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    queen_excluder: Mapped[bool] = mapped_column(server_default=text("false"))
    feeder: Mapped[bool] = mapped_column(server_default=text("false"))
    frames_per_box: Mapped[int | None] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("brood_boxes BETWEEN 0 AND 10", name="brood_boxes_0_to_10"),
        CheckConstraint("supers BETWEEN 0 AND 20", name="supers_0_to_20"),
        CheckConstraint("frames_per_box BETWEEN 1 AND 40", name="frames_per_box_1_to_40"),
    )

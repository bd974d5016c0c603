"""Every knob CityHive has, from the environment (12-factor), each with a safe local default."""

from __future__ import annotations

import os
import re
import secrets
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


# Connections each worker's sensor ingestion may hold (its asyncpg pool, app/sensors/ingest.py).
INGEST_CONNECTIONS = 8


def _loopback_networks() -> list[IPv4Network | IPv6Network]:
    return [IPv4Network("127.0.0.1/32"), IPv6Network("::1/128")]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="postgresql://user:pass@host:port/db. Unset: a local PostGIS under DATA_DIR.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Encrypts session cookies. Unset: generated once and kept in DATA_DIR.",
    )
    host: str = "localhost"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    cookie_secure: bool = False
    templates_reload: bool = Field(
        default=False,
        description="Read an edited template again on its next render (development); "
        "otherwise each is compiled once per process and never looked at on disk again.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    data_dir: Path = ROOT / ".data"
    local_pg_port: int = Field(default=54329, ge=1024, le=65535)
    workers: int = Field(
        default_factory=lambda: len(os.sched_getaffinity(0)),
        ge=1,
        le=64,
        description="Processes serving the port: one per CPU this process may use by default.",
    )
    database_connections: int = Field(
        default=60,
        ge=10,
        description="Database connections all the workers of one server hold at most, together; "
        "keep the sum over servers under PostgreSQL's max_connections.",
    )
    database_pool_size: int | None = Field(
        default=None,
        ge=1,
        description="Connections each worker keeps open. Unset: its share of the budget.",
    )
    database_pool_overflow: int | None = Field(
        default=None,
        ge=0,
        description="Further connections each worker opens under load. Unset: from the budget.",
    )
    database_pool_timeout_seconds: float = Field(
        default=10, gt=0, description="How long a request waits for a free connection (then 503)."
    )
    exports_per_user: int = Field(
        default=2, ge=1, description="Exports one account may download at once (then 429)."
    )
    exports_at_once: int = Field(
        default=6, ge=1, description="Exports the process serves at once, all accounts together."
    )
    export_write_timeout_seconds: float = Field(
        default=60, gt=0, description="An export whose client reads nothing this long is dropped."
    )
    session_max_age: int = Field(default=14 * 24 * 3600, ge=60, description="seconds")
    session_idle_seconds: int = Field(
        default=7 * 24 * 3600, ge=120, description="A session unused this long has ended."
    )
    session_absolute_seconds: int = Field(
        default=30 * 24 * 3600, ge=120, description="A session this old has ended, used or not."
    )
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    demo_data: bool = True
    tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tiles, as a Leaflet URL template.",
    )
    tile_attribution: str = (
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    )
    map_center: str = Field(
        default="52.5200,13.4050",
        pattern=r"^-?\d{1,2}(\.\d+)?,-?\d{1,3}(\.\d+)?$",
        description="latitude,longitude where maps open before they know the user's hives.",
    )
    time_zone: str = Field(
        default="Europe/Berlin",
        description="The city's IANA time zone: what 'today' means and how times are shown.",
    )
    varroa_alert_per_100: float = Field(
        default=3.0, gt=0, description="Mites per 100 bees above which Today flags a hive."
    )
    map_feature_cap: int = Field(
        default=2000, ge=1, description="Most hives in one GeoJSON answer (it says when it is cut)."
    )
    upload_max_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest file a form takes (a photo or PDF of a medicine's receipt).",
    )
    readings_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest body of a readings batch (10,000 readings are about 0.8 MB).",
    )
    readings_batches_per_key: int = Field(
        default=300, ge=1, description="Readings posts one API key may send per window (then 429)."
    )
    readings_window_seconds: int = Field(default=300, ge=1)
    api_key_failures_per_address: int = Field(
        default=20, ge=1, description="Wrong API keys one client address may send per window."
    )
    api_key_failure_window_seconds: int = Field(default=300, ge=1)
    sensor_check_seconds: float = Field(
        default=300,
        gt=0,
        description="How often the offline check and the partition upkeep run, in seconds.",
    )
    webhook_timeout_seconds: float = Field(
        default=5, gt=0, description="How long one alert webhook delivery may take."
    )
    webhook_retries: int = Field(
        default=3, ge=0, le=10, description="Further attempts after a failed webhook delivery."
    )
    webhook_allow_private_addresses: bool = Field(
        default=False,
        description="Let alert webhooks reach private and loopback addresses (tests, intranets).",
    )
    # The city layer (issue 7): swarm reports, the density map and forage pressure.
    service_area: str = Field(
        default="13.088,52.338,13.761,52.675",
        pattern=r"^(-?\d{1,3}(\.\d+)?,){3}-?\d{1,3}(\.\d+)?$",
        description="west,south,east,north in degrees: where swarms may be reported and the "
        "density map is drawn (Berlin).",
    )
    swarm_report_expiry_hours: int = Field(
        default=48, ge=1, le=24 * 30, description="An unclaimed swarm report closes after this."
    )
    swarm_reports_per_address: int = Field(
        default=5, ge=1, description="Reports one client address may send per window (then 429)."
    )
    swarm_report_window_seconds: int = Field(default=3600, ge=1)
    swarm_claims_per_collector: int = Field(
        default=10, ge=1, description="Claims and releases one collector may make per window."
    )
    swarm_claim_window_seconds: int = Field(default=3600, ge=1)
    forage_radius_m: int = Field(
        default=1000, ge=100, le=10_000, description="How far a colony flies for forage."
    )
    forage_threshold_per_km2: float = Field(
        default=5.0, gt=0, description="Colonies per km² of forage above which to warn."
    )
    forage_lookups_per_user: int = Field(
        default=60,
        ge=1,
        description="Forage pressure look-ups one account may make per window (then 429).",
    )
    forage_lookup_window_seconds: int = Field(default=600, ge=1)
    density_cache_seconds: int = Field(
        default=60, ge=0, description="How long each app process keeps the density map (0: never)."
    )
    # Web Push (issue 18): notifications to phones through their browser's push service.
    vapid_private_key: SecretStr | None = Field(
        default=None,
        description="The VAPID key push messages are signed with (PEM, or base64url DER). "
        "Unset: one that follows from SECRET_KEY (so every replica shares it).",
    )
    vapid_subject: str = Field(
        default="mailto:operator@localhost",
        pattern=r"^(mailto:|https://)\S+$",
        description="Who push services contact about this server's messages (mailto: or https:).",
    )
    push_check_seconds: float = Field(
        default=15, gt=0, description="How often notifications are gathered and sent, in seconds."
    )
    push_timeout_seconds: float = Field(
        default=10, gt=0, description="How long one request to a push service may take."
    )
    push_retries: int = Field(
        default=5, ge=0, le=20, description="Further attempts after a failed push delivery."
    )
    push_retry_base_seconds: float = Field(
        default=30, gt=0, description="The wait before the first retry; it doubles each time."
    )
    push_escalation_minutes: int = Field(
        default=30,
        ge=1,
        description="A swarm report nobody claimed this long goes to collectors farther away.",
    )
    push_escalation_extra_m: int = Field(
        default=5000,
        ge=0,
        le=10_000,  # app/swarms/queries.py MAX_EXTRA_REACH_M
        description="How much farther than their radius collectors see an escalated report.",
    )
    push_allow_private_addresses: bool = Field(
        default=False,
        description="Let push endpoints be private and loopback addresses (tests only).",
    )
    metrics_allowed_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=_loopback_networks,
        description="Comma-separated CIDR networks that may read /metrics.",
    )

    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated CIDR networks of reverse proxies whose X-Forwarded-For "
        "names the real client (e.g. 127.0.0.1/32 behind a local nginx).",
    )

    public_url: str | None = Field(
        default=None,
        description="Where users reach the site, e.g. https://hives.example.org: every absolute "
        "URL (calendar feed, API examples, status links) is built from it. Unset: from the "
        "request, with the scheme and host a TRUSTED_PROXIES proxy forwards.",
    )

    @field_validator("public_url")
    @classmethod
    def _an_origin(cls, value: str | None) -> str | None:
        """PUBLIC_URL as `scheme://host[:port]`, lower-cased, without a trailing slash."""
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        try:
            port = parts.port
        except ValueError:
            port = -1
        if (
            parts.scheme.lower() not in ("http", "https")
            or not parts.hostname
            or port == -1
            or "@" in parts.netloc
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or not re.fullmatch(r"[A-Za-z0-9._:\[\]-]+", parts.netloc)
        ):
            raise ValueError("must be an origin like https://hives.example.org (no path)")
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    @field_validator("metrics_allowed_networks", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0]
        if scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("tile_url")
    @classmethod
    def _tile_template(cls, value: str) -> str:
        if not value.startswith(("https://", "http://", "/")) or "{z}" not in value:
            raise ValueError("must be an http(s) or /path URL template with {z}, {x} and {y}")
        return value

    @field_validator("service_area")
    @classmethod
    def _a_real_box(cls, value: str) -> str:
        west, south, east, north = (float(part) for part in value.split(","))
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValueError("must be west,south,east,north with west < east and south < north")
        return value

    @property
    def service_bounds(self) -> tuple[float, float, float, float]:
        """SERVICE_AREA as numbers: west, south, east, north."""
        west, south, east, north = (float(part) for part in self.service_area.split(","))
        return west, south, east, north

    @property
    def tile_origin(self) -> str:
        """Where tiles come from, for the Content-Security-Policy ('self' for our own)."""
        if self.tile_url.startswith("/"):
            return "'self'"
        scheme, rest = self.tile_url.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0].replace('{s}', '*')}"

    @model_validator(mode="after")
    def _budget_for_every_worker(self) -> Settings:
        least = self.workers * (INGEST_CONNECTIONS + 2)
        if self.database_connections < least:
            raise ValueError(
                f"DATABASE_CONNECTIONS={self.database_connections} is too few for "
                f"WORKERS={self.workers}: each worker needs at least {INGEST_CONNECTIONS + 2} "
                f"(set DATABASE_CONNECTIONS to {least} or more, or fewer WORKERS)"
            )
        return self

    @property
    def pool_sizes(self) -> tuple[int, int]:
        """Each worker's pool: the connections it keeps and the further ones it may open.

        Unset, they share the worker's part of DATABASE_CONNECTIONS (less what sensor ingestion
        keeps, INGEST_CONNECTIONS) half and half, so that every worker together stays within it.
        """
        share = self.database_connections // self.workers - INGEST_CONNECTIONS
        size = self.database_pool_size or max(1, share // 2)
        overflow = self.database_pool_overflow
        return size, (max(0, share - size) if overflow is None else overflow)

    @property
    def async_database_url(self) -> str:
        """The DATABASE_URL in the form SQLAlchemy's asyncpg dialect wants."""
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set and no local cluster was started")
        _, rest = self.database_url.split("://", 1)
        return f"postgresql+asyncpg://{rest}"

    def with_secret(self) -> Settings:
        """These settings with a SECRET_KEY: the given one, or one kept under DATA_DIR."""
        if self.secret_key is not None:
            return self
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.touch(mode=0o600)
            key_file.write_text(secrets.token_urlsafe(48))
        return self.model_copy(update={"secret_key": SecretStr(key_file.read_text().strip())})


def describe_errors(error: ValidationError) -> str:
    """One line per invalid setting, named as the environment variable."""
    lines = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]).upper()
        lines.append(f"invalid setting {name}: {item['msg']}")
    return "\n".join(lines)

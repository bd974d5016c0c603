"""Every knob CityHive has, from the environment (12-factor), each with a safe local default."""

from __future__ import annotations

import secrets
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


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
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    data_dir: Path = ROOT / ".data"
    local_pg_port: int = Field(default=54329, ge=1024, le=65535)
    session_max_age: int = Field(default=14 * 24 * 3600, ge=60, description="seconds")
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
    map_feature_cap: int = Field(
        default=2000, ge=1, description="Most hives in one GeoJSON answer (it says when it is cut)."
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

    @field_validator("metrics_allowed_networks", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

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

    @property
    def tile_origin(self) -> str:
        """Where tiles come from, for the Content-Security-Policy ('self' for our own)."""
        if self.tile_url.startswith("/"):
            return "'self'"
        scheme, rest = self.tile_url.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0].replace('{s}', '*')}"

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

"""Every knob CityHive has, from the environment (12-factor), each with a safe local default."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


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

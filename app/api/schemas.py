"""What the API accepts and answers, and the API key form; the OpenAPI document comes from these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.hives.queries import HivePage, HiveView
from app.hives.schemas import HiveForm
from app.models import ColonyOrigin, FrameType, HiveStatus


class ApiKeyForm(BaseModel):
    """A new key's name (the field is `key_name`: the profile form above it has a `name`)."""

    key_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ] = Field(title="Key name")


class HiveIn(HiveForm):
    """A hive as a client sends it (POST, PUT): the same rules as the hive form."""

    model_config = ConfigDict(extra="forbid", title="HiveIn")

    # JSON has null for "no date", so the form's blank-to-None step is not needed, and without
    # it strict JSON validation reads the ISO date (and refuses a number such as 0).
    installed_on: date | None = Field(default=None, title="Installed on")


class HiveOut(BaseModel):
    """A hive as the API answers it. Coordinates are WGS 84 degrees."""

    id: int
    name: str
    latitude: float
    longitude: float
    site: str | None
    frame_type: FrameType
    origin: ColonyOrigin | None
    status: HiveStatus
    installed_on: date | None
    notes: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: HiveView) -> HiveOut:
        hive = view.hive
        return cls(
            id=hive.id,
            name=hive.name,
            latitude=view.latitude,
            longitude=view.longitude,
            site=hive.site,
            frame_type=hive.frame_type,
            origin=hive.origin,
            status=hive.status,
            installed_on=hive.installed_on,
            notes=hive.notes,
            created_at=hive.created_at,
            updated_at=hive.updated_at,
        )

    def as_input(self) -> dict[str, Any]:
        """The fields a client may send, with their current values (the base of a PATCH)."""
        return self.model_dump(mode="json", include=set(HiveIn.model_fields))


class HiveList(BaseModel):
    """One page of hives (20 per page) and where it stands in the whole list."""

    items: list[HiveOut]
    total: int = Field(description="Hives matching the filters, on all pages.")
    page: int
    pages: int

    @classmethod
    def of(cls, page: HivePage) -> HiveList:
        return cls(
            items=[HiveOut.of(view) for view in page.hives],
            total=page.total,
            page=page.page,
            pages=page.pages,
        )


class FieldError(BaseModel):
    location: list[str | int] = Field(
        description="Where: 'body' or 'query', then the field name (and index, for lists)."
    )
    message: str
    type: str = Field(description="A stable code for the kind of error, e.g. 'missing'.")


class ProblemOut(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""


class ValidationProblem(ProblemOut):
    """A 422: the request was understood, but these fields are wrong."""

    errors: list[FieldError]

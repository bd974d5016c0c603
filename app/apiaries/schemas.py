"""What the apiary, invitation and member forms accept (and the API's bodies: the same models)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from app.models import ApiaryRole
from app.web.forms import NO_NUL, NOT_BLANK, Blank, Number
from app.web.i18n import N_, _

ROLE_LABELS = {
    ApiaryRole.owner: N_("Owner"),
    ApiaryRole.keeper: N_("Keeper"),
    ApiaryRole.viewer: N_("Viewer"),
}
ROLE_HINTS = {
    ApiaryRole.owner: N_("everything, including members and deleting the apiary"),
    ApiaryRole.keeper: N_("records inspections, harvests, treatments and sensors; edits hives"),
    ApiaryRole.viewer: N_("reads everything in the apiary, changes nothing"),
}
RegistrationNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=50, pattern=NO_NUL)
]
# How long an invitation may be used, in days.
MAX_INVITATION_DAYS = 30


class ApiaryForm(BaseModel):
    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NOT_BLANK),
    ] = Field(title=N_("Name"))
    latitude: Annotated[float, Number, Field(ge=-90, le=90)] = Field(title=N_("Latitude"))
    longitude: Annotated[float, Number, Field(ge=-180, le=180)] = Field(title=N_("Longitude"))
    address: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=300, pattern=NO_NUL)
    ] = Field(default="", title=N_("Address"))
    registration_number: Annotated[RegistrationNumber | None, Blank] = Field(
        default=None, title=N_("Registration number")
    )
    notes: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] = Field(
        default="", title=N_("Notes")
    )

    @field_validator("longitude")
    @classmethod
    def _not_null_island(cls, value: float, info: ValidationInfo) -> float:
        if value == 0 and info.data.get("latitude") == 0:
            raise ValueError(_("Latitude and longitude are both 0: choose where the apiary is"))
        return value


# The address of an account to invite: looked up, never written to. An address no account has
# (one of a reserved domain, say, which sign-up refuses) is answered as such (409), not as a
# malformed field: only something that is no address at all is a 422.
AccountAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
]


class InvitationForm(BaseModel):
    """An invitation: a link (no email), or to the existing account with this email."""

    role: ApiaryRole = Field(default=ApiaryRole.keeper, title=N_("Role"))
    days: Annotated[int, Number, Field(ge=1, le=MAX_INVITATION_DAYS)] = Field(
        default=7, title=N_("Valid for (days)")
    )
    email: Annotated[AccountAddress | None, Blank] = Field(
        default=None, title=N_("Email (optional)")
    )


class RoleForm(BaseModel):
    role: ApiaryRole = Field(title=N_("Role"))

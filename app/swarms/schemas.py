"""What the swarm forms accept, and how their choices read on the page.

Every field has a size limit, free text included: the report form is public, so it is also the
form that spam and mischief meet first.
"""

from __future__ import annotations

import enum
import re
from datetime import timedelta
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints

from app.geo import Latitude, Longitude, decimal_text
from app.models import SwarmHeight, SwarmOutcome, SwarmSize
from app.web.i18n import N_, _

MAX_DESCRIPTION = 500
MAX_CONTACT = 254
MAX_HANGING_ON = 100
MAX_HONEYPOT = 200
HONEYPOT = "homepage"  # the field people never see, and form-filling robots fill in
DEFAULT_RADIUS_KM = 5


PHONE_CHARACTERS = re.compile(r"\+?[0-9 ()./-]+")


def _phone_or_email(value: str) -> str:
    """An email address as email-validator reads one, or a phone number: 6 to 15 digits
    (E.164 allows 15), an optional leading +, and the usual separators."""
    if "@" in value:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            pass
    elif PHONE_CHARACTERS.fullmatch(value) and 6 <= sum(c.isdigit() for c in value) <= 15:
        return value
    raise ValueError(_("Give a phone number (e.g. +49 30 1234567) or an email address"))


class SeenWhen(enum.StrEnum):
    """When the swarm was seen, as a passer-by would say it (no clock to set on a phone)."""

    now = "now"
    half_hour = "half_hour"
    two_hours = "two_hours"
    earlier_today = "earlier_today"
    yesterday = "yesterday"


SEEN_AGO = {
    SeenWhen.now: timedelta(0),
    SeenWhen.half_hour: timedelta(minutes=30),
    SeenWhen.two_hours: timedelta(hours=2),
    SeenWhen.earlier_today: timedelta(hours=5),
    SeenWhen.yesterday: timedelta(days=1),
}
SEEN_LABELS = {
    SeenWhen.now: N_("Just now"),
    SeenWhen.half_hour: N_("About half an hour ago"),
    SeenWhen.two_hours: N_("A couple of hours ago"),
    SeenWhen.earlier_today: N_("Earlier today"),
    SeenWhen.yesterday: N_("Yesterday"),
}
HEIGHT_LABELS = {
    SwarmHeight.ground: N_("Within reach from the ground"),
    SwarmHeight.ladder: N_("A ladder would reach it (2 to 4 m)"),
    SwarmHeight.high: N_("Higher than a ladder"),
    SwarmHeight.unknown: N_("Not sure"),
}
SIZE_LABELS = {
    SwarmSize.small: N_("Smaller than a football"),
    SwarmSize.medium: N_("About a football"),
    SwarmSize.large: N_("Bigger than a football"),
    SwarmSize.unknown: N_("Not sure"),
}
OUTCOME_LABELS = {
    SwarmOutcome.collected: N_("Collected"),
    SwarmOutcome.gone: N_("Gone when I came"),
    SwarmOutcome.not_honeybees: N_("Not honeybees"),
}

# The same choices as they read inside a sentence ("850 m away · about a football"): their own
# messages, since not every language may lower-case a label (German nouns keep their capital).
HEIGHT_PHRASES = {
    SwarmHeight.ground: N_("within reach from the ground"),
    SwarmHeight.ladder: N_("a ladder would reach it (2 to 4 m)"),
    SwarmHeight.high: N_("higher than a ladder"),
    SwarmHeight.unknown: N_("not sure"),
}
SIZE_PHRASES = {
    SwarmSize.small: N_("smaller than a football"),
    SwarmSize.medium: N_("about a football"),
    SwarmSize.large: N_("bigger than a football"),
    SwarmSize.unknown: N_("not sure"),
}
OUTCOME_PHRASES = {
    SwarmOutcome.collected: N_("collected"),
    SwarmOutcome.gone: N_("gone when I came"),
    SwarmOutcome.not_honeybees: N_("not honeybees"),
}


class SwarmReportForm(BaseModel):
    latitude: Latitude = Field(title=N_("Latitude"))
    longitude: Longitude = Field(title=N_("Longitude"))
    seen: SeenWhen = Field(default=SeenWhen.now, title=N_("When did you see it?"))
    height: SwarmHeight = Field(default=SwarmHeight.unknown, title=N_("How high is it?"))
    hanging_on: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=MAX_HANGING_ON)
    ] = Field(default="", title=N_("What is it hanging on?"))
    size: SwarmSize = Field(default=SwarmSize.unknown, title=N_("How big is it?"))
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION)
    ] = Field(title=N_("Describe it"))
    contact: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CONTACT),
        AfterValidator(_phone_or_email),
    ] = Field(title=N_("Your phone or email"))
    homepage: Annotated[str, StringConstraints(max_length=MAX_HONEYPOT)] = Field(
        default="", title=N_("Leave this empty")
    )


class CollectorForm(BaseModel):
    latitude: Latitude = Field(title=N_("Latitude"))
    longitude: Longitude = Field(title=N_("Longitude"))
    radius_km: Annotated[float, BeforeValidator(decimal_text), Field(ge=0.5, le=50)] = Field(
        default=DEFAULT_RADIUS_KM, title=N_("Collection radius (km)")
    )


class CloseForm(BaseModel):
    outcome: SwarmOutcome = Field(title=N_("What happened?"))

"""What a browser sends when it subscribes, the switches of a device, and what is sent."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints

from app.web.i18n import N_

# base64url, as PushSubscription.getKey() gives it to the page's script.
Base64Url = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+=*$")]


def _checked(value: object) -> object:
    """A checkbox: "on" when ticked, absent (so False) when not."""
    return value in ("on", "true", "1", True)


Checkbox = Annotated[bool, BeforeValidator(_checked)]


class SubscriptionForm(BaseModel):
    """PushSubscription.toJSON() of the browser, flattened into a form by the page's script."""

    endpoint: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")]
    p256dh: Annotated[Base64Url, StringConstraints(min_length=80, max_length=200)]
    auth: Annotated[Base64Url, StringConstraints(min_length=16, max_length=100)]


class SwitchesForm(BaseModel):
    """What one device is told about, and when it hears of the day's work."""

    swarms: Checkbox = Field(default=False, title=N_("Swarms reported near me"))
    alerts: Checkbox = Field(default=False, title=N_("Sensor alerts"))
    reminders: Checkbox = Field(default=False, title=N_("Today's inspections, once a day"))
    reminder_at: time = Field(default=time(7, 0), title=N_("Remind me at"))


class Kind(enum.StrEnum):
    """The kinds of notification, each a switch of its own on a device."""

    swarms = "swarms"
    alerts = "alerts"
    reminders = "reminders"


class Urgency(enum.StrEnum):
    """RFC 8030 section 5.3: how hard the push service should try to wake the phone."""

    very_low = "very-low"
    low = "low"
    normal = "normal"
    high = "high"


@dataclass(frozen=True)
class Message:
    """What the service worker shows: a title, a line of text, the page a click opens, and
    buttons; `tag` makes a later message about the same thing replace the earlier one."""

    title: str
    body: str
    url: str
    tag: str
    actions: tuple[tuple[str, str], ...] = ()  # (action, title)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "tag": self.tag,
            "actions": [{"action": action, "title": title} for action, title in self.actions],
        }


@dataclass(frozen=True)
class Outgoing:
    """One notification to queue: for a subscription, about a subject, sent once."""

    subscription_id: int
    subject: str
    message: Message
    urgency: Urgency
    ttl_seconds: int

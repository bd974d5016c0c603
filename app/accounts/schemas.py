"""What the account forms accept."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints

from app.web.forms import NO_NUL
from app.web.i18n import N_

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Password = Annotated[str, Field(min_length=12, max_length=128)]


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, AfterValidator(_lower)]


class SignUp(BaseModel):
    name: Name = Field(title=N_("Your name"))
    email: Email = Field(title=N_("Email"))
    password: Password = Field(title=N_("Password"))


class LogIn(BaseModel):
    # Any text is let through to a wrong-password answer (an email that is no address has no
    # account), but not NUL, which PostgreSQL text cannot hold, nor more than an email's length.
    email: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, to_lower=True, min_length=1, max_length=254, pattern=NO_NUL
        ),
    ] = Field(title=N_("Email"))
    password: Annotated[str, Field(min_length=1)] = Field(title=N_("Password"))


class Profile(BaseModel):
    name: Name = Field(title=N_("Name"))
    email: Email = Field(title=N_("Email"))


class PasswordChange(BaseModel):
    current_password: Annotated[str, Field(min_length=1)] = Field(title=N_("Current password"))
    new_password: Password = Field(title=N_("New password"))
    revoke_api_keys: bool = Field(default=False, title=N_("Also revoke my API keys"))


class ApiKeyForm(BaseModel):
    """A new key's name (the field is `key_name`: the profile form above it has a `name`)."""

    key_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ] = Field(title=N_("Key name"))

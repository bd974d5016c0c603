"""HTML forms through pydantic: the submitted values, the validated data, a message per field."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

IGNORED_FIELDS = frozenset({"_csrf"})


@dataclass
class Form[M: BaseModel]:
    """A submitted form: `values` as typed (to re-render), `data` once valid, `errors` by field."""

    values: dict[str, str]
    data: M | None = None
    errors: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.data is not None and not self.errors

    def add_error(self, name: str, message: str) -> None:
        """A problem found after validation (say, an email already taken)."""
        self.errors[name] = message
        self.data = None


async def read_form[M: BaseModel](request: web.Request, schema: type[M]) -> Form[M]:
    posted = await request.post()
    values = {
        name: value
        for name, value in posted.items()
        if isinstance(value, str) and name not in IGNORED_FIELDS
    }
    return validate(values, schema)


def validate[M: BaseModel](values: dict[str, str], schema: type[M]) -> Form[M]:
    """The form checked against its schema; each field's `title` names it in the error summary."""
    labels = {name: info.title or name for name, info in schema.model_fields.items()}
    try:
        return Form(values=values, data=schema.model_validate(values), labels=labels)
    except ValidationError as error:
        return Form(values=values, errors=field_errors(error), labels=labels)


def field_errors(error: ValidationError) -> dict[str, str]:
    """The first message for each field, worded for a person rather than a programmer."""
    errors: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "__all__"
        errors.setdefault(name, _humane(item))
    return errors


def _humane(item: ErrorDetails) -> str:
    kind, context = item["type"], item.get("ctx", {})
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return "This field is required."
    if kind == "string_too_short":
        return f"Use at least {context['min_length']} characters."
    if kind == "string_too_long":
        return f"Use at most {context['max_length']} characters."
    message = str(item["msg"]).removeprefix("Value error, ")
    message = message.removeprefix("value is not a valid email address: ")
    message = message[0].upper() + message[1:]
    return message if message.endswith(".") else message + "."

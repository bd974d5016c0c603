"""HTML forms through pydantic: the submitted values, the validated data, a message per field.

Text typed by a person is read leniently, and by one mechanism: a schema marks a field `Blank`
(a blank answer is no answer: None), `Number` (that, and a decimal comma, 2,5, read as 2.5),
or, for a date, adds `| NoAnswer`; a blank where an answer is needed reads "required". They act
on what a person typed (forms and query strings, validated from Python values); a JSON body says
what it means (null, numbers) and is read as strictly as JSON: one schema serves form and API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ValidationError, ValidationInfo
from pydantic_core import ErrorDetails

from app.web.formatting import number
from app.web.i18n import N_, _, translate

IGNORED_FIELDS = frozenset({"_csrf"})
# The C0 control characters and DEL: nothing a person types, in a link or in a file's name.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")
# PostgreSQL text cannot hold NUL: text with one is refused as input, never sent to the database.
NO_NUL = r"^[^\x00]*$"
# A required name must have more than the whitespace that strip_whitespace removes (Unicode's
# White_Space, spelled out so that JSON Schema's regex agrees).
_STRIPPED = r"\t-\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"^[^\x00]*[^\x00{_STRIPPED}][^\x00]*$"
# What no person types, refused in every field of every form before its schema is asked: a NUL
# (PostgreSQL text cannot hold one), and the replacement character that a percent-escape which
# is not UTF-8 (%FF) turns into when the body is read.
UNREADABLE_TEXT = {
    "\x00": N_("This text holds a NUL character, which cannot be stored. Please remove it."),
    "\ufffd": N_("This text holds characters that could not be read. Please type it again."),
}


def typed_by_a_person(info: ValidationInfo) -> bool:
    """Whether the value being validated is text a person typed (a form field, a query string),
    rather than a JSON body, which is read strictly."""
    return info.mode == "python"


def _blank_is_none(value: object, info: ValidationInfo) -> object:
    if typed_by_a_person(info) and isinstance(value, str) and not value.strip():
        return None
    return value


def _number_as_typed(value: object, info: ValidationInfo) -> object:
    value = _blank_is_none(value, info)
    if typed_by_a_person(info) and isinstance(value, str):
        return value.strip().replace(",", ".")  # phones in many locales type 51,5203
    return value


# A blank answer is no answer: Annotated[QueenCells | None, Blank].
Blank = BeforeValidator(_blank_is_none)
# A number as a person types it, blank or with a decimal comma: Annotated[float, Number].
Number = BeforeValidator(_number_as_typed)
# The same for a date or a time: `date | NoAnswer`. A validator around the date itself would
# hand strict JSON validation a Python string, which it refuses as a date; beside it, JSON's
# ISO text is read as JSON, and only a blank form field takes this branch.
NoAnswer = Annotated[None, Blank]


@dataclass
class Form[M: BaseModel]:
    """A submitted form: `values` as typed (to re-render), `data` once valid, `errors` by field."""

    values: dict[str, Any]
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


async def read_form[M: BaseModel](
    request: web.Request, schema: type[M], *, lists: tuple[str, ...] = ()
) -> Form[M]:
    """The posted form checked against `schema`; each name in `lists` keeps all its values."""
    posted = await request.post()
    values: dict[str, Any] = {
        name: value
        for name, value in posted.items()
        if isinstance(value, str) and name not in IGNORED_FIELDS
    }
    for name in lists:
        values[name] = [value for value in posted.getall(name, []) if isinstance(value, str)]
    return validate(values, schema)


def validate[M: BaseModel](values: dict[str, Any], schema: type[M]) -> Form[M]:
    """The form checked against its schema; each field's `title` names it in the error summary.
    A field holding text no one types (see UNREADABLE_TEXT) is refused whatever its schema."""
    labels = {name: translate(info.title or name) for name, info in schema.model_fields.items()}
    unreadable = unreadable_fields(values)
    try:
        data = schema.model_validate(values)
        form = Form(values=values, data=data, labels=labels)
    except ValidationError as error:
        form = Form(values=values, errors=field_errors(error), labels=labels)
    for name, message in unreadable.items():
        form.add_error(name, message)
        form.values[name] = _without_unreadable(values[name])  # shown again without it
    return form


def unreadable_fields(values: dict[str, Any]) -> dict[str, str]:
    """The message for each field whose text (or one of whose texts) cannot be taken as typed."""
    found: dict[str, str] = {}
    for name, value in values.items():
        for text in _texts(value):
            for character, message in UNREADABLE_TEXT.items():
                if character in text:
                    found.setdefault(name, translate(message))
    return found


def _texts(value: Any) -> list[str]:
    """The texts in a field's value: itself, the items of a list, the keys and items of a dict."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (*_texts(key), *_texts(item))]
    return []


def _without_unreadable(value: Any) -> Any:
    if isinstance(value, str):
        for character in UNREADABLE_TEXT:
            value = value.replace(character, "")
        return value
    if isinstance(value, list):
        return [_without_unreadable(item) for item in value]
    if isinstance(value, dict):
        return {name: _without_unreadable(item) for name, item in value.items()}
    return value


def field_errors(error: ValidationError) -> dict[str, str]:
    """The first message for each field, worded for a person rather than a programmer."""
    errors: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "__all__"
        message = _humane(item)
        if name == "__all__":  # a rule across fields names the field it is about: "field: ..."
            raw = str(item["msg"]).removeprefix("Value error, ")
            field_name, separator, rest = raw.partition(": ")
            if separator and field_name.isidentifier():
                name, message = field_name, rest
        errors.setdefault(name, message)
    return errors


# pydantic's own messages, by error type, in words a person reads (and a translator sees).
# The email checker's messages are its own library's, in English: one message of ours instead.
LIBRARY_MESSAGES = {
    "greater_than": N_("Enter a number above %(gt)s."),
    "greater_than_equal": N_("Enter %(ge)s or more."),
    "less_than": N_("Enter a number below %(lt)s."),
    "less_than_equal": N_("Enter %(le)s or less."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "number_type": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "decimal_parsing": N_("Enter a number."),
    "decimal_type": N_("Enter a number."),
    "decimal_max_places": N_("Use at most %(decimal_places)s decimal places."),
    "decimal_max_digits": N_("This number is too long."),
    "finite_number": N_("Enter a number."),
    "date_parsing": N_("Enter a date."),
    "date_from_datetime_parsing": N_("Enter a date."),
    "date_type": N_("Enter a date."),
    "datetime_parsing": N_("Enter a date and time."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "datetime_type": N_("Enter a date and time."),
    "time_parsing": N_("Enter a time."),
    "bool_parsing": N_("Choose yes or no."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "url_parsing": N_("Enter a web address starting with https://."),
    "url_scheme": N_("Enter a web address starting with https://."),
    "url_type": N_("Enter a web address starting with https://."),
    "string_pattern_mismatch": N_("This is not in the expected form."),
    "string_type": N_("Enter text."),
    "list_type": N_("Choose from the list."),
    "too_long": N_("Choose fewer."),
    "too_short": N_("Choose at least one."),
    "json_invalid": N_("This is not valid JSON."),
    "dict_type": N_("This is not valid JSON."),
}
EMAIL_INVALID = N_("Enter an email address such as name@example.org.")


def _humane(item: ErrorDetails) -> str:
    """The field's message in the reader's language. A schema's own message (a ValueError in a
    validator) is written with `_()` there and stays; pydantic's are replaced by ours."""
    kind, context = item["type"], item.get("ctx", {})
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return _("This field is required.")
    given = item.get("input", 0)
    blank = given is None or (isinstance(given, str) and not given.strip())
    if blank and kind != "value_error":  # needed, yet blank (a schema's own message stays)
        return _("This field is required.")
    if kind == "string_too_short":
        return _("Use at least %(count)s characters.", count=context["min_length"])
    if kind == "string_too_long":
        return _("Use at most %(count)s characters.", count=context["max_length"])
    raw = str(item["msg"])
    if raw.startswith("value is not a valid email address"):
        return translate(EMAIL_INVALID)
    if kind in LIBRARY_MESSAGES:
        values = {name: _shown(value) for name, value in context.items()}
        return (
            translate(LIBRARY_MESSAGES[kind]) % values
            if values
            else translate(LIBRARY_MESSAGES[kind])
        )
    message = raw.removeprefix("Value error, ")
    message = message[0].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def _shown(value: Any) -> Any:
    """A limit from pydantic's context as a reader writes it (2,5 in German)."""
    return (
        number(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    )

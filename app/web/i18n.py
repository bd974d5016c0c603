"""The reader's language: which one a request is answered in, and its words.

English is the source: every text in templates, Python and JavaScript is written in English and
marked for translation (`{% trans %}` or `_()` in a template, `_()` or `N_()` in Python). The
catalogues are `translations/<locale>/LC_MESSAGES/messages.po`, read once per process and
compiled in memory (no .mo file to build or to forget). `python -m app i18n` extracts the
messages and adds or updates a catalogue (see docs/i18n.md).

A request's language is, in this order: the signed-in account's choice, the `cityhive_lang`
cookie (the choice in the footer or on the profile page, kept for visitors without an account
too), then the browser's Accept-Language; else English. `locale_middleware` sets it for the
request's task, so `_()` anywhere below it (views, form messages, templates) speaks that
language without the request being passed down.

Python texts that exist before any request (labels, messages kept in constants) are marked with
`N_()`, which only marks them for extraction, and are translated where they are shown.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from gettext import NullTranslations
from io import BytesIO
from typing import Any

from aiohttp import web
from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from app.catalogues import catalogue_path
from app.keys import language_key, user_key

SOURCE = "en"
# Each language by its own name, as the chooser shows it.
LANGUAGES = {"en": "English", "de": "Deutsch", "fr": "Français"}
COOKIE = "cityhive_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Dates and numbers: English as written in Europe (26 November 2026, 14:05).
FORMAT_LOCALES = {"en": "en_GB", "de": "de_DE", "fr": "fr_FR"}

_language: ContextVar[str] = ContextVar("language", default=SOURCE)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@functools.cache
def catalogue(language: str) -> NullTranslations:
    """The language's messages, compiled from its .po file once per process. Fuzzy and empty
    entries are left out, so they show in English rather than as a guess."""
    if language == SOURCE:
        return NullTranslations()
    with catalogue_path(language).open("rb") as po:
        messages = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def language() -> str:
    """The current request's language ("en", "de", "fr")."""
    return _language.get()


def format_locale() -> Locale:
    return _format_locale(_language.get())


@functools.cache
def _format_locale(language: str) -> Locale:
    return Locale.parse(FORMAT_LOCALES.get(language, language))


def use(language: str) -> None:
    """Speak `language` for the rest of this task (a request, a test, a background job)."""
    _language.set(language if language in LANGUAGES else SOURCE)


def _(message: str, **variables: Any) -> str:
    """`message` in the current language; `%(name)s` placeholders filled from `variables`."""
    text = catalogue(_language.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, several: str, n: int, **variables: Any) -> str:
    """The singular or plural form for `n` (as the language counts), `%(num)s` being `n`."""
    return plural(singular, several, n) % {"num": n, **variables}


def N_(message: str) -> str:
    """Mark a text for translation without translating it (it is translated where shown)."""
    return message


def translate(message: str) -> str:
    """A text marked with `N_()`, translated now (a template's `_()` does the same)."""
    return catalogue(_language.get()).gettext(message) if message else message


def plural(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, untouched: a template fills its placeholders."""
    return catalogue(_language.get()).ngettext(singular, plural, n)


@functools.lru_cache(maxsize=512)
def from_header(accept_language: str) -> str | None:
    """The best of our languages for an Accept-Language header, or None. Remembered per header
    value: browsers send a few values, and negotiating one is on every request's path."""
    wanted = []
    for part in accept_language.split(","):
        tag, _semicolon, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            continue
        if tag and quality > 0:
            wanted.append((quality, tag.strip()))
    ordered = [tag.replace("_", "-") for _quality, tag in sorted(wanted, key=lambda w: -w[0])]
    found = negotiate_locale(ordered, list(LANGUAGES), sep="-")
    if found is None:  # "de-AT" where only "de" is kept
        found = negotiate_locale([tag.split("-")[0] for tag in ordered], list(LANGUAGES))
    return found


def chosen(request: web.Request) -> tuple[str, bool]:
    """The request's language, and whether the Accept-Language header decided it."""
    user = request.get(user_key)
    if user is not None and user.language in LANGUAGES:
        return user.language, False
    cookie = request.cookies.get(COOKIE, "")
    if cookie in LANGUAGES:
        return cookie, False
    return from_header(request.headers.get("Accept-Language", "")) or SOURCE, True


@web.middleware
async def locale_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer in the reader's language (`describe` then labels the answer, error pages too)."""
    speak_to(request)
    return await handler(request)


def speak_to(request: web.Request) -> None:
    """Speak the reader's language for the rest of this request, and remember how it was
    chosen for `describe` (the error pages ask again: an error raised before the middleware)."""
    found, by_header = chosen(request)
    use(found)
    request[language_key] = (found, by_header)


def answer_in(request: web.Request, language: str) -> None:
    """Answer this request in `language` whatever the reader's browser asks for: the API's
    problem documents (English, for programs), a calendar feed (its account's language)."""
    use(language)
    request[language_key] = (_language.get(), False)


def describe(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the answer's language; where the browser's header chose it, that the
    answer varies by it, so no cache serves one language to a reader of another."""
    if (chosen_for := request.get(language_key)) is None:
        return  # answered before the middleware (static files): the same in every language
    found, by_header = chosen_for
    response.headers.setdefault("Content-Language", found)
    if by_header:
        vary = response.headers.get("Vary", "")
        if "accept-language" not in vary.lower():
            response.headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"

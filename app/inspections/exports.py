"""The beekeeper's data out, in files any spreadsheet opens: CSV per table, or all of it zipped.

Rows are streamed from a server-side cursor and written to the response as they come, so a
large account never sits in memory; the zip is written on the fly too (zipfile on a stream that
cannot seek puts each entry's sizes after its data).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.hives.queries import hives_geojson
from app.inspections.schemas import mites_per_100
from app.keys import db_key
from app.models import Harvest, HarvestShare, Hive, Inspection
from app.web.auth import login_required, user_of
from app.web.htmx import render

BATCH = 1000
# Every hive of an account goes into the export's GeoJSON.
ALL_HIVES = 1_000_000

Row = Sequence[Any]


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum member
        return value.value
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


INSPECTION_COLUMNS = [
    "id", "hive_id", "hive_name", "scheduled_for", "done_at", "frames_of_bees", "queen_seen",
    "eggs_seen", "larvae_seen", "capped_brood_seen", "queen_cells", "queen_cell_count",
    "brood_pattern", "temperament", "honey_frames", "pollen_frames", "varroa_count",
    "varroa_method", "varroa_sample", "mites_per_100_bees", "treatment_product",
    "treatment_dose", "feeding_kind", "feeding_amount", "weight_kg", "actions",
    "weather_temp_c", "weather_conditions", "notes", "schedule_note",
]  # fmt: skip


def inspections_query(owner_id: int) -> Select[*tuple[Any, ...]]:
    return (
        select(Inspection, Hive.name)
        .join(Hive, Hive.id == Inspection.hive_id)
        .where(Hive.owner_id == owner_id)
        .order_by(Inspection.hive_id, Inspection.id)
    )


def inspection_row(row: Any) -> list[Any]:
    inspection, hive_name = row
    values = {column: getattr(inspection, column, None) for column in INSPECTION_COLUMNS}
    values["hive_name"] = hive_name
    values["mites_per_100_bees"] = mites_per_100(
        inspection.varroa_count, inspection.varroa_method, inspection.varroa_sample
    )
    return [_text(values[column]) for column in INSPECTION_COLUMNS]


HARVEST_COLUMNS = [
    "harvest_id", "harvested_on", "hive_id", "hive_name", "kg", "harvest_total_kg", "frames",
    "moisture_pct", "honey_kind", "quality", "notes",
]  # fmt: skip


def harvests_query(owner_id: int) -> Select[*tuple[Any, ...]]:
    return (
        select(Harvest, HarvestShare.hive_id, Hive.name, HarvestShare.kg)
        .join(HarvestShare, HarvestShare.harvest_id == Harvest.id)
        .join(Hive, Hive.id == HarvestShare.hive_id)
        .where(Harvest.owner_id == owner_id)
        .order_by(Harvest.harvested_on, Harvest.id, Hive.id)
    )


def harvest_row(row: Any) -> list[Any]:
    harvest, hive_id, hive_name, kg = row
    return [
        _text(value)
        for value in (
            harvest.id, harvest.harvested_on, hive_id, hive_name, kg, harvest.total_kg,
            harvest.frames, harvest.moisture_pct, harvest.honey_kind, harvest.quality,
            harvest.notes,
        )
    ]  # fmt: skip


HIVE_COLUMNS = [
    "id", "name", "latitude", "longitude", "site", "frame_type", "origin", "status",
    "installed_on", "notes",
]  # fmt: skip


def hives_query(owner_id: int) -> Select[*tuple[Any, ...]]:
    return (
        select(Hive, func.ST_Y(Hive.location), func.ST_X(Hive.location))
        .where(Hive.owner_id == owner_id)
        .order_by(Hive.id)
    )


def hive_row(row: Any) -> list[Any]:
    hive, latitude, longitude = row
    return [
        _text(value)
        for value in (
            hive.id, hive.name, f"{latitude:.7f}", f"{longitude:.7f}", hive.site,
            hive.frame_type, hive.origin, hive.status, hive.installed_on, hive.notes,
        )
    ]  # fmt: skip


TABLES: dict[
    str, tuple[list[str], Callable[[int], Select[*tuple[Any, ...]]], Callable[[Any], list[Any]]]
] = {
    "inspections": (INSPECTION_COLUMNS, inspections_query, inspection_row),
    "harvests": (HARVEST_COLUMNS, harvests_query, harvest_row),
    "hives": (HIVE_COLUMNS, hives_query, hive_row),
}


async def csv_chunks(db: AsyncSession, table: str, owner_id: int) -> AsyncIterator[bytes]:
    """The table as CSV (UTF-8 with a BOM, which spreadsheets need to read accents), in chunks."""
    columns, query, to_row = TABLES[table]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    result = await db.stream(query(owner_id).execution_options(yield_per=BATCH))
    async for partition in result.partitions(BATCH):
        writer.writerows(to_row(row) for row in partition)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def stamp() -> str:
    return datetime.now().strftime("%Y-%m-%d")


async def streamed(request: web.Request, filename: str, content_type: str) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    return response


@login_required
async def export_csv(request: web.Request) -> web.StreamResponse:
    table = request.match_info["table"]
    if table not in TABLES:
        raise web.HTTPNotFound()
    user = user_of(request)
    async with request.app[db_key]() as db:
        chunks = csv_chunks(db, table, user.id)
        first = await anext(chunks)  # a database error still becomes an error page
        response = await streamed(
            request, f"cityhive-{table}-{stamp()}.csv", "text/csv; charset=utf-8"
        )
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
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
    """inspections.csv, harvests.csv, hives.csv and hives.geojson in one zip, written as it goes."""
    user = user_of(request)
    sink = ZipStream()
    response = await streamed(request, f"cityhive-export-{stamp()}.zip", "application/zip")
    async with request.app[db_key]() as db:
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for table in TABLES:
                with archive.open(f"{table}.csv", "w", force_zip64=True) as entry:
                    async for chunk in csv_chunks(db, table, user.id):
                        entry.write(chunk)
                        await response.write(sink.take())
            geojson = await hives_geojson(db, user.id, None, ALL_HIVES)
            archive.writestr("hives.geojson", geojson)
    await response.write(sink.take())
    await response.write_eof()
    return response


@login_required
async def exports_page(request: web.Request) -> web.Response:
    return render(
        request,
        "inspections/exports.html",
        {"tables": list(TABLES)},
        partial="partials/inspections/exports.html",
    )

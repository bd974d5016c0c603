"""A device's posts onto its sensors: finding the device by its key, making the sensors its
fields call for, and checking each value (raw asyncpg on the ingest pool, as ingest.py).

A field the device has a sensor for lands there. A field with a known meaning (formats.meaning)
and a number gets a sensor of its own on the device's hive, named after the device and the
field, the first time it is posted. Any other field is listed as ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.models import DeviceType
from app.sensors.formats import (
    FIELD_NAME,
    Calibration,
    Post,
    meaning,
    normalised,
    number,
)
from app.sensors.ingest import (
    Checked,
    OwnedSensor,
    device_time,
    problem,
    sensors_of_device_hive,
    value_problem,
)
from app.sensors.schemas import KEY_ALONE_LENGTH
from app.web.auth import members_hive_sql


@dataclass(frozen=True)
class PostingDevice:
    """A device as a post needs it."""

    id: int
    hive_id: int
    owner_id: int
    name: str
    type: DeviceType
    calibration: Calibration | None
    csv_fields: list[str] | None


# `may_post`: the API key's user ($2; NULL for a key alone) may change the device's hive.
_DEVICE = f"""
    SELECT d.id, d.hive_id, h.owner_id, d.name, d.type::text AS type,
           d.weight_offset, d.weight_multiplier, d.csv_fields,
           {members_hive_sql("h.apiary_id", "$2::integer", change=True)} AS may_post
    FROM devices d JOIN hives h ON h.id = d.hive_id
    WHERE d.key = $1
"""  # noqa: S608 - the access rule's own SQL


async def device_of_key(
    pg: asyncpg.Connection, key: str, owner_id: int | None = None
) -> PostingDevice | None:
    """The device with this key (on a hive this user may change, when the post came with an
    API key: a keeper's key posts for the apiary's devices, a viewer's for none).

    A key alone, without the owner's API key, opens only a device whose key is a secret: at
    least KEY_ALONE_LENGTH characters, and not a LoRaWAN device, whose DevEUI is printed on it.
    """
    key = key.strip().lower()
    if "\x00" in key:
        return None  # no key holds a NUL (PostgreSQL text cannot), so no device has this one
    if owner_id is None and len(key) < KEY_ALONE_LENGTH:
        return None
    row = await pg.fetchrow(_DEVICE, key, owner_id)
    if row is None or (owner_id is not None and not row["may_post"]):
        return None
    if owner_id is None and row["type"] == DeviceType.ttn.value:
        return None
    calibration = None
    if row["weight_offset"] is not None and row["weight_multiplier"] is not None:
        calibration = Calibration(row["weight_offset"], row["weight_multiplier"])
    fields = row["csv_fields"]
    return PostingDevice(
        id=row["id"],
        hive_id=row["hive_id"],
        owner_id=row["owner_id"],
        name=row["name"],
        type=DeviceType(row["type"]),
        calibration=calibration,
        csv_fields=fields.split(",") if fields else None,
    )


async def keep_csv_fields(pg: asyncpg.Connection, device_id: int, names: list[str]) -> None:
    await pg.execute(
        "UPDATE devices SET csv_fields = $2 WHERE id = $1", device_id, ",".join(names)[:1000]
    )


async def note_post(pg: asyncpg.Connection, device_id: int) -> None:
    await pg.execute("UPDATE devices SET last_post_at = now() WHERE id = $1", device_id)


MAKE_SENSORS = """
    INSERT INTO sensors (hive_id, name, kind, placement, device_id, field)
    SELECT $1, $2 || ': ' || f, k::sensor_kind, p::sensor_placement, $3, f
    FROM unnest($4::text[], $5::text[], $6::text[]) AS wanted(f, k, p)
    ON CONFLICT DO NOTHING
"""


async def sensors_by_field(
    pg: asyncpg.Connection, device: PostingDevice, posts: Sequence[Post]
) -> dict[str, OwnedSensor]:
    """The device's sensors by the field each takes, made first for the fields posted with a
    known meaning and a number that have none yet."""
    have = await _fields(pg, device.id)
    wanted: dict[str, tuple[str, str]] = {}
    for post in posts:
        for name, raw in normalised(post.values, device.calibration).items():
            meant = meaning(name) if FIELD_NAME.match(name) else None
            if name not in have and meant is not None and number(raw) is not None:
                wanted[name] = (meant[0].value, meant[1].value)
    if wanted:
        names = list(wanted)
        await pg.execute(
            MAKE_SENSORS,
            device.hive_id,
            device.name,
            device.id,
            names,
            [wanted[name][0] for name in names],
            [wanted[name][1] for name in names],
        )
        have = await _fields(pg, device.id)
    owned = {s.id: s for s in await sensors_of_device_hive(pg, device.hive_id)}
    return {name: owned[sensor_id] for name, sensor_id in have.items() if sensor_id in owned}


async def _fields(pg: asyncpg.Connection, device_id: int) -> dict[str, int]:
    rows = await pg.fetch("SELECT field, id FROM sensors WHERE device_id = $1", device_id)
    return {row["field"]: row["id"] for row in rows}


def check_posts(
    posts: Sequence[Post],
    sensors: Mapping[str, OwnedSensor],
    calibration: Calibration | None,
    now: datetime,
) -> Checked:
    """Each post's values as readings of the device's sensors, at the post's time."""
    checked = Checked(total=0)
    for index, post in enumerate(posts):
        values = normalised(post.values, calibration)
        where = ("body", index) if len(posts) > 1 else ("body",)
        at = device_time(post.time, now) if post.time not in (None, "") else now
        if isinstance(at, dict):
            checked.total += len(values)
            checked.refused += len(values)
            checked.errors.append({**at, "location": [*where, "time"]})
            continue
        for name, raw in values.items():
            sensor = sensors.get(name)
            value = number(raw)
            if sensor is None and value is None and meaning(name) is not None:
                checked.total += 1
                checked.refuse(
                    [problem((*where, name), "The value must be a number.", "type_error")]
                )
                continue
            if sensor is None:
                if name not in checked.ignored:
                    checked.ignored.append(name)
                continue
            checked.total += 1
            found = value_problem((*where, name), raw if value is None else value, sensor)
            if found or value is None:
                checked.refuse([found] if found else [])
                continue
            checked.sensor_ids.append(sensor.id)
            checked.times.append(at)
            checked.values.append(value)
    return checked

"""Where devices that already exist post, unchanged: BEEP's `/api/sensors` (and its
authenticated `/api/sensors_auth`), The Things Network's uplink webhook, and Hiveeyes / Kotori's
`/api/hiveeyes/<network>/<gateway>/<node>/data`. Each finds its device by the device's own key
(a BEEP key or DevEUI, a Kotori node), reads the body as its project documents it
(app/sensors/formats.py) and stores the readings on the device's sensors (devices.py).

Answers are the readings API's: the counts, or a problem document; BEEP's clients get 201 for a
post stored (as BEEP answers). A wrong device key is counted against the client's address like
a wrong API key; each device has READINGS_BATCHES_PER_KEY posts per READINGS_WINDOW_SECONDS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from app.keys import ingest_pool_key, settings_key
from app.sensors import devices
from app.sensors.api import (
    answer,
    count_post,
    device_fields,
    invalid,
    parse_json,
    raise_alerts,
    read_body,
    refuse_declared_size,
)
from app.sensors.devices import PostingDevice
from app.sensors.formats import (
    CSV_TYPES,
    Post,
    Unreadable,
    beep_post,
    csv_posts,
    kotori_time,
    ttn_post,
)
from app.sensors.ingest import store
from app.web.api import (
    Problem,
    TooManyRequests,
    api_view,
    json_media_type,
    key_holder,
    wrong_key,
)
from app.web.database import db_session

POSTS_PER_DEVICE = "readings-per-device"  # the throttle bucket, keyed by device id
NO_DEVICE_KEY = "Send the device's key as `key` (its BEEP key or DevEUI, from its CityHive page)."
UNKNOWN_DEVICE = "No device has this key: add the device on its hive's sensors page."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def unknown_device(request: web.Request) -> Problem:
    """Count a wrong device key against the client's address (as a wrong API key is)."""
    async with db_session(request) as db:
        refused = await wrong_key(db, request)
    if isinstance(refused, TooManyRequests):
        return refused
    return Problem(401, UNKNOWN_DEVICE, auth=True)


async def device_for(request: web.Request, key: str | None, owner_id: int | None) -> PostingDevice:
    if not key:
        if owner_id is None:
            raise Problem(400, NO_DEVICE_KEY)  # as BEEP answers a post without a key
        raise invalid(["body", "key"], NO_DEVICE_KEY, "missing", "The post names no device.")
    async with request.app[ingest_pool_key].acquire() as pg:
        device = await devices.device_of_key(pg, key, owner_id)
    if device is None:
        if owner_id is not None:
            raise Problem(404, "You have no device with this key.")
        raise await unknown_device(request)
    await count_post(request, POSTS_PER_DEVICE, device.id, "This device")
    return device


async def store_posts(
    request: web.Request,
    device: PostingDevice,
    posts: Sequence[Post],
    *,
    status: int = 200,
    csv_fields: list[str] | None = None,
) -> web.Response:
    """Store the posts' readings on the device's sensors and answer what happened."""
    now = datetime.now(UTC)
    async with request.app[ingest_pool_key].acquire() as pg:
        if csv_fields is not None and csv_fields != device.csv_fields:
            await devices.keep_csv_fields(pg, device.id, csv_fields)
        sensors = await devices.sensors_by_field(pg, device, posts)
        checked = devices.check_posts(posts, sensors, device.calibration, now)
        stored = await store(pg, checked)
        await devices.note_post(pg, device.id)
        by_id = {sensor.id: sensor for sensor in sensors.values()}
        raised = await raise_alerts(request, pg, device.owner_id, by_id, stored)
    return await answer(request, raised, checked, stored, kept=True, device=True, status=status)


# --- BEEP -----------------------------------------------------------------------------------


async def beep(request: web.Request, owner_id: int | None) -> web.Response:
    post = beep_post(await device_fields(request))
    device = await device_for(request, post.key, owner_id)
    return await store_posts(request, device, [post], status=201)


@api_view
async def post_beep(request: web.Request) -> web.Response:
    """BEEP's `POST /api/sensors`: the device's key in the post is all it sends."""
    refuse_declared_size(request, request.app[settings_key].max_body_bytes)
    return await beep(request, None)


@api_view
async def post_beep_authenticated(request: web.Request) -> web.Response:
    """BEEP's `POST /api/sensors_auth`: the same post with the owner's API key in a header; the
    device must be theirs."""
    holder = await key_holder(request)
    return await beep(request, holder.user_id)


# --- The Things Network ------------------------------------------------------------------------


@api_view
async def post_ttn_uplink(request: web.Request) -> web.Response:
    """A The Things Network v3 webhook's uplink message. The webhook's additional header
    `Authorization: Bearer <API key>` (or `X-API-Key`) is its shared secret; the device is the
    key owner's device whose key is the uplink's DevEUI."""
    limit = request.app[settings_key].max_body_bytes
    refuse_declared_size(request, limit)
    holder = await key_holder(request)
    json_media_type(request)
    data = parse_json(await read_body(request, limit))
    try:
        post = ttn_post(data)
    except Unreadable as wrong:
        raise invalid(["body"], str(wrong), "uplink_invalid", str(wrong)) from None
    device = await device_for(request, post.key, holder.user_id)
    return await store_posts(request, device, [post])


# --- Hiveeyes / Kotori -------------------------------------------------------------------------


async def kotori_posts(request: web.Request, device: PostingDevice) -> tuple[list[Post], Any]:
    """The posts of a Kotori body, and the CSV field names it leaves in force (None: not CSV)."""
    limit = request.app[settings_key].max_body_bytes
    if request.content_type in CSV_TYPES:
        text = (await read_body(request, limit)).decode("utf-8", errors="replace")
        try:
            names, posts = csv_posts(text, device.csv_fields)
        except Unreadable as wrong:
            raise invalid(["body"], str(wrong), "csv_invalid", str(wrong)) from None
        return [timed(post) for post in posts], names
    if request.content_type in FORM_TYPES or request.content_type == "application/json":
        fields = await device_fields(request)
        fields.pop("key", None)
        return [timed(Post(key=None, time=fields.pop("time", None), values=fields))], None
    raise Problem(
        415,
        f"Unable to handle Content-Type '{request.content_type}': send application/json, "
        "application/x-www-form-urlencoded or text/csv.",
    )


def timed(post: Post) -> Post:
    if post.time in (None, ""):
        return post
    return Post(key=post.key, time=kotori_time(post.time), values=post.values)


@api_view
async def post_kotori(request: web.Request) -> web.Response:
    """Kotori's HTTP acquisition: the channel's node is the device's key."""
    refuse_declared_size(request, request.app[settings_key].max_body_bytes)
    device = await device_for(request, request.match_info["node"], None)
    posts, names = await kotori_posts(request, device)
    if not posts and names is not None:  # only the `## …` line: the fields are kept
        if names != device.csv_fields:
            async with request.app[ingest_pool_key].acquire() as pg:
                await devices.keep_csv_fields(pg, device.id, names)
        return web.json_response({"fields": names})
    return await store_posts(request, device, posts, csv_fields=names)

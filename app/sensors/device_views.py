"""A hive's devices as pages: added on the hive's sensors page, each with its own page (its
sensors, the configuration to paste into its client), removed, and a scale calibrated in two
steps (the scale empty, then a known weight on it); and a weight read by hand at the hive (a
luggage scale), recorded from the hive page exactly once, as every record made at the hive.
Plain forms: a phone without JavaScript does all of it.

As the hive's sensors, its devices are for those who may change the hive: 404 for anyone else.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import settings_key
from app.models import Device
from app.sensors import queries
from app.sensors.schemas import (
    DEVICE_TYPE_LABELS,
    EARLIEST,
    DeviceForm,
    EmptyScaleForm,
    KnownWeightForm,
    WeighingForm,
)
from app.sensors.views import labels, sensors_page
from app.web import idempotency
from app.web.auth import HiveView, hive_for, login_required, user_of
from app.web.database import db_session
from app.web.forms import Form, read_form, validate
from app.web.htmx import redirect, render
from app.web.i18n import _, translate
from app.web.idempotency import FIELD
from app.web.paths import path_id
from app.web.urls import public_origin


async def owned_device(request: web.Request) -> tuple[HiveView, Device]:
    found = await hive_for(request, change=True)
    async with db_session(request) as db:
        device = await queries.device_of(db, found.hive.id, path_id(request, "device_id"))
    if device is None:
        raise web.HTTPNotFound()
    return found, device


def device_path(device: Device) -> str:
    return f"/hives/{device.hive_id}/devices/{device.id}"


@login_required
async def device_add(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await read_form(request, DeviceForm)
    if form.data is not None:
        key = form.data.device_key or secrets.token_hex(16)
        async with db_session(request) as db:
            if await queries.device_name_taken(db, found.hive.id, form.data.device_name):
                form.add_error("device_name", _("This hive already has a device with this name."))
            elif await queries.device_key_taken(db, key):
                form.add_error("device_key", _("A device with this key is already in CityHive."))
            else:
                device_id = await queries.add_device(db, found.hive.id, form.data, key)
                return redirect(request, f"/hives/{found.hive.id}/devices/{device_id}")
    return await sensors_page(request, found, status=422, device_form=form)


@login_required
async def device_page(request: web.Request) -> web.Response:
    found, device = await owned_device(request)
    async with db_session(request) as db:
        sensors = await queries.sensors_of_device(db, device.id)
    context = {
        "hive": found.hive,
        "device": device,
        "sensors": sensors,
        "type_label": translate(DEVICE_TYPE_LABELS[device.type]),
        "base_url": public_origin(request),
        **labels(),
    }
    return render(request, "sensors/device.html", context, partial="partials/sensors/device.html")


@login_required
async def device_delete_confirm(request: web.Request) -> web.Response:
    found, device = await owned_device(request)
    return render(
        request,
        "sensors/device_delete.html",
        {"hive": found.hive, "device": device},
        partial="partials/sensors/device_delete.html",
    )


@login_required
async def device_delete(request: web.Request) -> web.Response:
    found, device = await owned_device(request)
    async with db_session(request) as db:
        await queries.remove_device(db, device.id)
    return redirect(request, f"/hives/{found.hive.id}/sensors")


# --- calibration: the scale empty, then a known weight on it ------------------------------------


async def calibration_page(
    request: web.Request,
    found: HiveView,
    device: Device,
    step: int,
    form: Form[Any],
    status: int = 200,
) -> web.Response:
    async with db_session(request) as db:
        raw = await queries.raw_weight_of(db, device.id)
    context = {"hive": found.hive, "device": device, "raw": raw, "step": step, "form": form}
    return render(
        request,
        "sensors/calibrate.html",
        context,
        partial="partials/sensors/calibrate.html",
        status=status,
    )


def plain(value: float) -> str:
    """A raw value as the form reads it back: no grouping, no exponent (61250, -12.5)."""
    return f"{value:f}".rstrip("0").rstrip(".")


async def newest_raw(request: web.Request, device: Device) -> str:
    async with db_session(request) as db:
        raw = await queries.raw_weight_of(db, device.id)
    return plain(raw.last_value) if raw is not None and raw.last_value is not None else ""


@login_required
async def calibrate_empty(request: web.Request) -> web.Response:
    """Step 1: with the scale empty, its raw value (the newest it posted, or typed)."""
    found, device = await owned_device(request)
    form: Form[EmptyScaleForm] = Form(values={"empty": await newest_raw(request, device)})
    return await calibration_page(request, found, device, 1, form)


@login_required
async def calibrate_empty_save(request: web.Request) -> web.Response:
    found, device = await owned_device(request)
    form = await read_form(request, EmptyScaleForm)
    if form.data is None:
        return await calibration_page(request, found, device, 1, form, status=422)
    known = f"{device_path(device)}/calibrate/known?" + urlencode({"empty": plain(form.data.empty)})
    return redirect(request, known)


@login_required
async def calibrate_known(request: web.Request) -> web.Response:
    """Step 2: with a known weight on the scale, its raw value and the weight."""
    found, device = await owned_device(request)
    step_one = validate({"empty": request.query.get("empty", "")}, EmptyScaleForm)
    if step_one.data is None:
        return redirect(request, f"{device_path(device)}/calibrate")
    values = {
        "empty": step_one.values["empty"],
        "loaded": await newest_raw(request, device),
        "known_kg": "",
    }
    form: Form[KnownWeightForm] = Form(values=values)
    return await calibration_page(request, found, device, 2, form)


@login_required
async def calibrate_known_save(request: web.Request) -> web.Response:
    found, device = await owned_device(request)
    form = await read_form(request, KnownWeightForm)
    if form.data is None:
        return await calibration_page(request, found, device, 2, form, status=422)
    data = form.data
    multiplier = data.known_kg / (data.loaded - data.empty)
    async with db_session(request) as db:
        await queries.calibrate(db, device.id, data.empty, multiplier)
    return redirect(request, device_path(device))


# --- a weight read by hand at the hive ------------------------------------------------------------

# A clock a little fast is fine; a weighing in the future is a typo.
WEIGHING_AHEAD = timedelta(minutes=10)


def weighing_values(request: web.Request) -> dict[str, str]:
    """A fresh weighing form: now, and its own Idempotency-Key."""
    now = datetime.now(request.app[settings_key].zone)
    return {"weighed_at": now.strftime("%Y-%m-%dT%H:%M"), FIELD: idempotency.fresh_key()}


def weighing_page(
    request: web.Request, found: HiveView, form: Form[WeighingForm], status: int = 200
) -> web.Response:
    return render(
        request,
        "sensors/weighing.html",
        {"hive": found.hive, "weighing": form},
        partial="partials/sensors/weighing.html",
        status=status,
    )


@login_required
async def weighing_create(request: web.Request) -> web.Response:
    """A weight read off a scale at the hive: a reading of the hive's hand-weighing sensor, made
    once per Idempotency-Key (the offline outbox replays it)."""
    found = await hive_for(request, change=True)
    form = await read_form(request, WeighingForm)
    key = idempotency.form_key(request, form)
    at = None
    if form.data is not None:
        at = form.data.weighed_at
        if at.tzinfo is None:
            at = at.replace(tzinfo=request.app[settings_key].zone)
        if at > datetime.now(UTC) + WEIGHING_AHEAD:
            form.add_error("weighed_at", _("This time is in the future."))
        elif at < EARLIEST:
            form.add_error("weighed_at", _("Enter a time after 2000."))
    if form.data is None or at is None:
        return weighing_page(request, found, form, status=422)
    kg, when, name = form.data.weight_kg, at, _("Weighed by hand")

    async def weigh(db: AsyncSession) -> idempotency.Answer:
        await queries.record_weighing(db, found.hive.id, kg, when, name)
        return idempotency.Answer(303, f"/hives/{found.hive.id}#sensors")

    answer = await idempotency.create_from_form(
        request, form, user_of(request).id, key, weigh, synced_as="weighing"
    )
    if answer is None:
        return weighing_page(request, found, form, status=422)
    return redirect(request, answer.location or f"/hives/{found.hive.id}")

"""A beekeeper's devices: "Notify me on this phone", what each device is told, and removing one.

Subscribing needs the browser's Push API, so the button is the page script's (static/js/push.js):
it subscribes with the server's VAPID public key and posts the subscription here as a form.
Everything else is plain forms.
"""

from __future__ import annotations

from aiohttp import web

from app.keys import vapid_key
from app.models import PushSubscription
from app.push import queries
from app.push.schemas import SubscriptionForm, SwitchesForm
from app.push.vapid import application_server_key
from app.web.auth import device_name, device_of, login_required, user_of
from app.web.database import db_session
from app.web.forms import Form, read_form
from app.web.htmx import redirect, render
from app.web.i18n import language, translate
from app.web.paths import path_id

DEVICES = "/push/devices"


async def devices_page(
    request: web.Request,
    *,
    subscription_form: Form[SubscriptionForm] | None = None,
    switches_form: tuple[int, Form[SwitchesForm]] | None = None,
    status: int = 200,
) -> web.Response:
    async with db_session(request) as db:
        devices = await queries.devices_of(db, user_of(request).id)
    forms: dict[int, Form[SwitchesForm]] = {device.id: switches_of(device) for device in devices}
    if switches_form is not None and switches_form[0] in forms:
        forms[switches_form[0]] = switches_form[1]
    return render(
        request,
        "push/devices.html",
        {
            "devices": devices,
            "device_name": device_name,
            "server_key": server_key(request),
            "subscription_form": subscription_form or Form(values={}),
            "forms": forms,
            "switch_labels": {
                name: translate(field.title or name)
                for name, field in SwitchesForm.model_fields.items()
                if name != "reminder_at"
            },
            "saved": request.query.get("saved") == "1",
        },
        partial="partials/push/devices.html",
        status=status,
    )


def switches_of(device: PushSubscription) -> Form[SwitchesForm]:
    return Form(
        values={
            "swarms": device.swarms,
            "alerts": device.alerts,
            "reminders": device.reminders,
            "reminder_at": device.reminder_at.strftime("%H:%M"),
        }
    )


def server_key(request: web.Request) -> str:
    """The VAPID public key a page's script subscribes with (a template global)."""
    return application_server_key(request.app[vapid_key])


@login_required
async def devices(request: web.Request) -> web.Response:
    return await devices_page(request)


@login_required
async def subscribe(request: web.Request) -> web.Response:
    """This browser as one of the user's devices (posted by the page's script)."""
    form = await read_form(request, SubscriptionForm)
    if form.data is None:
        return await devices_page(request, subscription_form=form, status=422)
    async with db_session(request) as db:
        await queries.add_device(
            db,
            user_of(request).id,
            form.data,
            device=device_of(request.headers.get("User-Agent", "")),
            language=language(),
        )
    return redirect(request, f"{DEVICES}?saved=1")


@login_required
async def switches(request: web.Request) -> web.Response:
    device_id = path_id(request)
    form = await read_form(request, SwitchesForm)
    if form.data is None:
        return await devices_page(request, switches_form=(device_id, form), status=422)
    async with db_session(request) as db:
        if not await queries.set_switches(db, user_of(request).id, device_id, form.data):
            raise web.HTTPNotFound()
    return redirect(request, f"{DEVICES}?saved=1")


@login_required
async def remove(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        if not await queries.remove_device(db, user_of(request).id, path_id(request)):
            raise web.HTTPNotFound()
    return redirect(request, DEVICES)

"""Sensors and alerts as pages: a hive's sensors (add, rename, remove), its alert rules, its
charts, and the user's alerts with their webhook.

A hive and its sensors are their owner's alone: for anyone else these pages do not exist (404).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp_session import get_session
from babel.dates import get_month_names
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import settings_key
from app.models import AlertKind, HiveRule, RuleComparison, Sensor
from app.sensors import queries
from app.sensors.schemas import (
    ALERT_LABELS,
    COMPARISON_LABELS,
    DEFAULT_RULES,
    DEVICE_TYPE_LABELS,
    KINDS,
    MAX_BATCH,
    PLACEMENT_LABELS,
    RULE_LISTS,
    SLEEPING_KINDS,
    AlertRulesForm,
    AlertSleepForm,
    DeviceForm,
    HiveRuleForm,
    Rules,
    SensorForm,
    SensorRenameForm,
    Sleep,
    WebhookForm,
    chart_range,
)
from app.sensors.webhooks import outcome_text, url_problem
from app.web.auth import HiveView, hive_for, login_required, safe_next, user_of
from app.web.database import db_session
from app.web.formatting import number
from app.web.forms import Form, read_form
from app.web.htmx import htmx, push_url, redirect, render, trigger_client_event
from app.web.i18n import _, format_locale, ngettext, translate
from app.web.paths import path_id
from app.web.urls import public_origin

POLL_KEY = "alerts_seen"  # the newest alert id a session's toast has told of
POLL_INTERVAL = timedelta(seconds=60)  # base.html polls this often


async def owned_sensor(request: web.Request) -> tuple[HiveView, Sensor]:
    found = await hive_for(request, change=True)
    async with db_session(request) as db:
        sensor = await queries.sensor_of(
            db, user_of(request).id, found.hive.id, path_id(request, "sensor_id")
        )
    if sensor is None:
        raise web.HTTPNotFound()
    return found, sensor


def labels() -> dict[str, Any]:
    """The labels of kinds and placements in the reader's language (`kinds` keeps each kind's
    KindInfo, whose label a template translates with `_()`)."""
    return {
        "kinds": KINDS,
        "kinds_labels": {kind: translate(info.label) for kind, info in KINDS.items()},
        "placements": {place: translate(label) for place, label in PLACEMENT_LABELS.items()},
        "alert_labels": {kind: translate(label) for kind, label in ALERT_LABELS.items()},
    }


# --- a hive's sensors -----------------------------------------------------------------------


async def sensors_page(
    request: web.Request,
    found: HiveView,
    form: Form[SensorForm] | None = None,
    status: int = 200,
    device_form: Form[DeviceForm] | None = None,
) -> web.Response:
    async with db_session(request) as db:
        sensors = await queries.sensors_of_hive(db, user_of(request).id, found.hive.id)
        rules = await queries.rules_of(db, found.hive.id)
        devices = await queries.devices_of_hive(db, found.hive.id)
        may_change = await queries.may_change_hive(db, user_of(request).id, found.hive.id)
    context = {
        "hive": found.hive,
        "may_change": may_change,
        "sensors": sensors,
        "rules": rules,
        "devices": devices,
        "device_types": {kind: translate(label) for kind, label in DEVICE_TYPE_LABELS.items()},
        "device_form": device_form or Form(values={"device_type": "beep"}),
        "form": form or Form(values={"kind": "weight", "placement": "inside"}),
        "base_url": public_origin(request),
        "max_batch": MAX_BATCH,
        **labels(),
    }
    return render(
        request, "sensors/list.html", context, partial="partials/sensors/list.html", status=status
    )


@login_required
async def sensor_list(request: web.Request) -> web.Response:
    return await sensors_page(request, await hive_for(request))


@login_required
async def sensor_add(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await read_form(request, SensorForm)
    if form.data is not None:
        async with db_session(request) as db:
            if await queries.name_taken(db, found.hive.id, form.data.name):
                form.add_error("name", _("This hive already has a sensor with this name."))
            else:
                await queries.add_sensor(db, found.hive.id, form.data)
                return redirect(request, f"/hives/{found.hive.id}/sensors")
    return await sensors_page(request, found, form, status=422)


def edit_page(
    request: web.Request,
    found: HiveView,
    sensor: Sensor,
    form: Form[SensorRenameForm],
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "sensors/edit.html",
        {"hive": found.hive, "sensor": sensor, "form": form, **labels()},
        partial="partials/sensors/edit.html",
        status=status,
    )


@login_required
async def sensor_edit(request: web.Request) -> web.Response:
    found, sensor = await owned_sensor(request)
    values = {"name": sensor.name, "placement": sensor.placement.value}
    return edit_page(request, found, sensor, Form(values=values))


@login_required
async def sensor_update(request: web.Request) -> web.Response:
    found, sensor = await owned_sensor(request)
    form = await read_form(request, SensorRenameForm)
    if form.data is not None:
        async with db_session(request) as db:
            if await queries.name_taken(db, found.hive.id, form.data.name, but=sensor.id):
                form.add_error("name", _("This hive already has a sensor with this name."))
            else:
                await queries.rename_sensor(db, sensor.id, form.data)
                return redirect(request, f"/hives/{found.hive.id}/sensors")
    return edit_page(request, found, sensor, form, status=422)


@login_required
async def sensor_delete_confirm(request: web.Request) -> web.Response:
    found, sensor = await owned_sensor(request)
    return render(
        request,
        "sensors/delete.html",
        {"hive": found.hive, "sensor": sensor},
        partial="partials/sensors/delete.html",
    )


@login_required
async def sensor_delete(request: web.Request) -> web.Response:
    found, sensor = await owned_sensor(request)
    async with db_session(request) as db:
        await queries.remove_sensor(db, sensor.id)
    return redirect(request, f"/hives/{found.hive.id}/sensors")


# --- alert rules ----------------------------------------------------------------------------


def rule_values(rules: Rules) -> dict[str, str]:
    return {name: typed(value) for name, value in rules.__dict__.items()}


def typed(value: float | None) -> str:
    """A rule as its form field shows it: a decimal as the reader writes it (1.5; 1,5 in German),
    all its decimals kept; a whole number without a thousands separator, which the form would
    not read back. (Every limit is below 1,000: a decimal needs no separator either.)"""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    written = f"{value:g}"
    if "e" in written:  # 1e-05: no limit is set that finely; shown as Python writes it
        return written
    return number(value, len(written.partition(".")[2]))


async def rules_page(
    request: web.Request,
    found: HiveView,
    form: Form[AlertRulesForm] | None = None,
    status: int = 200,
    sleep_form: Form[AlertSleepForm] | None = None,
    rule_form: Form[HiveRuleForm] | None = None,
) -> web.Response:
    async with db_session(request) as db:
        if form is None:
            form = Form(values=rule_values(await queries.rules_of(db, found.hive.id)))
        if sleep_form is None:
            sleep_form = Form(values=sleep_values(await queries.sleeps_of(db, found.hive.id)))
        own_rules = await queries.hive_rules_of(db, found.hive.id)
    context = {
        "hive": found.hive,
        "form": form,
        "sleep_form": sleep_form,
        "defaults": rule_values(DEFAULT_RULES),
        "sleeping": [(kind, translate(ALERT_LABELS[kind])) for kind in SLEEPING_KINDS],
        "own_rules": [(rule, describe_rule(rule), describe_sleep(rule)) for rule in own_rules],
        "rule_form": rule_form or Form(values={"comparison": RuleComparison.above.value}),
        **rule_choices(),
    }
    return render(
        request,
        "sensors/rules.html",
        context,
        partial="partials/sensors/rules.html",
        status=status,
    )


def rule_choices() -> dict[str, Any]:
    """What the rule forms offer: measurements, places, comparisons, months and hours."""
    months = get_month_names("wide", locale=format_locale())
    return {
        "measurements": {kind: translate(info.label) for kind, info in KINDS.items()},
        "rule_places": {place: translate(label) for place, label in PLACEMENT_LABELS.items()},
        "comparisons": {way: translate(label) for way, label in COMPARISON_LABELS.items()},
        "months": [(month, months[month]) for month in range(1, 13)],
        "hours": [(hour, f"{hour:02d}") for hour in range(24)],
    }


def describe_rule(rule: HiveRule) -> str:
    """A rule in words: "Temperature (Inside) rises above 38 °C"."""
    info = KINDS[rule.sensor_kind]
    measurement = translate(info.label)
    if rule.placement is not None:
        measurement += f" ({translate(PLACEMENT_LABELS[rule.placement])})"
    threshold = f"{typed(rule.threshold)} {info.unit}".rstrip()
    said = _(
        "%(measurement)s %(comparison)s %(threshold)s",
        measurement=measurement,
        comparison=translate(COMPARISON_LABELS[rule.comparison]),
        threshold=threshold,
    )
    if rule.window_minutes is None:
        return said
    return ngettext(
        "%(rule)s within %(num)s minute",
        "%(rule)s within %(num)s minutes",
        rule.window_minutes,
        rule=said,
    )


def describe_sleep(rule: HiveRule) -> str:
    """When the rule sleeps, in words; empty when it never does."""
    if not (rule.months or rule.hours):
        return ""
    names = get_month_names("abbreviated", locale=format_locale())
    months = ", ".join(names[month] for month in rule.months)
    hours = ", ".join(f"{hour:02d}" for hour in rule.hours)
    if not rule.hours:
        return _("Sleeps in %(months)s", months=months)
    if not rule.months:
        return _("Sleeps at %(hours)s", hours=hours)
    return _("Sleeps in %(months)s, at %(hours)s", months=months, hours=hours)


def rule_form_values(rule: HiveRule) -> dict[str, Any]:
    return {
        "sensor_kind": rule.sensor_kind.value,
        "placement": rule.placement.value if rule.placement else "",
        "comparison": rule.comparison.value,
        "threshold": typed(rule.threshold),
        "window_minutes": typed(rule.window_minutes),
        "months": [str(month) for month in rule.months],
        "hours": [str(hour) for hour in rule.hours],
    }


async def owned_rule(request: web.Request, db: AsyncSession) -> tuple[HiveView, HiveRule]:
    """The hive's rule the path names (404 for anyone but the hive's owner)."""
    found = await hive_for(request, change=True, db=db)
    rule = await queries.hive_rule_of(db, found.hive.id, path_id(request, "rule_id"))
    if rule is None:
        raise web.HTTPNotFound()
    return found, rule


@login_required
async def hive_rule_create(request: web.Request) -> web.Response:
    """A rule of the beekeeper's own, from the rules page's form."""
    found = await hive_for(request, change=True)
    form = await read_form(request, HiveRuleForm, lists=RULE_LISTS)
    if form.data is None:
        return await rules_page(request, found, status=422, rule_form=form)
    async with db_session(request) as db:
        await queries.save_hive_rule(db, found.hive.id, form.data)
    return redirect(request, f"/hives/{found.hive.id}/alert-rules")


def rule_page(
    request: web.Request, found: HiveView, rule: HiveRule, form: Form[HiveRuleForm], status: int
) -> web.Response:
    context = {"hive": found.hive, "rule": rule, "rule_form": form, **rule_choices()}
    return render(request, "sensors/rule.html", context, status=status)


@login_required
async def hive_rule_edit(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        found, rule = await owned_rule(request, db)
        return rule_page(request, found, rule, Form(values=rule_form_values(rule)), 200)


@login_required
async def hive_rule_update(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        found, rule = await owned_rule(request, db)
        form = await read_form(request, HiveRuleForm, lists=RULE_LISTS)
        if form.data is None:
            return rule_page(request, found, rule, form, 422)
        await queries.save_hive_rule(db, found.hive.id, form.data, rule)
    return redirect(request, f"/hives/{found.hive.id}/alert-rules")


@login_required
async def hive_rule_switch(request: web.Request) -> web.Response:
    """Switch a rule off (it watches nothing more) or back on."""
    async with db_session(request) as db:
        found, rule = await owned_rule(request, db)
        await queries.switch_hive_rule(db, rule)
    return redirect(request, f"/hives/{found.hive.id}/alert-rules")


@login_required
async def hive_rule_delete(request: web.Request) -> web.Response:
    async with db_session(request) as db:
        found, rule = await owned_rule(request, db)
        await queries.delete_hive_rule(db, rule)
    return redirect(request, f"/hives/{found.hive.id}/alert-rules")


def sleep_values(sleeps: dict[AlertKind, Sleep]) -> dict[str, list[str]]:
    """The sleep form's checkboxes: for each rule, the months and hours ticked (as sent)."""
    values: dict[str, list[str]] = {}
    for kind in SLEEPING_KINDS:
        sleep = sleeps.get(kind, Sleep())
        values[f"{kind.value}_months"] = [str(month) for month in sorted(sleep.months)]
        values[f"{kind.value}_hours"] = [str(hour) for hour in sorted(sleep.hours)]
    return values


SLEEP_FIELDS = tuple(
    f"{kind.value}_{part}" for kind in SLEEPING_KINDS for part in ("months", "hours")
)


@login_required
async def rules_edit(request: web.Request) -> web.Response:
    return await rules_page(request, await hive_for(request, change=True))


@login_required
async def sleeps_update(request: web.Request) -> web.Response:
    """The months and hours each rule sleeps ("no swarm alerts in winter")."""
    found = await hive_for(request, change=True)
    form = await read_form(request, AlertSleepForm, lists=SLEEP_FIELDS)
    if form.data is None:
        return await rules_page(request, found, status=422, sleep_form=form)
    async with db_session(request) as db:
        await queries.save_sleeps(db, found.hive.id, form.data.sleeps())
    return redirect(request, f"/hives/{found.hive.id}/alert-rules")


@login_required
async def rules_update(request: web.Request) -> web.Response:
    found = await hive_for(request, change=True)
    form = await read_form(request, AlertRulesForm)
    if form.data is None:
        return await rules_page(request, found, form, status=422)
    async with db_session(request) as db:
        await queries.save_rules(db, found.hive.id, form.data)
    return redirect(request, f"/hives/{found.hive.id}/sensors")


# --- charts ---------------------------------------------------------------------------------


@login_required
async def hive_charts(request: web.Request) -> web.Response:
    """The hive page's sensors panel for a range: the fragment that the range links swap in,
    or a page of its own. The address bar shows the hive page with the range, which loads as
    a full page too."""
    chart = chart_range(request.query.get("range"))
    async with db_session(request) as db:
        found = await hive_for(request, db=db)
        panel = await queries.sensor_panel(db, user_of(request).id, found.hive.id, chart.key)
    response = render(
        request,
        "sensors/charts.html",
        {"hive": found.hive, "sensor_panel": panel, **labels()},
        partial="partials/sensors/panel.html",
    )
    if htmx(request).wants_fragment:
        push_url(response, f"/hives/{found.hive.id}?range={chart.key}")
    return response


# --- alerts ---------------------------------------------------------------------------------


async def alerts_page(
    request: web.Request, form: Form[WebhookForm] | None = None, status: int = 200
) -> web.Response:
    user = user_of(request)
    async with db_session(request) as db:
        open_alerts = await queries.open_alerts_of(db, user.id)
        acknowledged = await queries.recent_acknowledged_alerts(db, user.id)
        hook = await queries.webhook_of(db, user.id)
    if form is None:
        form = Form(values={"url": hook.url if hook else ""})
    context = {
        "alerts": open_alerts,
        "acknowledged": acknowledged,
        "hook": hook,
        "hook_outcome": outcome_text(hook.last_outcome) if hook else "",
        "form": form,
    }
    return render(request, "sensors/alerts.html", context, status=status)


@login_required
async def alert_list(request: web.Request) -> web.Response:
    return await alerts_page(request)


@login_required
async def webhook_update(request: web.Request) -> web.Response:
    form = await read_form(request, WebhookForm)
    if form.data is not None and form.data.url:
        allow_private = request.app[settings_key].webhook_allow_private_addresses
        if problem := url_problem(form.data.url, allow_private):
            form.add_error("url", translate(problem))
    if form.data is None:
        return await alerts_page(request, form, status=422)
    async with db_session(request) as db:
        await queries.save_webhook(db, user_of(request).id, form.data.url)
    return redirect(request, "/alerts")


@login_required
async def alert_acknowledge(request: web.Request) -> web.Response:
    """Acknowledge an alert. In place for htmx (the item, now acknowledged); otherwise back to
    the page the form was on."""
    user = user_of(request)
    alert_id = path_id(request, "alert_id")
    async with db_session(request) as db:
        if not await queries.acknowledge_alert(db, user.id, alert_id):
            raise web.HTTPNotFound()
        alert = await queries.alert_of(db, user.id, alert_id)
    posted = await request.post()
    back = posted.get("next")
    if htmx(request).wants_fragment and alert is not None:
        response = render(
            request, "partials/sensors/alert_item.html", {"alert": alert, "back": back or "/"}
        )
        trigger_client_event(response, "cityhive:toast", {"message": _("Alert acknowledged.")})
        return response
    return redirect(request, safe_next(back if isinstance(back, str) else None, "/alerts"))


@login_required
async def alerts_poll(request: web.Request) -> web.Response:
    """What base.html polls every minute: 204, naming new alerts in HX-Trigger when there are
    any. Nothing new costs one indexed count and no session write."""
    user = user_of(request)
    session = await get_session(request)
    seen = session.get(POLL_KEY)
    async with db_session(request) as db:
        new, newest = await queries.alerts_raised_since(
            db,
            user.id,
            after_id=seen if isinstance(seen, int) else None,
            since=datetime.now(UTC) - 2 * POLL_INTERVAL,
        )
    response = web.Response(status=204, headers={"Cache-Control": "no-store"})
    if newest != seen:
        session[POLL_KEY] = newest
    if new:
        message = ngettext("A new alert: see Alerts.", "%(num)s new alerts: see Alerts.", new)
        trigger_client_event(response, "cityhive:alerts", {"count": new, "message": message})
    return response

from aiohttp import web

from app.sensors import api, device_api, device_views, views

routes = web.RouteTableDef()

routes.get(r"/hives/{id:\d+}/sensors", name="hive_sensors")(views.sensor_list)
routes.post(r"/hives/{id:\d+}/sensors")(views.sensor_add)
routes.get(r"/hives/{id:\d+}/sensors/{sensor_id:\d+}/edit", name="sensor_edit")(views.sensor_edit)
routes.post(r"/hives/{id:\d+}/sensors/{sensor_id:\d+}/edit")(views.sensor_update)
routes.get(r"/hives/{id:\d+}/sensors/{sensor_id:\d+}/delete", name="sensor_delete")(
    views.sensor_delete_confirm
)
routes.post(r"/hives/{id:\d+}/sensors/{sensor_id:\d+}/delete")(views.sensor_delete)
routes.post(r"/hives/{id:\d+}/devices", name="device_add")(device_views.device_add)
DEVICE = r"/hives/{id:\d+}/devices/{device_id:\d+}"
routes.get(DEVICE, name="device")(device_views.device_page)
routes.get(DEVICE + "/delete", name="device_delete")(device_views.device_delete_confirm)
routes.post(DEVICE + "/delete")(device_views.device_delete)
routes.get(DEVICE + "/calibrate", name="device_calibrate")(device_views.calibrate_empty)
routes.post(DEVICE + "/calibrate")(device_views.calibrate_empty_save)
routes.get(DEVICE + "/calibrate/known", name="device_calibrate_known")(device_views.calibrate_known)
routes.post(DEVICE + "/calibrate/known")(device_views.calibrate_known_save)
routes.post(r"/hives/{id:\d+}/weighings", name="weighing_add")(device_views.weighing_create)
routes.get(r"/hives/{id:\d+}/alert-rules", name="alert_rules")(views.rules_edit)
routes.post(r"/hives/{id:\d+}/alert-rules")(views.rules_update)
routes.post(r"/hives/{id:\d+}/alert-rules/sleep", name="alert_sleeps")(views.sleeps_update)
routes.post(r"/hives/{id:\d+}/alert-rules/own")(views.hive_rule_create)
routes.get(r"/hives/{id:\d+}/alert-rules/own/{rule_id:\d+}")(views.hive_rule_edit)
routes.post(r"/hives/{id:\d+}/alert-rules/own/{rule_id:\d+}")(views.hive_rule_update)
routes.post(r"/hives/{id:\d+}/alert-rules/own/{rule_id:\d+}/switch")(views.hive_rule_switch)
routes.post(r"/hives/{id:\d+}/alert-rules/own/{rule_id:\d+}/delete")(views.hive_rule_delete)
routes.get(r"/hives/{id:\d+}/charts", name="hive_charts")(views.hive_charts)
routes.get("/alerts", name="alerts")(views.alert_list)
routes.post("/alerts/webhook", name="alert_webhook")(views.webhook_update)
routes.post(r"/alerts/{alert_id:\d+}/acknowledge", name="alert_acknowledge")(
    views.alert_acknowledge
)
routes.get("/alerts/poll", name="alerts_poll")(views.alerts_poll)

routes.post("/api/v1/readings", name="api_readings")(api.post_readings)
routes.post(r"/api/v1/devices/{hive_id:\d+}/readings", name="api_device_readings")(
    api.post_device_readings
)
routes.get("/api/v1/sensors", name="api_sensors")(api.sensor_list)
routes.get("/api/v1/alerts", name="api_alerts")(api.alert_list)

# Devices that already exist, posting as their projects document (app/sensors/device_api.py).
routes.post("/api/sensors", name="beep_sensors")(device_api.post_beep)
routes.post("/api/sensors_auth", name="beep_sensors_auth")(device_api.post_beep_authenticated)
routes.post("/api/ttn/uplink", name="ttn_uplink")(device_api.post_ttn_uplink)
NAME = r"[A-Za-z0-9_.-]{1,100}"
routes.post(
    f"/api/hiveeyes/{{network:{NAME}}}/{{gateway:{NAME}}}/{{node:{NAME}}}/data",
    name="kotori_data",
)(device_api.post_kotori)

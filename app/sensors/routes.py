from aiohttp import web

from app.sensors import api, views

routes = web.RouteTableDef()

routes.get(r"/hives/{id:\d+}/sensors", name="hive_sensors")(views.sensor_list)
routes.post(r"/hives/{id:\d+}/sensors")(views.sensor_add)
routes.get(r"/hives/{id:\d+}/sensors/{sensor_id:\d+}/edit", name="sensor_edit")(views.sensor_edit)
routes.post(r"/hives/{id:\d+}/sensors/{sensor_id:\d+}/edit")(views.sensor_update)
routes.get(r"/hives/{id:\d+}/sensors/{sensor_id:\d+}/delete", name="sensor_delete")(
    views.sensor_delete_confirm
)
routes.post(r"/hives/{id:\d+}/sensors/{sensor_id:\d+}/delete")(views.sensor_delete)
routes.get(r"/hives/{id:\d+}/alert-rules", name="alert_rules")(views.rules_edit)
routes.post(r"/hives/{id:\d+}/alert-rules")(views.rules_update)
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

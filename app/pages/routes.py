"""The screens that gather several features: Today, a hive's page, the exports, the API's
document and its page for people."""

from aiohttp import web

from app.pages import exports, hive, notifications, openapi, swarm_capture, today

routes = web.RouteTableDef()

routes.get("/", name="home")(today.home)
routes.get(r"/hives/{id:\d+}", name="hive_detail")(hive.hive_page)
# A swarm caught into an empty hive, perhaps from a city swarm report the user claimed.
routes.get(r"/hives/{id:\d+}/swarm-captured", name="swarm_captured")(swarm_capture.capture_form)
routes.post(r"/hives/{id:\d+}/swarm-captured")(swarm_capture.capture_create)

# Exports: the field log (inspections, harvests) with the hives it is about.
routes.get("/exports", name="exports")(exports.exports_page)
routes.get("/exports/cityhive-export.zip", name="export_zip")(exports.export_zip)
routes.get(r"/exports/{table:inspections|harvests|hives|treatments}.csv", name="export_csv")(
    exports.export_csv
)

# The API's OpenAPI document, gathered from every feature's part, and its page for people.
routes.get("/api", name="api_docs")(openapi.api_docs)
routes.get("/api/v1/openapi.json", name="api_openapi")(openapi.openapi)

# Web Push: a reporter's browser asks to hear when its swarm report is claimed and collected.
routes.post(r"/swarms/status/{token:[A-Za-z0-9_-]{1,100}}/push", name="swarm_status_push")(
    notifications.watch_report
)

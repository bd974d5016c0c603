from aiohttp import web

from app.swarms import views

routes = web.RouteTableDef()

routes.get("/swarms/report", name="swarm_report")(views.report_form)
routes.post("/swarms/report")(views.report_submit)
routes.get(r"/swarms/status/{token:[A-Za-z0-9_-]{1,100}}", name="swarm_status")(views.report_status)
routes.get("/swarms", name="swarms")(views.collect)
routes.post("/swarms/collector", name="swarm_collector")(views.collector_save)
routes.post("/swarms/collector/stop", name="swarm_collector_stop")(views.collector_stop)
routes.get("/swarms/near", name="swarms_near")(views.reports_near)
routes.get("/swarms/open.geojson", name="swarms_geojson")(views.reports_geojson)
routes.get(r"/swarms/{id:\d+}", name="swarm_detail")(views.report_detail)
routes.post(r"/swarms/{id:\d+}/claim", name="swarm_claim")(views.report_claim)
routes.post(r"/swarms/{id:\d+}/release", name="swarm_release")(views.report_release)
routes.post(r"/swarms/{id:\d+}/close", name="swarm_close")(views.report_close)

from aiohttp import web

from app.ops import views

routes = web.RouteTableDef()

routes.get("/health/live", name="health_live")(views.live)
routes.get("/health/ready", name="health_ready")(views.ready)
routes.get("/metrics", name="metrics")(views.metrics)

from aiohttp import web

from app.pwa import views

routes = web.RouteTableDef()

routes.get("/manifest.webmanifest", name="web_manifest")(views.web_manifest)
routes.get("/sw.js", name="service_worker")(views.service_worker_script)
routes.get("/offline", name="offline")(views.offline_page)

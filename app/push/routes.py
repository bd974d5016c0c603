from aiohttp import web

from app.push import views

routes = web.RouteTableDef()

routes.get("/push/devices", name="push_devices")(views.devices)
routes.post("/push/devices", name="push_subscribe")(views.subscribe)
routes.post(r"/push/devices/{id:\d+}", name="push_switches")(views.switches)
routes.post(r"/push/devices/{id:\d+}/remove", name="push_remove")(views.remove)

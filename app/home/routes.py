from aiohttp import web

from app.home import views

routes = web.RouteTableDef()

routes.get("/", name="home")(views.home)

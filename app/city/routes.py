from aiohttp import web

from app.city import views

routes = web.RouteTableDef()

routes.get("/city", name="city")(views.city_map)
routes.get("/city/density.geojson", name="city_density")(views.density_geojson)
routes.get("/city/stats", name="city_stats")(views.city_statistics)
routes.get("/city/forage", name="city_forage")(views.forage)

from aiohttp import web

from app.hives import views

routes = web.RouteTableDef()

routes.get("/hives", name="hive_list")(views.hive_list)
routes.post("/hives")(views.hive_create)
routes.get("/hives/new", name="hive_new")(views.hive_new)
routes.get("/hives.geojson", name="hives_geojson")(views.hives_geojson)
routes.get(r"/hives/{id:\d+}", name="hive_detail")(views.hive_detail)
routes.get(r"/hives/{id:\d+}/card", name="hive_card")(views.hive_card)
routes.get(r"/hives/{id:\d+}/edit", name="hive_edit")(views.hive_edit)
routes.post(r"/hives/{id:\d+}/edit")(views.hive_update)
routes.get(r"/hives/{id:\d+}/delete", name="hive_delete")(views.hive_delete_confirm)
routes.post(r"/hives/{id:\d+}/delete")(views.hive_delete)
routes.get("/map", name="map")(views.hive_map)

from aiohttp import web

from app.hives import api, views

routes = web.RouteTableDef()

routes.get("/hives", name="hive_list")(views.hive_list)
routes.post("/hives")(views.hive_create)
routes.get("/hives/new", name="hive_new")(views.hive_new)
routes.get("/hives.geojson", name="hives_geojson")(views.hives_geojson)
routes.get(r"/hives/{id:\d+}/card", name="hive_card")(views.hive_card)
routes.get(r"/hives/{id:\d+}/edit", name="hive_edit")(views.hive_edit)
routes.post(r"/hives/{id:\d+}/edit")(views.hive_update)
routes.get(r"/hives/{id:\d+}/delete", name="hive_delete")(views.hive_delete_confirm)
routes.post(r"/hives/{id:\d+}/delete")(views.hive_delete)
routes.get("/map", name="map")(views.hive_map)

# The JSON API.
routes.get("/api/v1/hives", name="api_hives")(api.hive_list)
routes.post("/api/v1/hives")(api.hive_create)
routes.get(r"/api/v1/hives/{id:\d+}", name="api_hive")(api.hive_detail)
routes.put(r"/api/v1/hives/{id:\d+}")(api.hive_replace)
routes.patch(r"/api/v1/hives/{id:\d+}")(api.hive_patch)
routes.delete(r"/api/v1/hives/{id:\d+}")(api.hive_delete)

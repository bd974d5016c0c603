from aiohttp import web

from app.api import views

routes = web.RouteTableDef()

routes.get("/api", name="api_docs")(views.api_docs)
routes.get("/api/v1/openapi.json", name="api_openapi")(views.openapi)
routes.get("/api/v1/hives", name="api_hives")(views.hive_list)
routes.post("/api/v1/hives")(views.hive_create)
routes.get(r"/api/v1/hives/{id:\d+}", name="api_hive")(views.hive_detail)
routes.put(r"/api/v1/hives/{id:\d+}")(views.hive_replace)
routes.patch(r"/api/v1/hives/{id:\d+}")(views.hive_patch)
routes.delete(r"/api/v1/hives/{id:\d+}")(views.hive_delete)

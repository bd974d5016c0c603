from aiohttp import web

from app.colonies import api, tags, views

routes = web.RouteTableDef()

# The user's lineages and season; one colony's page with its queens, events and family tree.
routes.get("/colonies", name="colony_list")(views.colony_list)
routes.get(r"/colonies/{id:\d+}", name="colony_detail")(views.colony_page)

# Each event of a colony, its own small form.
for slug, kind in views.EVENTS.items():
    routes.get(rf"/colonies/{{id:\d+}}/{slug}", name=f"colony_{slug}")(views.event_form_view(kind))
    routes.post(rf"/colonies/{{id:\d+}}/{slug}")(views.event_create_view(kind))

# A colony that came to an empty hive; what the hive is built of; a queen's details.
routes.get(r"/hives/{id:\d+}/colony/new", name="colony_start")(views.start_form)
routes.post(r"/hives/{id:\d+}/colony/new")(views.start_create)
# QR labels for the user's hives, each opening its hive's inspection form.
routes.get("/hives/tags", name="hive_tags")(tags.tag_sheet)
routes.get(r"/hives/{id:\d+}/boxes", name="hive_boxes")(views.boxes_form)
routes.post(r"/hives/{id:\d+}/boxes")(views.boxes_save)
routes.get(r"/queens/{id:\d+}/edit", name="queen_edit")(views.queen_edit)
routes.post(r"/queens/{id:\d+}/edit")(views.queen_update)

# The JSON API.
routes.get("/api/v1/colonies", name="api_colonies")(api.colony_list)
routes.get("/api/v1/queens", name="api_queens")(api.queen_list)
routes.get(r"/api/v1/queens/{id:\d+}", name="api_queen")(api.queen_detail)
routes.get("/api/v1/colony-events", name="api_colony_events")(api.event_list)
routes.post("/api/v1/colony-events")(api.event_create)
routes.get(r"/api/v1/colony-events/{id:\d+}", name="api_colony_event")(api.event_detail)
routes.get(r"/api/v1/hives/{id:\d+}/boxes", name="api_hive_boxes")(api.boxes_detail)
routes.put(r"/api/v1/hives/{id:\d+}/boxes")(api.boxes_replace)

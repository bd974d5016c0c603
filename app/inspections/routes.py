from aiohttp import web

from app.inspections import api, calendar, views

routes = web.RouteTableDef()

# Inspections of a hive: record one (ad hoc or against its schedule), schedule one.
routes.get(r"/hives/{id:\d+}/inspections/new", name="inspection_new")(views.inspection_new)
routes.post(r"/hives/{id:\d+}/inspections", name="inspection_create")(views.inspection_create)
routes.get(r"/hives/{id:\d+}/inspections/schedule", name="schedule_new")(views.schedule_new)
routes.post(r"/hives/{id:\d+}/inspections/schedule")(views.schedule_create)
routes.get(r"/inspections/{id:\d+}", name="inspection_detail")(views.inspection_detail)
routes.post(r"/inspections/{id:\d+}/done", name="inspection_done")(views.inspection_done)
routes.get(r"/inspections/{id:\d+}/reschedule", name="inspection_reschedule")(
    views.inspection_reschedule_form
)
routes.post(r"/inspections/{id:\d+}/reschedule")(views.inspection_reschedule)
routes.get(r"/inspections/{id:\d+}/edit", name="inspection_edit")(views.inspection_edit)
routes.post(r"/inspections/{id:\d+}/edit")(views.inspection_update)
routes.post(r"/inspections/{id:\d+}/delete", name="inspection_delete")(views.inspection_delete)

# Harvests, over one or several hives.
routes.get("/harvests", name="harvest_list")(views.harvest_list)
routes.post("/harvests")(views.harvest_create)
routes.get("/harvests/new", name="harvest_new")(views.harvest_new)
routes.get(r"/harvests/{id:\d+}", name="harvest_detail")(views.harvest_detail)
routes.post(r"/harvests/{id:\d+}/delete", name="harvest_delete")(views.harvest_delete)

# The private calendar feed and its page.
routes.get("/calendar", name="calendar")(calendar.calendar_page)
routes.post("/calendar")(calendar.calendar_rotate)
routes.get(r"/calendar/{secret:[A-Za-z0-9_-]{20,100}}.ics", name="calendar_feed")(calendar.feed)

# The JSON API.
routes.get("/api/v1/inspections", name="api_inspections")(api.inspection_list)
routes.post("/api/v1/inspections")(api.inspection_create)
routes.get(r"/api/v1/inspections/{id:\d+}", name="api_inspection")(api.inspection_detail)
routes.get("/api/v1/harvests", name="api_harvests")(api.harvest_list)
routes.post("/api/v1/harvests")(api.harvest_create)
routes.get(r"/api/v1/harvests/{id:\d+}", name="api_harvest")(api.harvest_detail)
